"""The review desk in the admin: campaign pause/resume with a reason and a permission, and the
anomaly queue."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse
from django.utils.translation import gettext as _

from cardpool.models import CardKind
from invitations.models import Campaign, CampaignEvent
from rewards.models import Anomaly, UnrewardedInvitation
from rewards.services.detection import detect_anomalies
from tests.factories import CampaignFactory, CardKindFactory, make_cards

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    """Log in as a member of a staff group."""
    call_command("setup_groups")

    def login(group: str) -> User:
        user = User.objects.create_user(
            group.lower().replace(" ", "_"), password="x", is_staff=True
        )
        user.groups.add(Group.objects.get(name=group))
        client.force_login(user)
        return user

    return login


def pause(client, campaign: Campaign, **form):
    return client.post(
        reverse("admin:invitations_campaign_changelist"),
        {"action": "pause", "_selected_action": [campaign.pk], **form},
    )


def test_a_reviewer_pauses_a_campaign_with_a_reason_and_the_event_is_recorded(client, staff):
    reviewer = staff("Reviewers")
    campaign = CampaignFactory()

    asked = pause(client, campaign)
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    refused = pause(client, campaign, apply="1", reason="  ")
    assert refused.status_code == 200  # asked again: a reason is required
    campaign.refresh_from_db()
    assert not campaign.is_paused

    pause(client, campaign, apply="1", reason="spike of grants from one inviter")
    campaign.refresh_from_db()
    [event] = CampaignEvent.objects.all()
    assert campaign.is_paused
    assert (event.action, event.actor, event.reason) == (
        "paused",
        reviewer,
        "spike of grants from one inviter",
    )


@pytest.mark.parametrize("group", ["Auditors", "Card managers"])
def test_auditors_and_card_managers_cannot_pause_a_campaign(client, staff, group):
    staff(group)
    campaign = CampaignFactory()
    response = pause(client, campaign, apply="1", reason="because")
    campaign.refresh_from_db()
    assert response.status_code == 403 and not campaign.is_paused
    assert not CampaignEvent.objects.exists()


def test_the_anomaly_queue_shows_active_ones_most_severe_first_linked_to_their_subject(
    client, staff
):
    staff("Auditors")
    campaign = CampaignFactory(card_kind__low_stock_threshold=10)
    make_cards(campaign.card_kind, 1)
    detect_anomalies()
    closed = Anomaly.objects.create(
        kind="low_stock", subject="cardkind:0", severity="warning", status="resolved", message="old"
    )

    page = client.get(reverse("admin:rewards_anomaly_changelist")).content.decode()

    kind_url = reverse("admin:cardpool_cardkind_change", args=[campaign.card_kind.pk])
    assert f'href="{kind_url}"' in page
    assert f"/admin/rewards/anomaly/{closed.pk}/change/" not in page


def test_the_admin_index_is_a_dashboard_of_what_needs_a_person(client, staff):
    from invitations.models import PollCycle
    from rewards.services import grant_reward
    from tests.factories import qualified_invitation

    staff("Auditors")
    campaign = CampaignFactory(is_flagged_for_review=True, card_kind__low_stock_threshold=10)
    make_cards(campaign.card_kind, 1)
    grant_reward(qualified_invitation(campaign=campaign))  # held for review
    detect_anomalies()  # low stock: a warning; no poll cycle yet, nothing pending

    page = client.get(reverse("admin:index")).content.decode()

    assert 'id="review-desk"' in page
    assert '?status__exact=held">1</a>' in page
    assert f"1 {_('warning')}</a>" in page and f"0 {_('critical')}</a>" in page
    assert _("never run") in page  # no reconciliation yet
    assert campaign.card_kind.code in page
    PollCycle.objects.create(worker="w")
    assert "stalled" not in client.get(reverse("admin:index")).content.decode()


def test_staff_without_a_view_permission_see_no_figures(client):
    user = User.objects.create_user("nobody", password="x", is_staff=True)
    client.force_login(user)
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="review-desk"' not in page


def test_the_anomaly_queue_reads_its_subjects_without_a_query_per_row(
    client, staff, django_assert_max_num_queries
):
    staff("Reviewers")
    for threshold in range(5):  # five kinds, each under its threshold: five anomalies
        kind_campaign = CampaignFactory(
            card_kind__code=f"K{threshold}", card_kind__low_stock_threshold=10
        )
        make_cards(kind_campaign.card_kind, 1)
    detect_anomalies()
    assert Anomaly.objects.count() >= 5
    with django_assert_max_num_queries(12):
        page = client.get(reverse("admin:rewards_anomaly_changelist")).content.decode()
    assert page.count(f"{_('card kind')}: K") == 5


# --- every action of every model admin, as each staff group --------------------------------


@pytest.fixture
def one_of_everything():
    """One row for each model that has admin actions: a card, a grant (its inviter, campaign),
    an anomaly."""
    from rewards.services import grant_reward
    from tests.factories import qualified_invitation

    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 3)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    Anomaly.objects.create(kind="low_stock", subject="x", severity="warning", message="m")
    grant_reward(qualified_invitation(campaign=CampaignFactory(budget=0)))  # over the budget
    return grant


def admin_actions():
    from django.contrib import admin

    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ("cardpool", "invitations", "notifications", "rewards"):
            continue  # django-q2's own admin: staff groups cannot open it at all
        for name in model_admin.actions or []:
            action = name if isinstance(name, str) else name.__name__
            if action != "delete_selected":
                yield model, action


@pytest.mark.parametrize("group", ["Card managers", "Reviewers", "Auditors"])
def test_every_admin_action_is_refused_to_a_group_without_its_permission(
    client, staff, one_of_everything, group
):
    user = staff(group)
    checked = 0
    for model, action in admin_actions():
        opts = model._meta
        obj = model.objects.order_by("pk").first()
        assert obj is not None, f"no {opts.model_name} to act on"
        response = client.post(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            {"action": action, "_selected_action": [obj.pk], "apply": "1", "reason": "walk"},
        )
        allowed = user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
        assert (response.status_code != 403) == allowed, (group, opts.model_name, action)
        checked += 1
    # cards 1, batches 1, kinds 2, grants 6, anomalies 3, campaigns 4, customers 2
    assert checked >= 19


def test_a_reported_card_anomaly_offers_the_reissue_and_the_review_actions(client, staff):
    from rewards.services import grant_reward, report_card_problem
    from tests.factories import qualified_invitation

    staff("Reviewers")
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 2)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    anomaly = report_card_problem(grant, grant.inviter, "already activated")

    page = client.get(reverse("admin:rewards_anomaly_change", args=[anomaly.pk])).content.decode()

    assert f"?q={grant.grant_no}" in page and _("Reissue selected grants with a new card") in page
    assert 'name="action" value="acknowledge"' in page
    asked = client.post(
        reverse("admin:rewards_anomaly_changelist"),
        {"action": "acknowledge", "_selected_action": [anomaly.pk]},
    )
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()


def _count_events() -> int:
    from cardpool.models import CardEvent, CardKindEvent
    from invitations.models import CustomerEvent
    from notifications.models import MessageEvent
    from rewards.models import AnomalyEvent, GrantEvent

    return sum(
        model.objects.count()
        for model in (
            CardEvent,
            CardKindEvent,
            CampaignEvent,
            CustomerEvent,
            GrantEvent,
            AnomalyEvent,
            MessageEvent,
        )
    )


def _states():
    """For each admin action, an object in a state the action applies to."""
    from cardpool.models import Card
    from invitations.services.campaigns import set_campaign_flagged, set_customer_flagged
    from rewards.services import grant_reward, void_grant
    from tests.factories import qualified_invitation

    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 5)
    issued = grant_reward(qualified_invitation(campaign=campaign))
    flagged = CampaignFactory(is_flagged_for_review=True)
    held = grant_reward(qualified_invitation(campaign=flagged))
    anomaly = Anomaly.objects.create(
        kind="low_stock", subject=f"s{Anomaly.objects.count()}", severity="warning", message="m"
    )
    paused = CampaignFactory(is_paused=True)
    set_campaign_flagged(paused, is_flagged=True, reason="setup")
    set_customer_flagged(held.inviter, is_flagged=True, reason="setup")
    voided = grant_reward(qualified_invitation(campaign=campaign))
    void_grant(voided, reason="setup", actor=None)
    available = Card.objects.filter(status="available").first()
    unused = CardKindFactory(code="UNUSED", face_value=Decimal("30.00"))
    switched_off = CardKindFactory(code="OFF", face_value=Decimal("30.00"))
    CardKind.objects.filter(pk=unused.pk).update(is_active=True)  # whatever an action did before
    CardKind.objects.filter(pk=switched_off.pk).update(is_active=False)
    from notifications.models import Message

    short = CampaignFactory(budget=0)
    make_cards(short.card_kind, 1)
    grant_reward(qualified_invitation(campaign=short))  # recorded over the budget
    Campaign.objects.filter(pk=short.pk).update(budget=1000)  # then raised
    dead = Message.objects.filter(recipient=issued.inviter.user).first()
    Message.objects.filter(pk=dead.pk).update(status=Message.Status.DEAD)
    return {
        ("message", "retry_selected"): dead,
        ("unrewardedinvitation", "grant_over_budget"): UnrewardedInvitation.objects.get(
            invitation__campaign=short
        ),
        ("cardbatch", "withdraw"): available.batch,
        ("cardkind", "switch_off"): unused,
        ("cardkind", "switch_on"): switched_off,
        ("grant", "replace_in_kind_selected"): issued,
        ("card", "void_selected"): available,
        ("grant", "void_selected"): issued,
        ("grant", "reissue_selected"): issued,
        ("grant", "release_selected"): held,
        ("grant", "reject_selected"): held,
        ("grant", "grant_again_selected"): voided,
        ("anomaly", "acknowledge"): anomaly,
        ("anomaly", "resolve"): anomaly,
        ("anomaly", "false_positive"): anomaly,
        ("campaign", "pause"): campaign,
        ("campaign", "resume"): paused,
        ("campaign", "flag"): campaign,
        ("campaign", "unflag"): paused,
        ("customer", "flag"): issued.inviter,
        ("customer", "unflag"): held.inviter,
    }


def test_every_admin_action_writes_an_event(admin_client):
    actions = set(_states())
    assert actions == {(model._meta.model_name, action) for model, action in admin_actions()}
    for model_name, action in sorted(actions):
        # fresh objects for each action (the actions are durable use cases: no savepoint to
        # roll one back), so each finds the state it applies to
        obj = _states()[(model_name, action)]
        opts = obj._meta
        before = _count_events()
        response = admin_client.post(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            {
                "action": action,
                "_selected_action": [obj.pk],
                "apply": "1",
                "reason": "why",
                "card_kind": CardKind.objects.get(code="UNUSED").pk,  # for a replacement
            },
        )
        assert response.status_code == 302, (model_name, action)
        assert _count_events() > before, (model_name, action)


@pytest.mark.django_db(transaction=True)  # the desk's own transaction, as in a web process
def test_the_desks_counts_are_planned_for_their_own_values():
    """Prepared statements may get a plan made for any value, which cannot use the partial
    indexes the desk's counts need (87 ms instead of 1 ms at a million invitations): the desk's
    statements are planned for theirs, whatever the connection's setting."""
    from django.db import connection
    from django.utils import timezone

    from rewards.selectors import review_desk

    modes = []

    def note_mode(execute, sql, params, many, context):
        if sql.startswith("SELECT COUNT(*) FROM (SELECT"):
            with connection.cursor() as cursor:
                cursor.execute("SHOW plan_cache_mode")
                modes.append(cursor.fetchone()[0])
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
    try:
        with connection.execute_wrapper(note_mode):
            review_desk(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute("SHOW plan_cache_mode")
            after = cursor.fetchone()[0]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET plan_cache_mode")
    assert len(modes) >= 8 and set(modes) == {"force_custom_plan"}, modes
    assert after == "force_generic_plan"  # for the desk's transaction only
