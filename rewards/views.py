"""The customer's pages: my invitations (home), my rewards, my points. Every read goes through
a selector scoped to the logged-in customer (invariant 10); the rest is presentation."""

from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fraud.clients import client_of
from fraud.models import Sighting
from fraud.services import record_sighting
from invitations.exceptions import CheckTooSoon
from invitations.models import Customer
from invitations.selectors import current_campaign, customer_of
from invitations.services import check_friends_now

from .exceptions import CardAlreadyReported, RewardError
from .forms import CardReportForm, PasswordAgainForm
from .models import Grant
from .reauth import mark_authenticated, needs_password_again
from .selectors import (
    card_report_open,
    grants_for_page,
    grants_of,
    invitation_counts,
    invitations_for_page,
    ladder_progress,
    points_balance,
    points_history,
)
from .services import report_card_problem, reveal_grant_card
from .sharing import poster_svg, qr_svg

PAGE_SIZE = 20


def _customer(request) -> Customer:
    customer = customer_of(request.user)
    if customer is None:
        raise Http404(_("This page is for customers."))
    return customer


def _invite_url(request, customer: Customer) -> str:
    return request.build_absolute_uri(
        reverse("invitations:landing", kwargs={"code": customer.invite_code})
    )


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


@login_required
@require_GET
def home(request):
    """My invitations: the link to share (copy, QR code, poster), the rules, my counts and
    every invitation with what happens next."""
    customer = _customer(request)
    campaign = current_campaign()
    invite_url = _invite_url(request, customer)
    record_sighting(Sighting.Step.INVITER_PAGE, client_of(request), inviter_id=customer.pk)
    context = {
        "customer": customer,
        "campaign": campaign,
        "invite_url": invite_url,
        "qr": mark_safe(qr_svg(invite_url)),  # noqa: S308  (segno's own markup, no user text)
        "counts": invitation_counts(customer, campaign),
        "ladder": ladder_progress(customer, campaign),
        "page": _page(request, invitations_for_page(customer)),
    }
    return render(request, "rewards/home.html", context)


@login_required
@require_GET
def poster(request):
    customer = _customer(request)
    campaign = current_campaign()
    svg = poster_svg(
        url=_invite_url(request, customer),
        title=campaign.name if campaign else _("Invite a friend"),
        subtitle=_("%(name)s invites you to open an account") % {"name": str(customer)},
        hint=_("Scan to accept the invitation"),
    )
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Content-Disposition"] = 'attachment; filename="invite-poster.svg"'
    return response


@login_required
@require_GET
def my_rewards(request):
    customer = _customer(request)
    context = {
        "page": _page(request, grants_for_page(customer)),
        "report_form": CardReportForm(),
        "today": timezone.localdate(),
    }
    return render(request, "rewards/my_rewards.html", context)


@login_required
@require_GET
def my_points(request):
    customer = _customer(request)
    context = {
        "balance": points_balance(customer),
        "page": _page(request, points_history(customer)),
    }
    return render(request, "rewards/my_points.html", context)


@login_required
@require_POST
def reveal_card(request, grant_no: str):
    """Show the card of the customer's own issued grant (a POST: never from a link or a
    prefetch). A login older than ``REVEAL_REAUTH_MINUTES`` must give its password first, or a
    code texted to the customer's number (``invitations:code_again``: who has no password)."""
    customer = _customer(request)
    grant = get_object_or_404(grants_of(customer), grant_no=grant_no)  # invariant 10: own only
    if needs_password_again(request):
        form = PasswordAgainForm(request.POST if "password" in request.POST else None)
        again = {"grant": grant, "form": form, "customer": customer}
        if not form.is_bound or not form.is_valid():
            return render(request, "rewards/password_again.html", again)
        user = authenticate(
            request, username=request.user.get_username(), password=form.cleaned_data["password"]
        )
        if user is None or user.pk != request.user.pk:
            form.add_error("password", _("This password is not right."))
            return render(request, "rewards/password_again.html", again)
        mark_authenticated(request)
    try:
        number, password = reveal_grant_card(grant, customer)
    except RewardError as error:
        messages.error(request, str(error))
        return redirect("rewards:my_rewards")
    response = render(
        request, "rewards/card.html", {"grant": grant, "number": number, "password": password}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def check_friends(request):
    """'My friends have opened their accounts: check now.' Limited per customer (the upstream
    is shared); the answer says when it can be asked again."""
    customer = _customer(request)
    try:
        count = check_friends_now(customer)
    except CheckTooSoon as refusal:
        messages.info(request, str(refusal))
    else:
        if count:
            messages.success(
                request,
                ngettext(
                    "We will check your friend's account several times over the next half hour;"
                    " a reward appears here as soon as the account is open.",
                    "We will check your %(count)s friends' accounts several times over the next"
                    " half hour; each reward appears here as soon as the account is open.",
                    count,
                )
                % {"count": count},
            )
        else:
            messages.info(request, _("None of your invitations is waiting for an account."))
    return redirect("rewards:home")


@login_required
@require_http_methods(["GET", "POST"])
def report_card(request, grant_no: str):
    """'Problem with this card?': the form for one of the customer's own issued cards (a page
    of its own, so that the list of rewards stays light), then the report."""
    customer = _customer(request)
    grant = get_object_or_404(grants_of(customer), grant_no=grant_no)  # invariant 10: own only
    if request.method == "GET":
        if grant.status != Grant.Status.ISSUED or grant.card_id is None:
            return redirect("rewards:my_rewards")
        form = CardReportForm()
    else:
        form = CardReportForm(request.POST)
        if form.is_valid():
            try:
                report_card_problem(
                    grant, customer, form.cleaned_data["note"], problem=form.cleaned_data["problem"]
                )
            except CardAlreadyReported as repeat:
                messages.info(request, str(repeat))  # a repeat tap: nothing recorded, all is well
            except RewardError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    _(
                        "Thank you. We are checking the card of reward %(grant)s and will replace "
                        "it if it does not work; this page shows the outcome."
                    )
                    % {"grant": grant.grant_no},
                )
            return redirect("rewards:my_rewards")
    context = {"grant": grant, "form": form, "report_open": card_report_open(grant)}
    return render(request, "rewards/report.html", context)
