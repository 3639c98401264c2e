import math
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.client_ip import client_ip
from core.navigation import own_page
from core.throttles import rate
from fraud.clients import client_of
from fraud.models import Sighting
from fraud.services import record_sighting
from signin.lockout import count_failed_sign_in, refused_while_locked

from .exceptions import (
    NOT_INVITABLE,
    UNKNOWN_INVITE_CODE,
    AlreadyACustomer,
    CodeUsedUp,
    DuplicateInvitation,
    InvitationRefused,
    SelfInvitation,
    WrongCode,
)
from .forms import InviteeForm, PhoneCodeForm, PhoneOnlyForm
from .phones import mask_phone
from .selectors import (
    current_campaign,
    customer_by_invite_code,
    customer_of,
    invitation_by_id,
    phone_verification,
)
from .services import (
    Acceptance,
    accept_invitation,
    check_phone_code,
    confirm_phone_code,
    invitee_opening_account,
    send_phone_code,
)
from .services.registration import customer_user_for_phone

# Refusals that would tell a visitor something about a number that is not theirs to know.
PRIVATE_REFUSALS = (AlreadyACustomer, DuplicateInvitation, SelfInvitation)


def _inviter(code: str):
    inviter = customer_by_invite_code(code)
    if inviter is None:
        raise Http404(UNKNOWN_INVITE_CODE)
    return inviter


def _refusal_text(refusal: InvitationRefused) -> str:
    return str(NOT_INVITABLE if isinstance(refusal, PRIVATE_REFUSALS) else refusal)


def _proven_phone(request) -> str | None:
    """The number this browser proved with a code in the last ``PHONE_PROOF_MINUTES``."""
    proof = request.session.get("phone_proof")
    if not isinstance(proof, dict) or not isinstance(proof.get("until"), int | float):
        return None
    return proof.get("phone") if time.time() < proof["until"] else None


def _accepted(request, inviter, acceptance: Acceptance, phone: str):
    """Keep the proof of the number and where its holder stands; on to the page that says so."""
    request.session["phone_proof"] = {
        "phone": phone,
        "until": time.time() + settings.PHONE_PROOF_MINUTES * 60,
    }
    request.session["acceptance"] = acceptance.outcome
    request.session["invitation_id"] = acceptance.invitation.pk if acceptance.invitation else None
    return redirect("invitations:invited", code=inviter.invite_code)


@require_http_methods(["GET", "POST"])
def landing(request, code: str):
    """The invitee's page: who invites, the campaign's rules, the phone form with the consent
    box. A code is texted to the number; the invitation exists once it is entered (``verify``).
    A friend coming back with a number this browser proved a few minutes ago is not texted
    again: they land where they stand."""
    inviter = _inviter(code)
    campaign = current_campaign()
    if request.method == "GET":
        record_sighting(
            Sighting.Step.LINK_VISIT,
            client_of(request),
            inviter_id=inviter.pk,
            campaign_id=campaign.pk if campaign else None,
        )
    form = InviteeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and campaign is not None and form.is_valid():
        phone = form.cleaned_data["phone"]
        channel = request.GET.get("ch", "link")
        try:
            if phone == _proven_phone(request):
                acceptance = accept_invitation(
                    inviter, phone, channel=channel, consented_at=timezone.now()
                )
                return _accepted(request, inviter, acceptance, phone)
            verification = send_phone_code(
                inviter,
                phone,
                address=client_ip(request),
                channel=channel,
                consented_at=timezone.now(),
            )
        except InvitationRefused as refusal:
            form.add_error("phone", _refusal_text(refusal))
        else:
            request.session["phone_verification_id"] = verification.pk
            return redirect("invitations:verify", code=inviter.invite_code)
    return render(
        request,
        "invitations/landing.html",
        {"inviter": inviter, "campaign": campaign, "form": form},
    )


CODE_NOTICE = "code_notice"  # what the code page says after a redirect (wrong code, resend)


def _after_code_post(request, notice: str = ""):
    """Post/redirect/get: a code counted (or a new one sent) is never sent again by a reload."""
    if notice:
        request.session[CODE_NOTICE] = notice
    return redirect(request.path)


def _code_page(request, verification, form, *, restart_url: str):
    """The code page: the notice of the last post, and the resend button's wait in seconds
    (disabled until then; ``site.js`` counts down)."""
    waited = (timezone.now() - verification.created_at).total_seconds()
    return render(
        request,
        "invitations/verify.html",
        {
            "form": form,
            "notice": request.session.pop(CODE_NOTICE, ""),
            "resend_wait": max(0, math.ceil(rate("phone_code_resend").seconds - waited)),
            "masked_phone": mask_phone(verification.phone),
            "restart_url": restart_url,
        },
    )


@require_http_methods(["GET", "POST"])
def verify(request, code: str):
    inviter = _inviter(code)
    verification = phone_verification(request.session.get("phone_verification_id"), inviter)
    if verification is None:
        return redirect("invitations:landing", code=inviter.invite_code)
    form = PhoneCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and "resend" in request.POST:
        try:
            verification = send_phone_code(
                inviter,
                verification.phone,
                address=client_ip(request),
                channel=verification.channel,
                consented_at=verification.consented_at,
            )
        except InvitationRefused as refusal:
            return _after_code_post(request, _refusal_text(refusal))
        request.session["phone_verification_id"] = verification.pk
        return _after_code_post(request)
    if request.method == "POST" and form.is_valid():
        try:
            acceptance = confirm_phone_code(verification, form.cleaned_data["code"])
        except InvitationRefused as refusal:
            return _after_code_post(request, _refusal_text(refusal))
        del request.session["phone_verification_id"]
        record_sighting(
            Sighting.Step.PHONE_VERIFIED,
            client_of(request),
            inviter_id=inviter.pk,
            phone=verification.phone,
        )
        return _accepted(request, inviter, acceptance, verification.phone)
    restart_url = reverse("invitations:landing", kwargs={"code": inviter.invite_code})
    return _code_page(request, verification, form, restart_url=restart_url)


def invited(request, code: str):
    """Where the friend stands: the invitation accepted now or before, another friend's that came
    first (without who), or nothing to do as a customer already; and what is left to do."""
    outcome = request.session.get("acceptance")
    invitation = invitation_by_id(request.session.get("invitation_id"))
    if outcome not in Acceptance.OUTCOMES or (
        invitation is None and outcome != Acceptance.ALREADY_A_CUSTOMER
    ):
        return redirect("invitations:landing", code=code)
    return render(
        request,
        "invitations/invited.html",
        {
            "invitation": invitation,
            "outcome": outcome,
            "inviter": invitation.inviter
            if invitation and outcome != Acceptance.INVITED_BY_ANOTHER
            else None,
            "open_account_url": reverse("invitations:open_account", kwargs={"code": code}),
        },
    )


def privacy(request):
    """What the landing page keeps of a friend's number, why and for how long."""
    return render(
        request,
        "invitations/privacy.html",
        {
            "code_minutes": settings.PHONE_CODE_TTL_MINUTES,
            "retention_days": settings.PHONE_VERIFICATION_RETENTION_DAYS,
            "signal_days": settings.FRAUD_SIGNALS_KEEP_DAYS,
        },
    )


@require_GET
def open_account(request, code: str):
    """The invitee goes on to open their account: noted (a burst of checks follows, so the
    inviter's reward comes minutes after the opening), then sent to the account-opening page
    with their number filled in. Only our own session's invitation: no redirect elsewhere."""
    invitation = invitation_by_id(request.session.get("invitation_id"))
    if invitation is None:
        return redirect("invitations:landing", code=code)
    invitee_opening_account(invitation)
    query = urlencode({"phone": invitation.invitee_phone})
    return redirect(f"{settings.ACCOUNT_OPENING_SIGNUP_URL}?{query}")


@require_GET
def signup(request):
    """Signing up was a number and a password; a new number now gets its account when its code
    is entered at the code sign-in, and no password (the old address still leads there)."""
    return redirect("invitations:code_login")


def _start_code_login(request, phone: str, next_url: str):
    """Text a code to ``phone`` and go to the page that takes it: a response, or the refusal's
    words (sent too recently, too many) for the caller's page. A number or network locked out
    is texted nothing."""
    locked = refused_while_locked(request, phone)
    if locked is not None:
        return locked
    try:
        verification = send_phone_code(None, phone, address=client_ip(request))
    except InvitationRefused as refusal:
        return str(refusal)
    request.session["code_login"] = {"verification_id": verification.pk, "next": next_url}
    return redirect("invitations:code_login_verify")


@require_http_methods(["GET", "POST"])
def code_login(request):
    """Sign in with a code texted to the number: no password. Every number gets the same
    answer (a code is sent), so the page tells nobody who is a customer; a new number becomes a
    customer once its code is entered (``code_login_verify``)."""
    form = PhoneOnlyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        next_url = own_page(request.POST.get("next", ""))
        started = _start_code_login(request, form.cleaned_data["phone"], next_url)
        if not isinstance(started, str):
            return started
        form.add_error("phone", started)
    return render(
        request,
        "invitations/code_login.html",
        {"form": form, "next": own_page(request.GET.get("next", ""))},
    )


@login_required
@require_POST
def code_again(request):
    """A signed-in customer proves it is still them (before a card is shown) by a code texted to
    their own number: those who came by code or from the app have no password to give."""
    customer = customer_of(request.user)
    if customer is None:
        raise Http404(_("This page is for customers."))
    next_url = own_page(request.POST.get("next", "")) or reverse("rewards:my_rewards")
    started = _start_code_login(request, customer.phone, next_url)
    if isinstance(started, str):
        messages.error(request, started)
        return redirect(next_url)
    return started


@require_http_methods(["GET", "POST"])
def code_login_verify(request):
    pending = request.session.get("code_login") or {}
    verification = phone_verification(pending.get("verification_id"), None)
    if verification is None:
        return redirect("invitations:code_login")
    form = PhoneCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and "resend" in request.POST:
        # a new code to the same number: the same start, which replaces the old code's id
        started = _start_code_login(request, verification.phone, pending.get("next", ""))
        return _after_code_post(request, started) if isinstance(started, str) else started
    if request.method == "POST" and form.is_valid():
        locked = refused_while_locked(request, verification.phone)
        if locked is not None:
            return locked  # locked by wrong codes or wrong passwords: the code is not tried
        try:
            verified = check_phone_code(verification, form.cleaned_data["code"])
        except (WrongCode, CodeUsedUp) as refusal:
            count_failed_sign_in(request, verification.phone)  # one lockout with passwords
            return _after_code_post(request, str(refusal))
        except InvitationRefused as refusal:
            return _after_code_post(request, str(refusal))
        user = customer_user_for_phone(verified.phone)
        del request.session["code_login"]
        if user is None or user.is_staff or not user.is_active:
            # staff sign in with their password (and second factor); a disabled account not at all
            messages.error(request, _("This number cannot sign in with a code."))
            return redirect("login")
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(pending.get("next") or reverse("rewards:home"))
    return _code_page(request, verification, form, restart_url=reverse("invitations:code_login"))
