"""Run in separate processes by the polling concurrency tests."""

from invitations.services import poll_invitations


def poll_once(batch_size: int = 50, lease_seconds: int = 90, max_seconds: float = 80) -> dict:
    cycle = poll_invitations(
        batch_size=batch_size, lease_seconds=lease_seconds, max_seconds=max_seconds
    )
    return {"claimed": cycle.claimed, "qualified": cycle.qualified, "errors": cycle.errors}


def poll_without_the_lease(batch_size: int = 50, max_seconds: float = 20) -> dict:
    """The broken variant the overlap harness must catch: each run takes the due invitations
    without leasing them away from the others (no SKIP LOCKED, next check not moved), as the
    incident's overlapping runs did. Decisions stay single (the token check); lookups do not."""
    import uuid
    from datetime import timedelta

    from django.db.models.functions import Now

    from invitations.models import Invitation
    from invitations.services import polling

    def claim_without_lease(limit: int, lease_seconds: int) -> list:
        rows = list(
            Invitation.objects.filter(status="pending", next_check_at__lte=Now())
            .order_by("pk")
            .values_list("pk", "invitee_phone")[:limit]
        )
        token = uuid.uuid4()
        Invitation.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            lease_token=token, leased_until=Now() + timedelta(seconds=lease_seconds)
        )
        return [polling.Claim(pk, phone, token) for pk, phone in rows]

    polling.claim_due_invitations = claim_without_lease
    return poll_once(batch_size, 90, max_seconds)


def enqueue_polls(count: int) -> list[str]:
    """Put ``count`` poll tasks on the broker (Redis when REDIS_URL is set) for the clusters."""
    from django_q.tasks import async_task

    return [async_task("invitations.tasks.poll_invitations") for _ in range(count)]


def poll_once_leaving_grants_to_the_sweep() -> dict:
    """A poller whose qualifications grant nothing (the grant receiver disconnected in this
    process): the sweep must find those invitations."""
    from invitations.signals import invitation_qualified
    from rewards.receivers import GRANT_ON_QUALIFICATION

    assert invitation_qualified.disconnect(dispatch_uid=GRANT_ON_QUALIFICATION)
    return poll_once()


def sweep_until_done(limit_seconds: float = 240) -> int:
    """Run the sweep (grant_rewards in batches of 50) again and again while pollers run, until
    nothing is pending and nothing qualified is left without a grant."""
    import time

    from invitations.models import Invitation
    from rewards.services import grant_missed_rewards

    granted, deadline = 0, time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        pending = Invitation.objects.filter(status="pending").exists()
        result = grant_missed_rewards(batch_size=50)
        granted += result.issued + result.pending_stock + result.held
        if not pending and not (result.issued + result.pending_stock + result.held):
            return granted
        time.sleep(0.2)
    raise AssertionError("the sweep did not finish")
