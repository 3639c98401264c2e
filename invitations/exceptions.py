"""Why an invitation or a customer was refused. Messages are constants tests import, translated
when shown (lazy: ``str(error)`` speaks the language of the request)."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError

SELF_INVITATION = _("You cannot invite yourself.")
NO_RUNNING_CAMPAIGN = _("There is no campaign running right now.")
CAMPAIGN_NOT_RUNNING = _("The campaign “{campaign}” is not running (it is {state}).")
ALREADY_A_CUSTOMER = _("This phone number already belongs to a customer of ours.")
DUPLICATE_INVITATION = _("This phone number has already been invited in this campaign.")
PHONE_TAKEN = _("A customer with this phone number already exists.")
UNKNOWN_INVITE_CODE = _("This invitation link is not valid.")
SIGNUP_TIME_OUTSIDE_CAMPAIGN = _(
    "The sign-up time must fall within the campaign ({starts} to {ends}) and not in the future."
)
UNKNOWN_INVITER = _("No customer has the phone number {phone}.")
# The public landing page gives one answer for every number it cannot take, so that nobody learns
# from it whether a number belongs to a customer, to the inviter, or was invited by someone else.
NOT_INVITABLE = _(
    "This number cannot take part through this link. If you already have an account with us "
    "or a friend invited you before, there is nothing more to do."
)
CODE_SENT_RECENTLY = _("A code was sent just now. Please wait {seconds} s before asking again.")
TOO_MANY_CODES = _("Too many codes were asked for. Please try again in an hour.")
CODE_NOT_SENT = _("We could not send the text message just now. Please try again in a minute.")
WRONG_CODE = _("This code is not right. {left} tries left.")
CODE_EXPIRED = _("This code has expired. Ask for a new one.")
CODE_USED_UP = _("Too many wrong codes. Ask for a new one.")
CHECK_TOO_SOON = _("We are already checking your friends. You can ask again at {time}.")


class InvitationRefused(DomainError):
    """Base of the refusals; ``str(error)`` is fit to show the person who typed the input."""


class SelfInvitation(InvitationRefused):
    message = SELF_INVITATION


class NoRunningCampaign(InvitationRefused):
    message = NO_RUNNING_CAMPAIGN


class CampaignNotRunning(InvitationRefused):
    message = CAMPAIGN_NOT_RUNNING

    def __init__(self, campaign, state):
        super().__init__(campaign=campaign.name, state=state.label)


class AlreadyACustomer(InvitationRefused):
    message = ALREADY_A_CUSTOMER


class DuplicateInvitation(InvitationRefused):
    message = DUPLICATE_INVITATION


class PhoneTaken(DomainError):
    message = PHONE_TAKEN


class SignupTimeOutsideCampaign(InvitationRefused):
    message = SIGNUP_TIME_OUTSIDE_CAMPAIGN

    def __init__(self, campaign):
        super().__init__(
            starts=f"{campaign.starts_at:%Y-%m-%d %H:%M}", ends=f"{campaign.ends_at:%Y-%m-%d %H:%M}"
        )


class UnknownInviter(InvitationRefused):
    message = UNKNOWN_INVITER

    def __init__(self, phone: str):
        super().__init__(phone=phone)


class VerificationRefused(InvitationRefused):
    """The one-time code step refused; ``str(error)`` says why and what to do."""


class CodeSentRecently(VerificationRefused):
    message = CODE_SENT_RECENTLY

    def __init__(self, seconds: int):
        super().__init__(seconds=seconds)


class TooManyCodes(VerificationRefused):
    message = TOO_MANY_CODES


class CodeNotSent(VerificationRefused):
    message = CODE_NOT_SENT


class WrongCode(VerificationRefused):
    message = WRONG_CODE

    def __init__(self, left: int):
        super().__init__(left=left)


class CodeExpired(VerificationRefused):
    message = CODE_EXPIRED


class CodeUsedUp(VerificationRefused):
    message = CODE_USED_UP


class CheckTooSoon(DomainError):
    """Checking one's friends now was asked for within the cool-down; ``available_at`` says
    when it can be asked again."""

    message = CHECK_TOO_SOON

    def __init__(self, available_at):
        super().__init__(time=timezone.localtime(available_at).strftime("%H:%M"))
        self.available_at = available_at
