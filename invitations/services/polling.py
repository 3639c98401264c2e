"""The poll cycle: ask the account-opening service about due invitations and record outcomes.

Why it is shaped like this (the incident: a Quartz job every two minutes, overlapping runs,
several threads granting for the same invitation):

1. Claim: in a short transaction, lock a batch of due rows with SKIP LOCKED, stamp them with a
   lease token and push their ``next_check_at`` to the end of the lease, commit. Another worker's
   claim skips them; a killed worker's rows become due again when the lease ends.
2. Ask the upstream for each one outside any transaction, at the shared rate limit.
3. Record: in one transaction, re-lock the row, check it is still pending and still ours (the
   lease token), record the outcome, and for a qualified invitation call the rewards handler in
   that same transaction. A stale worker finds another token and records nothing.

Dates compared with "now" use the database's clock, so hosts with skewed clocks agree.
"""

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Now

from account_opening.client import AccountOpeningError, AccountStatus, SlotUnavailable, get_client
from core.backoff import doubling
from core.clock import database_now
from core.logging import log_context

from ..check_policy import Facts, Policy, next_check
from ..events import invitation_decided_event
from ..lock_objects import due_invitations_for_update, invitations_for_update
from ..models import Invitation, PollCycle, PollPlan
from ..signals import invitation_qualified
from ..yield_plan import Plan

logger = logging.getLogger(__name__)

ERROR_BACKOFF = (timedelta(minutes=1), timedelta(hours=1))
ACCOUNT_ALREADY_COUNTED = "account {account} was already counted for invitation #{other}"
OPENED_TOO_LATE = "account opened after the qualification window closed"
NOT_FUNDED = "no first deposit of at least {amount} yuan within {days} days of the opening"
FUNDED_TOO_LITTLE = "first deposit of {deposit} yuan, below the {amount} yuan required"


class Outcome(models.TextChoices):
    QUALIFIED = "qualified"
    NOT_YET_OPENED = "not_yet_opened"
    AWAITING_DEPOSIT = "awaiting_deposit"  # opened; the campaign wants a first deposit too
    INELIGIBLE = "ineligible"  # an existing customer's account
    REJECTED = "rejected"  # the account already counted for another invitation
    EXPIRED = "expired"
    ERROR = "error"
    LOST_LEASE = "lost_lease"  # another worker took the row over; nothing recorded
    RELEASED = "released"


@dataclass(frozen=True)
class Decision:
    """What an upstream answer means for an invitation: the outcome and the fields to save."""

    outcome: Outcome
    changes: dict


@dataclass(frozen=True)
class Claim:
    invitation_id: int
    phone: str
    token: uuid.UUID


def claim_due_invitations(limit: int, lease_seconds: int) -> list[Claim]:
    """Lease up to ``limit`` due invitations to this worker (commits before returning)."""
    with transaction.atomic():
        rows = list(due_invitations_for_update(Now(), limit).values_list("pk", "invitee_phone"))
        if not rows:
            return []
        token = uuid.uuid4()
        lease_end = Now() + timedelta(seconds=lease_seconds)
        Invitation.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            lease_token=token, leased_until=lease_end, next_check_at=lease_end
        )
    return [Claim(pk, phone, token) for pk, phone in rows]


def _locked_if_ours(claim: Claim) -> Invitation | None:
    invitation = invitations_for_update().get(pk=claim.invitation_id)
    if invitation.status != Invitation.Status.PENDING or invitation.lease_token != claim.token:
        return None
    return invitation


def _finish(invitation: Invitation, now: datetime, **changes) -> None:
    """Save what this check changed and give the lease back; a decision (a new status) is
    recorded as an event with the upstream's answer summarized."""
    changes.update(lease_token=None, leased_until=None, last_checked_at=now)
    for name, value in changes.items():
        setattr(invitation, name, value)
    invitation.save(update_fields=list(changes))
    if "status" in changes:
        invitation_decided_event(invitation, reason=changes.get("rejection_reason", ""))


def implausible_opening(account: AccountStatus, now: datetime) -> str | None:
    """Why an "opened" answer's date cannot be true, or None. Such a reply is an error, never a
    decision: a date ahead of our clock once qualified an invitation (and paid a card) before
    the account existed, and a date in 2099 expired one for good."""
    if not account.is_opened:
        return None
    skew = timedelta(seconds=settings.ACCOUNT_OPENING_MAX_CLOCK_SKEW_SECONDS)
    earliest = settings.ACCOUNT_OPENING_EARLIEST_OPENED_AT
    if account.opened_at > now + skew:
        return (
            f"InvalidUpstreamReply: opened_at {account.opened_at.isoformat()} is in the future "
            f"(more than {skew.total_seconds():g}s ahead of our clock)"
        )
    if account.opened_at < earliest:
        return (
            f"InvalidUpstreamReply: opened_at {account.opened_at.isoformat()} is before "
            f"{earliest:%Y-%m-%d}, not a real opening date"
        )
    if account.funded_at is not None and account.funded_at > now + skew:
        return (
            f"InvalidUpstreamReply: first_deposit_at {account.funded_at.isoformat()} is in the "
            f"future (more than {skew.total_seconds():g}s ahead of our clock)"
        )
    return None


def error_decision(invitation: Invitation, now: datetime, error: str) -> Decision:
    """Keep the invitation pending, note the error, look again after a growing wait. An error
    never decides an invitation: only a valid answer from the upstream does."""
    attempts = invitation.attempts + 1
    return Decision(
        Outcome.ERROR,
        {
            "attempts": attempts,
            "last_error": error[:1000],
            "next_check_at": now + doubling(attempts, *ERROR_BACKOFF),
        },
    )


@dataclass(frozen=True)
class Plans:
    """A campaign's poll plans (``PollPlan``): for the wait for an opening, by the invitation's
    age, and for the wait for a first deposit, by the account's; None: the fixed waits."""

    opening: Plan | None = None
    deposit: Plan | None = None


def decide(
    invitation: Invitation, account: AccountStatus, now: datetime, plans: Plans = Plans()
) -> Decision:
    """What ``account`` (the upstream's answer) means for ``invitation`` at ``now``, its next
    check by its campaign's ``plans`` (or the fixed waits): pure, no database and no HTTP.
    ``record_lookup`` applies it; a ``QUALIFIED`` decision still meets the database's
    one-account-once check there."""
    problem = implausible_opening(account, now)
    if problem is not None:
        return error_decision(invitation, now, problem)
    if not account.is_opened:
        if now >= invitation.qualify_by:
            return Decision(
                Outcome.EXPIRED,
                {"status": Invitation.Status.EXPIRED, "decided_at": now, "last_error": ""},
            )
        check = next_check(
            Facts(
                invitation.invited_at,
                invitation.qualify_by,
                invitation.attempts + 1,
                invitation.signal_at,
            ),
            now,
            Policy.from_settings(),
            plans.opening,
        )
        return Decision(
            Outcome.NOT_YET_OPENED,
            {
                "attempts": invitation.attempts + 1,
                "next_check_at": check.at,
                "check_priority": check.priority,
                "last_error": "",
            },
        )
    account_fields = {
        "external_account_id": account.account_id,
        "account_opened_at": account.opened_at,
        "account_channel": account.channel,
        "decided_at": now,
        "last_error": "",
    }
    if account.opened_at < invitation.invited_at:
        # Invariant 4: someone who already had an account earns the inviter nothing.
        status = Invitation.Status.INELIGIBLE_EXISTING_CUSTOMER
        return Decision(Outcome.INELIGIBLE, {"status": status, **account_fields})
    if account.opened_at > invitation.qualify_by:
        return Decision(
            Outcome.EXPIRED,
            {
                "status": Invitation.Status.EXPIRED,
                "rejection_reason": OPENED_TOO_LATE,
                **account_fields,
            },
        )
    campaign = invitation.campaign if invitation.campaign_id else None
    if campaign is not None and campaign.min_deposit is not None:
        account_fields |= {"funded_at": account.funded_at, "first_deposit": account.first_deposit}
        return _deposit_decision(invitation, account, now, account_fields, plans.deposit)
    return Decision(Outcome.QUALIFIED, {"status": Invitation.Status.QUALIFIED, **account_fields})


def _deposit_decision(
    invitation: Invitation,
    account: AccountStatus,
    now: datetime,
    account_fields: dict,
    plan: Plan | None,
) -> Decision:
    """An account opened in time, for a campaign that wants a first deposit of at least
    ``min_deposit`` within ``deposit_days`` of the opening: qualified once it has arrived;
    waiting (pending, the account recorded, ``qualify_by`` moved to the deposit's deadline so
    that every check, signal and final look follows it; checked by the account's age, as
    ``plan`` says) until then; expired when the deadline
    passed without it or the first deposit was smaller."""
    campaign = invitation.campaign
    fund_by = account.opened_at + timedelta(days=campaign.deposit_days)
    required = {"amount": campaign.min_deposit, "days": campaign.deposit_days}
    if account.funded_at is not None and account.funded_at <= fund_by:
        if account.first_deposit >= campaign.min_deposit:
            status = Invitation.Status.QUALIFIED
            return Decision(Outcome.QUALIFIED, {"status": status, **account_fields})
        reason = FUNDED_TOO_LITTLE.format(deposit=account.first_deposit, **required)
    elif now < fund_by:
        attempts = invitation.attempts + 1
        facts = Facts(account.opened_at, fund_by, attempts, invitation.signal_at)
        check = next_check(facts, now, Policy.from_settings(), plan)
        waiting = {name: value for name, value in account_fields.items() if name != "decided_at"}
        changes = {
            **waiting,
            "qualify_by": fund_by,
            "attempts": attempts,
            "next_check_at": check.at,
            "check_priority": check.priority,
        }
        return Decision(Outcome.AWAITING_DEPOSIT, changes)
    else:
        reason = NOT_FUNDED.format(**required)
    changes = {
        "status": Invitation.Status.EXPIRED,
        "rejection_reason": reason,
        "qualify_by": fund_by,
        **account_fields,
    }
    return Decision(Outcome.EXPIRED, changes)


def _plans_of(campaign_id: int) -> Plans:
    stored = {row.stage: row.plan() for row in PollPlan.objects.filter(campaign_id=campaign_id)}
    return Plans(stored.get(PollPlan.Stage.OPENING), stored.get(PollPlan.Stage.DEPOSIT))


@transaction.atomic
def record_lookup(claim: Claim, account: AccountStatus) -> str:
    """Record what the upstream said about a claimed invitation; returns an ``Outcome``.

    Locks the row, checks the lease, applies ``decide``. A qualified invitation is handed to
    the apps above (``signals.invitation_qualified``) inside this transaction: if a receiver
    (the grant) fails, the
    qualification rolls back too, and the caller records the failure (``record_failure``): the
    invitation stays pending and is looked up again later."""
    invitation = _locked_if_ours(claim)
    if invitation is None:
        return Outcome.LOST_LEASE
    now = database_now()
    decision = decide(invitation, account, now, _plans_of(invitation.campaign_id))
    if decision.outcome != Outcome.QUALIFIED:
        _finish(invitation, now, **decision.changes)
        return decision.outcome
    qualified_with_account = Invitation.objects.filter(  # in any campaign
        external_account_id=account.account_id, status=Invitation.Status.QUALIFIED
    )
    other = qualified_with_account.exclude(pk=invitation.pk).first()
    if other is None:
        try:
            with transaction.atomic():
                _finish(invitation, now, **decision.changes)
        except IntegrityError:  # the same account qualified another invitation a moment ago
            other = qualified_with_account.first()
    if other is not None:
        # Invariant 3: one account counts once, in whichever campaign, whoever invited it and by
        # which phone.
        reason = ACCOUNT_ALREADY_COUNTED.format(account=account.account_id, other=other.pk)
        changes = {**decision.changes, "status": Invitation.Status.REJECTED}
        _finish(invitation, now, **changes, rejection_reason=reason)
        return Outcome.REJECTED
    invitation_qualified.send(sender=Invitation, invitation=invitation)
    return Outcome.QUALIFIED


@transaction.atomic
def record_failure(claim: Claim, error: str) -> str:
    """Keep the invitation pending, note the error and try again later. An error never expires
    an invitation: it is decided only on a valid answer from the upstream."""
    invitation = _locked_if_ours(claim)
    if invitation is None:
        return Outcome.LOST_LEASE
    now = database_now()
    _finish(invitation, now, **error_decision(invitation, now, error).changes)
    return Outcome.ERROR


def release(claims: list[Claim]) -> int:
    """Give unprocessed claims back at once, due now, with no attempt counted."""
    released = 0
    for claim in claims:
        released += Invitation.objects.filter(
            pk=claim.invitation_id, lease_token=claim.token, status=Invitation.Status.PENDING
        ).update(lease_token=None, leased_until=None, next_check_at=Now())
    return released


def _count(cycle: PollCycle, outcome: str) -> None:
    field = {
        Outcome.QUALIFIED: "qualified",
        Outcome.NOT_YET_OPENED: "not_yet_opened",
        Outcome.AWAITING_DEPOSIT: "awaiting_deposit",
        Outcome.INELIGIBLE: "ineligible",
        Outcome.REJECTED: "rejected",
        Outcome.EXPIRED: "expired",
        Outcome.ERROR: "errors",
    }.get(outcome)
    if field:
        setattr(cycle, field, getattr(cycle, field) + 1)


def _process(claim: Claim, client, deadline: float) -> str:
    with log_context(invitation=claim.invitation_id):
        return _look_up_and_record(claim, client, deadline)


def _look_up_and_record(claim: Claim, client, deadline: float) -> str:
    try:
        account = client.lookup(claim.phone, deadline=deadline)
    except SlotUnavailable:
        raise
    except AccountOpeningError as error:
        return record_failure(claim, f"{type(error).__name__}: {error}")
    except Exception as error:  # a client (they plug in by setting) failing in an unforeseen way
        logger.exception("looking up invitation %s failed unexpectedly", claim.invitation_id)
        return record_failure(claim, f"unexpected {type(error).__name__}: {error}")
    try:
        return record_lookup(claim, account)
    except Exception as error:  # a bug or a database error must not stop the cycle or lose the row
        logger.exception("recording invitation %s failed", claim.invitation_id)
        return record_failure(claim, f"recording failed: {type(error).__name__}: {error}")


def _process_batch(claims: list[Claim], client, deadline: float, cycle: PollCycle) -> int:
    """Process claims in order until the deadline; returns how many were processed."""
    for index, claim in enumerate(claims):
        if time.monotonic() >= deadline:
            return index
        try:
            outcome = _process(claim, client, deadline)
        except SlotUnavailable:
            return index
        except Exception:  # even recording the failure failed (a bug): the row stays leased
            # until its lease ends, then is due again; the other claims go on.
            logger.exception(
                "invitation %s: the failure could not be recorded", claim.invitation_id
            )
            outcome = Outcome.ERROR
        _count(cycle, outcome)
    return len(claims)


def poll_invitations(
    *,
    client=None,
    batch_size: int | None = None,
    lease_seconds: int | None = None,
    max_seconds: float | None = None,
) -> PollCycle:
    """Run one poll cycle: claim due invitations batch by batch until none is due or the
    cycle's time is up (below django-q2's task timeout), and record a heartbeat row."""
    client = client or get_client()
    batch_size = batch_size or settings.POLL_BATCH_SIZE
    lease_seconds = lease_seconds or settings.POLL_LEASE_SECONDS
    deadline = time.monotonic() + (max_seconds or settings.POLL_MAX_SECONDS)
    cycle = PollCycle.objects.create(worker=f"{socket.gethostname()}:{os.getpid()}")
    while time.monotonic() < deadline:
        claims = claim_due_invitations(batch_size, lease_seconds)
        if not claims:
            break
        cycle.claimed += len(claims)
        done = _process_batch(claims, client, deadline, cycle)
        if done < len(claims):
            # Out of time, or no upstream slot before the deadline: give the rest back, due
            # now, and end the cycle (claiming again would only release again).
            cycle.released += release(claims[done:])
            cycle.save()
            break
        cycle.save()
    cycle.finished_at = database_now()
    cycle.save()
    return cycle
