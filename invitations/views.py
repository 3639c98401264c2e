from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from .exceptions import UNKNOWN_INVITE_CODE, InvitationRefused, PhoneTaken
from .forms import InviteeForm, SignupForm
from .models import Invitation
from .selectors import current_campaign, customer_by_invite_code
from .services import create_invitation, register_customer


def landing(request, code: str):
    """The invitee's page: the campaign's rules, a phone form, then on to open an account."""
    inviter = customer_by_invite_code(code)
    if inviter is None:
        raise Http404(UNKNOWN_INVITE_CODE)
    campaign = current_campaign()
    form = InviteeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = create_invitation(
                inviter, form.cleaned_data["phone"], channel=request.GET.get("ch", "link")
            )
        except InvitationRefused as refusal:
            form.add_error("phone", str(refusal))
        else:
            request.session["invitation_id"] = invitation.pk
            return redirect("invitations:invited", code=inviter.invite_code)
    return render(
        request,
        "invitations/landing.html",
        {"inviter": inviter, "campaign": campaign, "form": form},
    )


def invited(request, code: str):
    invitation = Invitation.objects.filter(pk=request.session.get("invitation_id")).first()
    if invitation is None:
        return redirect("invitations:landing", code=code)
    open_account_url = (
        f"{settings.ACCOUNT_OPENING_SIGNUP_URL}?{urlencode({'phone': invitation.invitee_phone})}"
    )
    return render(
        request,
        "invitations/invited.html",
        {"invitation": invitation, "open_account_url": open_account_url},
    )


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            validate_password(form.cleaned_data["password"])
            customer = register_customer(form.cleaned_data["phone"], form.cleaned_data["password"])
        except ValidationError as error:
            form.add_error("password", error)
        except PhoneTaken as taken:
            form.add_error("phone", str(taken))
        else:
            login(request, customer.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(reverse("rewards:my_rewards"))
    return render(request, "invitations/signup.html", {"form": form})
