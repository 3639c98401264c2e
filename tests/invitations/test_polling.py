from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models.functions import Now
from django.utils import timezone

from account_opening.client import HttpAccountOpeningClient
from invitations.lock_objects import due_invitations_for_update
from invitations.models import AccountChannel, Invitation, PollCycle
from invitations.phones import mask_phone
from invitations.services import poll_invitations
from invitations.services.polling import claim_due_invitations, record_lookup
from rewards.models import Grant
from tests.factories import CampaignFactory, CustomerFactory, InvitationFactory, make_cards

pytestmark = pytest.mark.django_db(transaction=True)


def opened(phone: str, channel: str, when=None, account_id=None) -> dict:
    when = when or timezone.now()
    return {
        "phone": phone,
        "account_id": account_id or f"A{phone}",
        "opened_at": when.isoformat(),
        "channel": channel,
    }


def test_each_channels_account_is_found_one_click_included(upstream):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 10)
    invitations = {
        channel: InvitationFactory(campaign=campaign, invitee_phone=f"1590000000{index}")
        for index, channel in enumerate(AccountChannel.values)
    }
    upstream.add_accounts(
        [opened(inv.invitee_phone, channel) for channel, inv in invitations.items()]
    )

    cycle = poll_invitations()

    assert (cycle.claimed, cycle.qualified, cycle.errors) == (5, 5, 0)
    for channel, invitation in invitations.items():
        invitation.refresh_from_db()
        assert (invitation.status, invitation.account_channel) == ("qualified", channel)
        assert invitation.lease_token is None
    assert Grant.objects.filter(status="issued").count() == 5
    assert cycle.finished_at is not None


def test_an_account_opened_before_the_invitation_earns_nothing(upstream):
    invitation = InvitationFactory()
    upstream.add_accounts(
        [opened(invitation.invitee_phone, "app", timezone.now() - timedelta(days=400))]
    )
    poll_invitations()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.INELIGIBLE_EXISTING_CUSTOMER
    assert Grant.objects.count() == 0


def test_not_opened_backs_off_then_expires_after_the_window(upstream):
    invitation = InvitationFactory()
    poll_invitations()
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts, invitation.last_error) == ("pending", 1, "")
    assert invitation.next_check_at > timezone.now() + timedelta(minutes=1)

    Invitation.objects.filter(pk=invitation.pk).update(
        qualify_by=timezone.now() - timedelta(seconds=1),
        next_check_at=timezone.now() - timedelta(seconds=1),
    )
    poll_invitations()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.EXPIRED


def test_one_account_counts_once_per_campaign_whichever_phone_invited_it(upstream):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 5)
    first = InvitationFactory(campaign=campaign, invitee_phone="15900000001")
    second = InvitationFactory(campaign=campaign, invitee_phone="15900000002")
    upstream.add_accounts(
        [
            opened("15900000001", "app", account_id="SAME"),
            opened("15900000002", "h5", account_id="SAME"),
        ]
    )
    cycle = poll_invitations()
    statuses = sorted(
        Invitation.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    )
    assert statuses == ["qualified", "rejected"]
    assert Grant.objects.count() == 1
    # the heartbeat tells a rejection (counted already) from an existing customer
    assert (cycle.qualified, cycle.rejected, cycle.ineligible) == (1, 1, 0)


def test_one_account_qualifies_one_invitation_across_overlapping_campaigns(upstream, client):
    """A friend invited by two people in two overlapping campaigns opens one account: one
    reward (the first to qualify), the other invitation not rewarded, and its inviter told so
    in plain words, without being told who."""
    first_campaign, second_campaign = CampaignFactory(), CampaignFactory(name="second")
    make_cards(first_campaign.card_kind, 5)
    first = InvitationFactory(campaign=first_campaign, invitee_phone="15900000001")
    second = InvitationFactory(campaign=second_campaign, invitee_phone="15900000001")
    upstream.add_accounts([opened("15900000001", "app", account_id="ONE-ACCOUNT")])

    cycle = poll_invitations()

    statuses = dict(
        Invitation.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "status")
    )
    assert sorted(statuses.values()) == ["qualified", "rejected"]
    assert (cycle.qualified, cycle.rejected) == (1, 1)
    assert Grant.objects.count() == 1
    [rejected] = [pk for pk, status in statuses.items() if status == "rejected"]
    loser = Invitation.objects.get(pk=rejected)
    assert "ONE-ACCOUNT was already counted" in loser.rejection_reason
    client.force_login(loser.inviter.user)
    page = client.get("/me/").content.decode()
    assert "该账户已计入另一份邀请" in page
    winner = first if rejected == second.pk else second
    assert winner.inviter.phone not in page and mask_phone(winner.inviter.phone) not in page


def test_a_stale_worker_whose_lease_was_taken_over_records_nothing(upstream):
    invitation = InvitationFactory()
    [stale] = claim_due_invitations(10, lease_seconds=1)
    Invitation.objects.filter(pk=invitation.pk).update(
        next_check_at=timezone.now() - timedelta(seconds=1)
    )
    [fresh] = claim_due_invitations(
        10, lease_seconds=60
    )  # the lease ran out; another worker took it
    upstream.add_accounts([opened(invitation.invitee_phone, "app")])
    account = HttpAccountOpeningClient().lookup(invitation.invitee_phone)

    assert record_lookup(stale, account) == "lost_lease"
    invitation.refresh_from_db()
    assert (invitation.status, invitation.lease_token) == ("pending", fresh.token)


def test_every_cycle_leaves_a_heartbeat(upstream):
    poll_invitations()
    poll_invitations()
    assert PollCycle.objects.filter(finished_at__isnull=False).count() == 2


def test_the_claim_reads_the_due_index():
    # given a table with statistics, as in production (on an empty table every index ties):
    # 3,000 invitations, a tenth pending with checks spread over the next day
    campaign, inviter = CampaignFactory(), CustomerFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO invitations_invitation (campaign_id, inviter_id, invitee_phone, channel,
                   status, rejection_reason, invited_at, qualify_by, next_check_at, attempts,
                   last_error, account_channel)
               SELECT %s, %s, '158' || lpad(g::text, 8, '0'), 'link',
                      CASE WHEN g %% 10 = 0 THEN 'pending' ELSE 'expired' END, '', now(),
                      now() + interval '30 days', now() + g * interval '30 seconds', 0, '', ''
               FROM generate_series(1, 3000) g""",
            [campaign.pk, inviter.pk],
        )
        cursor.execute("ANALYZE invitations_invitation")
    # when the poller's own claim query is explained
    with transaction.atomic():
        plan = due_invitations_for_update(Now(), 50).explain()
    # then it walks the partial index in order, not another index of pending rows
    assert "invitation_due_by_priority" in plan


def test_staff_find_invitations_the_upstream_keeps_failing_on(upstream, admin_client):
    stuck = InvitationFactory()
    fine = InvitationFactory()
    upstream.inject(stuck.invitee_phone, "error500", times=5)
    poll_invitations()
    page = admin_client.get(
        "/admin/invitations/invitation/", {"upstream_error": "yes"}
    ).content.decode()
    assert f'href="/admin/invitations/invitation/{stuck.pk}/change/' in page
    assert "upstream error HTTP 500" in page  # the reason, on the list itself
    assert f'href="/admin/invitations/invitation/{fine.pk}/change/' not in page


def test_an_account_already_counted_is_recorded_on_a_later_invitation_without_a_retry_loop(
    upstream,
):
    # given an account that qualified one invitation, then shows up on another, opened too late
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 2)
    counted = InvitationFactory(campaign=campaign, invitee_phone="15900000001")
    upstream.add_accounts([opened("15900000001", "app", account_id="SAME")])
    poll_invitations()
    late = InvitationFactory(
        campaign=campaign,
        invitee_phone="15900000002",
        qualify_by=timezone.now() - timedelta(days=1),
    )
    upstream.add_accounts([opened("15900000002", "app", account_id="SAME")])
    # when it is polled
    cycle = poll_invitations()
    # then it is decided once, keeping the account id for the record
    late.refresh_from_db()
    counted.refresh_from_db()
    assert (cycle.errors, counted.status, late.status, late.external_account_id) == (
        0,
        "qualified",
        "expired",
        "SAME",
    )


def test_a_grant_that_fails_rolls_the_qualification_back(upstream, monkeypatch):
    """The hand-off to rewards is a signal sent inside the qualifying transaction: a receiver
    that raises leaves the invitation pending (looked up again later), never qualified without a
    grant."""
    from rewards import receivers

    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 1)
    invitation = InvitationFactory(campaign=campaign)
    upstream.add_accounts([opened(invitation.invitee_phone, "app")])

    def broken_grant(invitation):
        raise RuntimeError("the grant failed")

    monkeypatch.setattr(receivers, "grant_reward", broken_grant)
    cycle = poll_invitations()

    invitation.refresh_from_db()
    assert (cycle.qualified, cycle.errors) == (0, 1)
    assert (invitation.status, invitation.external_account_id) == ("pending", None)
    assert "the grant failed" in invitation.last_error
    monkeypatch.undo()
    invitation.next_check_at = timezone.now()
    invitation.save(update_fields=["next_check_at"])
    poll_invitations()
    invitation.refresh_from_db()
    assert invitation.status == "qualified" and Grant.objects.get(invitation=invitation)
