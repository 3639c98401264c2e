"""Run in separate processes by the rewards concurrency tests."""

import random

from invitations.models import Invitation
from rewards.numbers import next_grant_no
from rewards.services import grant_reward, grant_rewards


def grant_numbers(count: int) -> list[str]:
    return [next_grant_no() for _ in range(count)]


def grant_all_qualified(seed: int, path: str = "single") -> int:
    """Grant every qualified invitation that has no live grant yet, in a random order, until none
    is left: one by one (``single``), in batches of 50 (``batch``) or, by the seed's parity, one
    or the other (``both``). Many of these run at once (and are killed) in the chaos test."""
    rng = random.Random(seed)
    batched = path == "batch" or (path == "both" and seed % 2 == 1)
    done = 0
    while True:
        todo = list(
            Invitation.objects.filter(status=Invitation.Status.QUALIFIED, unrewarded__isnull=True)
            .exclude(grants__status__in=["issued", "pending_stock", "held"])
            .values_list("pk", flat=True)[:200]
        )
        if not todo:
            return done
        rng.shuffle(todo)
        if batched:
            grant_rewards(todo[:50])
            done += 1
            continue
        for invitation_id in todo[:50]:
            grant_reward(Invitation(pk=invitation_id))
            done += 1


def grant_all_qualified_without_locks(seed: int, path: str = "single") -> int:
    """The broken variant the chaos harness must catch: the invitation and the inviter are read,
    not locked, so two processes can grant the same invitation or pass the same cap.

    (Without the invitation lock alone nothing breaks: the inviter lock, taken next in the same
    order, serializes the grants of one inviter, and the re-read after it sees the other's grant.)
    """
    from invitations.models import Customer
    from rewards.services import batches, granting

    for module in (granting, batches):
        module.invitations_for_reward = lambda: Invitation.objects.select_related(
            "campaign__card_kind", "inviter"
        )
        module.inviters_for_update = Customer.objects.all
    return grant_all_qualified(seed, path)


def deliver_with_smtp(port: int) -> dict:
    """The outbox's delivery run, its e-mail going to an SMTP server on ``port`` (the test's
    server that accepts and never answers); returns what it sent and failed."""
    from django.conf import settings

    from notifications.services import deliver_messages

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    return deliver_messages(max_seconds=10)


def report_cards(customer_id: int, grant_ids: list[int], taps: int, start_at: float) -> dict:
    """A customer tapping "send report" ``taps`` times on each of ``grant_ids`` from
    ``start_at`` (every process at once); counts each answer."""
    import time

    from invitations.models import Customer
    from rewards.exceptions import RewardError
    from rewards.models import Grant
    from rewards.services import report_card_problem

    customer = Customer.objects.select_related("user").get(pk=customer_id)
    grants = list(Grant.objects.filter(pk__in=grant_ids))
    answers = {"reported": 0}
    time.sleep(max(0.0, start_at - time.time()))
    for _ in range(taps):
        for grant in grants:
            try:
                report_card_problem(grant, customer, "它说已被使用")
                answer = "reported"
            except RewardError as refusal:  # CardAlreadyReported, TooManyReports
                answer = type(refusal).__name__
            answers[answer] = answers.get(answer, 0) + 1
    return answers


def grant_or_withdraw(seed: int, batch_id: int) -> int:
    """Seed 0 withdraws the batch after a moment; the others grant what is qualified."""
    import time

    from cardpool.models import CardBatch
    from cardpool.services import void_available_cards

    if seed == 0:
        time.sleep(0.3)
        return void_available_cards(CardBatch(pk=batch_id), reason="race", actor=None)
    return grant_all_qualified(seed)


def grant_or_change_terms(seed: int, campaign_id: int, kind_id: int) -> int:
    """Seed 0 moves the campaign to another kind and 500 points after a moment, on the record;
    the others grant what is qualified meanwhile."""
    import time

    from cardpool.models import CardKind
    from invitations.models import Campaign
    from invitations.services.campaigns import change_campaign

    if seed == 0:
        time.sleep(0.3)
        values = {"card_kind": CardKind.objects.get(pk=kind_id), "points": 500}
        change_campaign(Campaign(pk=campaign_id), values=values, reason="race", actor=None)
        return 1
    return grant_all_qualified(seed)


def move_or_switch_off(seed: int, start: float, campaign_ids: list[int], kind_ids: list[int]):
    """Round r at ``start + r / 4`` s: seed 0 switches kind r off; seed s moves campaign s onto
    kind r. Returns what it managed and what was refused."""
    import time

    from cardpool.exceptions import CardPoolError
    from cardpool.models import CardKind
    from invitations.models import Campaign
    from invitations.services.campaigns import change_campaign
    from rewards.exceptions import RewardError
    from rewards.services.card_kinds import switch_kind

    done = refused = 0
    for round_, kind_id in enumerate(kind_ids):
        time.sleep(max(0.0, start + round_ / 4 - time.time()))
        kind = CardKind.objects.get(pk=kind_id)
        try:
            if seed == 0:
                switch_kind(kind, is_active=False, reason="race", actor=None)
            else:
                campaign = Campaign(pk=campaign_ids[seed - 1])
                change_campaign(campaign, values={"card_kind": kind}, reason="race", actor=None)
            done += 1
        except (CardPoolError, RewardError):
            refused += 1
    return [done, refused]


def grant_at(invitation_ids: list[int], start_at: float, batched: bool) -> int:
    """Grant these invitations from ``start_at`` (a ``time.time()`` shared by every process),
    one by one or as one batch; returns how many grants were made."""
    import time

    time.sleep(max(0.0, start_at - time.time()))
    if batched:
        result = grant_rewards(invitation_ids)
        return result.issued + result.pending_stock + result.held
    made = 0
    for invitation_id in invitation_ids:
        made += grant_reward(Invitation(pk=invitation_id)) is not None
    return made
