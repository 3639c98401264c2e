"""Invitation use cases. Views, admin, commands and tasks call these, nothing else."""

from .bursts import check_friends_now, invitee_opening_account
from .invitations import create_invitation
from .polling import poll_invitations
from .registration import register_customer
from .verification import (
    Acceptance,
    accept_invitation,
    check_phone_code,
    confirm_phone_code,
    send_phone_code,
)

__all__ = [
    "Acceptance",
    "accept_invitation",
    "check_friends_now",
    "check_phone_code",
    "confirm_phone_code",
    "create_invitation",
    "invitee_opening_account",
    "poll_invitations",
    "register_customer",
    "send_phone_code",
]
