"""Overlapping poll runs in separate processes against the simulator as a real HTTP server."""

import os
import signal
import time

import pytest

from invitations.models import Invitation
from tests.factories import CampaignFactory, InvitationFactory, make_cards
from tests.processes import run_workers, scalar, start_worker
from tests.simulator import simulator

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

RATE = (
    20  # requests per second the simulator allows (5 in production; faster here to keep CI short)
)


def invitations_with_accounts(count: int, sim) -> None:
    campaign = CampaignFactory(max_rewards_per_inviter=count)
    make_cards(campaign.card_kind, count)
    invitations = [
        InvitationFactory(campaign=campaign, invitee_phone=f"158{index:08d}")
        for index in range(count)
    ]
    sim.add_accounts(
        [
            {
                "phone": inv.invitee_phone,
                "account_id": f"ACC{inv.pk}",
                "channel": "one_click",
                "opened_at": None,
            }
            for inv in invitations
        ]
    )


def overlap_env(sim) -> dict:
    # These tests are about overlap, not slowness: on a saturated machine (CI runs heavy tests
    # around them) a lookup can pass the 8 s total deadline, which is then an error retried a
    # minute later, after the test's runs. A generous deadline keeps them about overlap.
    return {
        "ACCOUNT_OPENING_URL": sim.url,
        "ACCOUNT_OPENING_RATE": RATE,
        "ACCOUNT_OPENING_TOTAL_TIMEOUT": 60,
    }


def test_six_overlapping_pollers_qualify_each_invitation_once_within_the_rate():
    with simulator("--rate", str(RATE)) as sim:
        invitations_with_accounts(300, sim)
        sim.reset()
        for _run in range(2):
            run_workers(
                "tests.invitations.workers.poll_once", [()] * 6, timeout=300, **overlap_env(sim)
            )

        stats = sim.stats()
    undecided = list(
        Invitation.objects.exclude(status="qualified").values_list(
            "status", "attempts", "last_error"
        )
    )
    assert undecided == []
    assert scalar("SELECT count(*) FROM rewards_grant") == 300
    assert (
        scalar(
            "SELECT count(*) FROM (SELECT invitation_id FROM rewards_grant GROUP BY 1 HAVING count(*) > 1) d"
        )
        == 0
    )
    assert scalar("SELECT count(*) FROM invitations_invitation WHERE lease_token IS NOT NULL") == 0
    assert stats["rate_limited"] == 0
    assert stats["max_requests_in_one_second"] <= RATE
    assert stats["requests_served"] == 300  # each invitee asked about exactly once


def test_pollers_granting_and_pollers_leaving_it_to_the_sweep_pay_each_invitation_once():
    """Both grant paths at once: three pollers grant inside their qualifying transaction
    (grant_reward), three leave it to the sweep, which two processes run over and over
    meanwhile (grant_rewards in batches of 50)."""
    with simulator("--rate", str(RATE)) as sim:
        invitations_with_accounts(300, sim)
        sim.reset()
        sweepers = [start_worker("tests.invitations.workers.sweep_until_done") for _ in range(2)]
        for _run in range(2):
            pollers = [
                start_worker(
                    "tests.invitations.workers."
                    + ("poll_once_leaving_grants_to_the_sweep" if index % 2 else "poll_once"),
                    **overlap_env(sim),
                )
                for index in range(6)
            ]
            for process in pollers:
                _, stderr = process.communicate(timeout=300)
                assert process.returncode == 0, stderr
        swept = []
        for process in sweepers:
            stdout, stderr = process.communicate(timeout=300)
            assert process.returncode == 0, stderr
            swept.append(int(stdout.strip().splitlines()[-1]))
        stats = sim.stats()
    assert scalar("SELECT count(*) FROM invitations_invitation WHERE status = 'qualified'") == 300
    assert scalar("SELECT count(*) FROM rewards_grant") == 300
    assert scalar("SELECT count(DISTINCT invitation_id) FROM rewards_grant") == 300
    assert scalar("SELECT count(DISTINCT card_id) FROM rewards_grant") == 300
    assert 0 < sum(swept) < 300  # both paths granted some
    assert stats["requests_served"] == 300


def test_the_harness_catches_pollers_that_do_not_lease():
    """Six overlapping runs that read the due invitations without leasing them: the simulator
    must see an invitee asked about more than once (the budget spent twice), which the test
    above would refuse."""
    with simulator("--rate", str(RATE)) as sim:
        invitations_with_accounts(100, sim)
        sim.reset()
        run_workers(
            "tests.invitations.workers.poll_without_the_lease",
            [()] * 6,
            timeout=120,
            **overlap_env(sim),
        )
        stats = sim.stats()
    assert stats["requests_served"] > 100


def test_a_killed_poller_loses_nothing_and_nothing_is_handled_twice():
    with simulator("--rate", "4") as sim:
        invitations_with_accounts(20, sim)
        env = {"ACCOUNT_OPENING_URL": sim.url, "ACCOUNT_OPENING_RATE": 4}
        # given a poller that has leased everything and is half-way through
        victim = start_worker("tests.invitations.workers.poll_once", 50, 3, 60, **env)
        deadline = time.monotonic() + 90  # a loaded machine starts a process slowly
        while scalar("SELECT count(*) FROM invitations_invitation WHERE status = 'qualified'") < 3:
            assert time.monotonic() < deadline, "the victim never started"
            time.sleep(0.1)
        # when it is killed mid-cycle
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        leased = scalar("SELECT count(*) FROM invitations_invitation WHERE lease_token IS NOT NULL")
        time.sleep(3.5)  # its lease runs out
        run_workers("tests.invitations.workers.poll_once", [()], timeout=120, **env)
    # then the rest were picked up and finished, each exactly once
    assert leased > 0
    assert scalar("SELECT count(*) FROM invitations_invitation WHERE status = 'qualified'") == 20
    assert scalar("SELECT count(*) FROM rewards_grant") == 20
    assert scalar("SELECT count(DISTINCT invitation_id) FROM rewards_grant") == 20
    assert scalar("SELECT count(*) FROM invitations_invitation WHERE lease_token IS NOT NULL") == 0


def test_pollers_looking_up_one_account_invited_in_two_campaigns_at_once_count_it_once():
    """Invariant 3 across campaigns, with the lookups racing: each friend was invited by two
    people in two overlapping campaigns; six pollers decide both invitations at the same time.
    One of each pair qualifies and is paid; the other is recorded as not rewarded, with why."""
    first = CampaignFactory(max_rewards_per_inviter=100)
    second = CampaignFactory(max_rewards_per_inviter=100, card_kind=first.card_kind)
    make_cards(first.card_kind, 100)
    with simulator("--rate", str(RATE)) as sim:
        phones = [f"157{index:08d}" for index in range(40)]
        for phone in phones:
            InvitationFactory(campaign=first, invitee_phone=phone)
            InvitationFactory(campaign=second, invitee_phone=phone)
        sim.add_accounts(
            [
                {
                    "phone": phone,
                    "account_id": f"ONE{phone}",
                    "channel": "one_click",
                    "opened_at": None,
                }
                for phone in phones
            ]
        )
        sim.reset()
        # one invitation per claim, the two of a pair next to each other in the queue: two
        # pollers hold a pair at once and both hear "opened" for the same account
        run_workers(
            "tests.invitations.workers.poll_once", [(1,)] * 6, timeout=300, **overlap_env(sim)
        )

    assert scalar("SELECT count(*) FROM invitations_invitation WHERE status = 'pending'") == 0
    assert (
        scalar(
            """SELECT count(*) FROM (SELECT external_account_id FROM invitations_invitation
           WHERE status = 'qualified' GROUP BY 1 HAVING count(*) > 1) twice"""
        )
        == 0
    )
    assert scalar("SELECT count(*) FROM invitations_invitation WHERE status = 'qualified'") == 40
    assert (
        scalar(
            """SELECT count(*) FROM invitations_invitation WHERE status = 'rejected'
           AND rejection_reason LIKE %s""",
            ["account ONE% was already counted for invitation #%"],
        )
        == 40
    )
    assert scalar("SELECT count(*) FROM rewards_grant") == 40
