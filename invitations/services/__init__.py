"""Invitation use cases. Views, admin, commands and tasks call these, nothing else."""

from .customers import register_customer
from .invitations import create_invitation
from .polling import poll_invitations

__all__ = ["create_invitation", "poll_invitations", "register_customer"]
