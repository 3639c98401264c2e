"""2,000 qualified invitations from 200 inviters, 1,500 cards, 8 granting processes, and a killer
that SIGKILLs one of them every half second and starts a replacement. Checked with SQL after."""

import os
import random
import signal
import time
from collections import Counter

import pytest
from django.utils import timezone

from cardpool.services import import_cards
from invitations.models import Invitation
from rewards.services import fulfil_pending_grants
from tests.cardpool.files import csv_bytes, good_rows
from tests.factories import CampaignFactory, CustomerFactory, make_cards
from tests.processes import scalar, start_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

INVITATIONS, INVITERS, CAP, CARDS, WORKERS, POINTS = 2000, 200, 10, 1500, 8, 20


def qualified_invitations(campaign) -> Counter:
    """Uneven: some inviters bring more than the cap, some fewer. Returns invitations per inviter."""
    rng = random.Random(7)
    inviters = [CustomerFactory() for _ in range(INVITERS)]
    per_inviter = Counter(rng.choice(inviters) for _ in range(INVITATIONS))
    now = timezone.now()
    rows, number = [], 0
    for inviter, count in per_inviter.items():
        for _ in range(count):
            number += 1
            rows.append(
                Invitation(
                    campaign=campaign,
                    inviter=inviter,
                    invitee_phone=f"150{number:08d}",
                    status="qualified",
                    qualify_by=now,
                    next_check_at=now,
                    external_account_id=f"ACC{number}",
                    account_opened_at=now,
                )
            )
    Invitation.objects.bulk_create(rows)
    return per_inviter


def run_with_killer(path: str, seconds_limit: float = 240) -> int:
    rng = random.Random(11)
    workers = [
        start_worker("tests.rewards.workers.grant_all_qualified", seed, path)
        for seed in range(WORKERS)
    ]
    kills, seed, started = 0, WORKERS, time.monotonic()
    while any(worker.poll() is None for worker in workers):
        assert time.monotonic() - started < seconds_limit, "granting did not finish"
        time.sleep(0.5)
        alive = [index for index, worker in enumerate(workers) if worker.poll() is None]
        if len(alive) < 2:
            continue  # let the last one finish the work
        victim = rng.choice(alive)
        os.kill(workers[victim].pid, signal.SIGKILL)
        workers[victim].wait()
        kills += 1
        seed += 1
        workers[victim] = start_worker("tests.rewards.workers.grant_all_qualified", seed, path)
    for worker in workers:
        _, stderr = worker.communicate()
        assert worker.returncode in (0, -signal.SIGKILL), stderr
    return kills


@pytest.mark.parametrize("path", ["single", "batch", "both"])
def test_chaos_no_double_pay_no_lost_reward_then_fulfilment_oldest_first(path):
    """``single``: every process grants one invitation at a time (the poller's path); ``batch``:
    50 at a time (grant_rewards); ``both``: half of each, on the same invitations at once."""
    campaign = CampaignFactory(points=POINTS, max_rewards_per_inviter=CAP)
    make_cards(campaign.card_kind, CARDS)
    per_inviter = qualified_invitations(campaign)
    eligible = sum(min(count, CAP) for count in per_inviter.values())

    started = time.monotonic()
    kills = run_with_killer(path)
    elapsed = time.monotonic() - started
    print(
        f"\nchaos ({path}): {eligible} grants by {WORKERS} processes in {elapsed:.1f}s "
        f"({eligible / elapsed:.0f} grants/s), {kills} SIGKILLs survived"
    )

    live = "status IN ('issued', 'pending_stock')"
    assert kills >= 3
    assert (
        scalar(
            "SELECT count(*) FROM (SELECT card_id FROM rewards_grant WHERE card_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d"
        )
        == 0
    )
    assert (
        scalar(
            f"SELECT count(*) FROM (SELECT invitation_id FROM rewards_grant WHERE {live} GROUP BY 1 HAVING count(*) > 1) d"
        )
        == 0
    )
    assert (
        scalar(
            f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM rewards_grant WHERE {live} GROUP BY inviter_id) d"
        )
        <= CAP
    )
    assert scalar(f"SELECT count(*) FROM rewards_grant WHERE {live}") == eligible
    assert scalar("SELECT count(*) FROM rewards_grant WHERE status = 'held'") == 0
    assert scalar("SELECT count(*) FROM rewards_unrewardedinvitation") == INVITATIONS - eligible
    assert (
        scalar(
            "SELECT count(*) FROM invitations_invitation i WHERE status = 'qualified' AND NOT EXISTS "
            "(SELECT 1 FROM rewards_grant g WHERE g.invitation_id = i.id) AND NOT EXISTS "
            "(SELECT 1 FROM rewards_unrewardedinvitation u WHERE u.invitation_id = i.id)"
        )
        == 0
    )
    issued = scalar("SELECT count(*) FROM rewards_grant WHERE status = 'issued'")
    assert issued == min(CARDS, eligible)
    assert scalar("SELECT coalesce(sum(amount), 0) FROM rewards_pointsentry") == POINTS * issued
    assert (
        scalar(
            "SELECT count(*) FROM cardpool_card c WHERE status = 'assigned' AND NOT EXISTS "
            "(SELECT 1 FROM rewards_grant g WHERE g.card_id = c.id)"
        )
        == 0
    )

    # then more cards arrive and every waiting grant is issued, oldest first, right after the
    # import's commit (the schedule's fulfilment then finds nothing left)
    waiting = list(
        campaign.grants.filter(status="pending_stock")
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    assert waiting
    import_cards(
        kind=campaign.card_kind, file_name="more.csv", content=csv_bytes(good_rows(1000, "MORE"))
    )
    assert campaign.grants.filter(pk__in=waiting, status="issued").count() == len(waiting)
    assert fulfil_pending_grants() == 0
    # oldest first: in the order they started waiting, each was issued no later than the next
    # (a batch of up to 200 is issued in one transaction, at one time)
    issued_at = dict(campaign.grants.filter(pk__in=waiting).values_list("pk", "issued_at"))
    times = [issued_at[pk] for pk in waiting]
    assert times == sorted(times)
    assert scalar("SELECT count(*) FROM rewards_grant WHERE status = 'pending_stock'") == 0
    assert scalar("SELECT coalesce(sum(amount), 0) FROM rewards_pointsentry") == POINTS * eligible


@pytest.mark.parametrize("path", ["single", "batch"])
def test_the_harness_catches_granting_without_locks(path):
    """The same data and processes with the locks taken out must show a failure: a process
    refused by a unique index (one live grant per invitation and side, one place per inviter on
    the ladder: two grants of one inviter racing take the same place), or an inviter past the
    cap. The batch path catches a refused batch and grants it one by one, logging each refusal
    (stderr); since the place index the database refuses the cap race too."""
    campaign = CampaignFactory(points=POINTS, max_rewards_per_inviter=CAP)
    make_cards(campaign.card_kind, CARDS)
    qualified_invitations(campaign)
    workers = [
        start_worker("tests.rewards.workers.grant_all_qualified_without_locks", seed, path)
        for seed in range(WORKERS)
    ]
    crashed, logged = [], []
    for worker in workers:
        _, stderr = worker.communicate(timeout=240)
        logged.append(stderr)
        if worker.returncode != 0:
            crashed.append(stderr)
    live = "status IN ('issued', 'pending_stock')"
    most = scalar(
        f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM rewards_grant WHERE {live} "
        "GROUP BY inviter_id) d"
    )
    print(
        f"\nwithout locks ({path}): {len(crashed)} processes refused, most live grants per inviter {most}"
    )
    refused_by = (
        "grant_one_live_per_side",
        "grant_one_automatic_per_side",
        "grant_one_live_per_place",
        "grant_one_automatic_per_place",
    )
    assert any(name in stderr for stderr in logged for name in refused_by) or most > CAP
