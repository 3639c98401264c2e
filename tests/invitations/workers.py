"""Run in separate processes by the polling concurrency tests."""

from invitations.services import poll_invitations


def poll_once(batch_size: int = 50, lease_seconds: int = 90, max_seconds: float = 80) -> dict:
    cycle = poll_invitations(
        batch_size=batch_size, lease_seconds=lease_seconds, max_seconds=max_seconds
    )
    return {"claimed": cycle.claimed, "qualified": cycle.qualified, "errors": cycle.errors}
