"""Why an invitation or a customer was refused. Messages are constants tests import."""

SELF_INVITATION = "You cannot invite yourself."
NO_RUNNING_CAMPAIGN = "There is no campaign running right now."
CAMPAIGN_NOT_RUNNING = "The campaign “{campaign}” is not running (it is {state})."
ALREADY_A_CUSTOMER = "This phone number already belongs to a customer of ours."
DUPLICATE_INVITATION = "This phone number has already been invited in this campaign."
PHONE_TAKEN = "A customer with this phone number already exists."
UNKNOWN_INVITE_CODE = "This invitation link is not valid."
SIGNUP_TIME_OUTSIDE_CAMPAIGN = (
    "The sign-up time must fall within the campaign ({starts} to {ends}) and not in the future."
)
UNKNOWN_INVITER = "No customer has the phone number {phone}."


class InvitationRefused(Exception):
    """Base of the refusals; ``str(error)`` is fit to show the person who typed the input."""


class SelfInvitation(InvitationRefused):
    def __init__(self):
        super().__init__(SELF_INVITATION)


class NoRunningCampaign(InvitationRefused):
    def __init__(self):
        super().__init__(NO_RUNNING_CAMPAIGN)


class CampaignNotRunning(InvitationRefused):
    def __init__(self, campaign, state: str):
        super().__init__(CAMPAIGN_NOT_RUNNING.format(campaign=campaign.name, state=state))


class AlreadyACustomer(InvitationRefused):
    def __init__(self):
        super().__init__(ALREADY_A_CUSTOMER)


class DuplicateInvitation(InvitationRefused):
    def __init__(self):
        super().__init__(DUPLICATE_INVITATION)


class PhoneTaken(Exception):
    def __init__(self):
        super().__init__(PHONE_TAKEN)


class SignupTimeOutsideCampaign(InvitationRefused):
    def __init__(self, campaign):
        super().__init__(
            SIGNUP_TIME_OUTSIDE_CAMPAIGN.format(
                starts=f"{campaign.starts_at:%Y-%m-%d %H:%M}",
                ends=f"{campaign.ends_at:%Y-%m-%d %H:%M}",
            )
        )


class UnknownInviter(InvitationRefused):
    def __init__(self, phone: str):
        super().__init__(UNKNOWN_INVITER.format(phone=phone))
