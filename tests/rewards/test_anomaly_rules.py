"""Each anomaly rule sees its condition, once per subject however often it runs.

The "cannot happen" conditions are made the way a careless superuser would: raw SQL, dropping the
constraint that stands in the way first. These tests run inside a transaction that is rolled back
(PostgreSQL's DDL is transactional), so the dropped constraint is back for the next test.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from cardpool.models import Card
from core.clock import database_now
from invitations.models import Invitation, PollCycle
from notifications.services import deliver_messages
from rewards.anomalies.invariants import (
    card_changed_without_event as card_changed_without_event_rule,
)
from rewards.models import Anomaly, AnomalyRule, Grant
from rewards.services import grant_reward, void_grant
from rewards.services.detection import detect_anomalies
from tests.factories import (
    CampaignFactory,
    CustomerFactory,
    InvitationFactory,
    UserFactory,
    insert_grant_again,
    make_cards,
    qualified_invitation,
)

pytestmark = pytest.mark.django_db


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def drop_unique(table: str, column: str) -> None:
    """Drop every unique constraint and unique index on ``table`` covering ``column``."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending FK checks
        cursor.execute(
            """SELECT i.relname, c.conname FROM pg_index x
               JOIN pg_class i ON i.oid = x.indexrelid
               LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid
               JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey)
               WHERE x.indrelid = %s::regclass AND x.indisunique AND a.attname = %s""",
            [table, column],
        )
        for index, constraint in cursor.fetchall():
            if constraint:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
            else:
                cursor.execute(f'DROP INDEX "{index}"')


def issued_grants(count: int, *, inviter=None, campaign=None, **campaign_fields) -> list[Grant]:
    campaign = campaign or CampaignFactory(**campaign_fields)
    make_cards(campaign.card_kind, count)
    inviter = inviter or CustomerFactory()
    return [
        grant_reward(qualified_invitation(campaign=campaign, inviter=inviter)) for _ in range(count)
    ]


# --- one setup per rule: the condition, made as it would happen -----------------------------


def card_in_two_grants():
    first, second = issued_grants(2)
    drop_unique("rewards_grant", "card_id")
    sql("UPDATE rewards_grant SET card_id = %s WHERE id = %s", [first.card_id, second.pk])


def invitation_two_live_grants():
    first, second = issued_grants(2)
    drop_unique("rewards_grant", "invitation_id")
    sql(
        "UPDATE rewards_grant SET invitation_id = %s WHERE id = %s",
        [first.invitation_id, second.pk],
    )


def inviter_over_cap():
    """A second grant written while the cap in force was 1 (what the cap check refuses)."""
    [_, second] = issued_grants(2)
    sql("UPDATE rewards_grant SET cap = 1 WHERE id = %s", [second.pk])


def bypass_append_only(table: str) -> None:
    """What a superuser could do: switch the table's append-only trigger off."""
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending FK checks
    sql(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")


def ledger_mismatch():
    [grant] = issued_grants(1)
    ledger_mismatch_on(grant)


def assigned_card_without_grant():
    campaign = CampaignFactory()
    [card] = make_cards(campaign.card_kind, 1)
    sql(
        "UPDATE cardpool_card SET status = 'assigned', assigned_at = now() WHERE id = %s", [card.pk]
    )


def grant_card_not_assigned():
    [grant] = issued_grants(1)
    # the incident's "fix": a used card marked free again, its trigger switched off first
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending FK checks
    sql("ALTER TABLE cardpool_card DISABLE TRIGGER cardpool_card_status_forward")
    sql(
        "UPDATE cardpool_card SET status = 'available', assigned_at = NULL WHERE id = %s",
        [grant.card_id],
    )


def account_counted_twice():
    campaign = CampaignFactory()
    first = qualified_invitation(campaign=campaign, external_account_id="SAME")
    second = qualified_invitation(campaign=campaign)
    drop_unique("invitations_invitation", "external_account_id")
    sql("UPDATE invitations_invitation SET external_account_id = 'SAME' WHERE id = %s", [second.pk])
    assert first.pk != second.pk


def existing_customer_rewarded():
    [grant] = issued_grants(1)
    sql(
        "UPDATE invitations_invitation SET account_opened_at = invited_at - interval '1 day' "
        "WHERE id = %s",
        [grant.invitation_id],
    )


def card_secret_in_clear():
    campaign = CampaignFactory()
    [card] = make_cards(campaign.card_kind, 1)
    sql("UPDATE cardpool_card SET password_encrypted = 'PW-1234-XK0001' WHERE id = %s", [card.pk])


def grant_number_reused():
    first, second = issued_grants(2)
    drop_unique("rewards_grant", "grant_no")
    sql("UPDATE rewards_grant SET grant_no = %s WHERE id = %s", [first.grant_no, second.pk])


def card_changed_without_event():
    campaign = CampaignFactory()
    [card] = make_cards(campaign.card_kind, 1)
    sql("UPDATE cardpool_card SET status = 'void' WHERE id = %s", [card.pk])


def history_unprotected():
    bypass_append_only("rewards_grantevent")


def grant_after_void():
    """The old sweep: a grant made again after a person's void, its unique index dropped."""
    [grant] = issued_grants(1)
    void_grant(grant, reason="fraud", actor=None)
    drop_unique("rewards_grant", "invitation_id")
    insert_grant_again(grant)


def low_stock():
    campaign = CampaignFactory(card_kind__low_stock_threshold=10)
    make_cards(campaign.card_kind, 3)


def out_of_stock():
    campaign = CampaignFactory(card_kind__code="EMPTY50", card_kind__low_stock_threshold=0)
    assert grant_reward(qualified_invitation(campaign=campaign)).status == "pending_stock"


def cards_expiring():
    campaign = CampaignFactory(card_kind__low_stock_threshold=0)
    make_cards(campaign.card_kind, 2, valid_days=3)


def stock_days_left():
    issued_grants(7)  # a card a day in the last week; make_cards left no spare card


def inviter_daily_qualifications(settings):
    settings.ANOMALY_THRESHOLDS = {
        **settings.ANOMALY_THRESHOLDS,
        "max_qualifications_per_inviter_per_day": 2,
    }
    campaign, inviter = CampaignFactory(), CustomerFactory()
    for _ in range(3):
        qualified_invitation(campaign=campaign, inviter=inviter, decided_at=timezone.now())


def grant_rate_spike(settings):
    settings.ANOMALY_THRESHOLDS = {**settings.ANOMALY_THRESHOLDS, "grant_spike_min": 3}
    issued_grants(4)


def channel_burst(settings):
    settings.ANOMALY_THRESHOLDS = {**settings.ANOMALY_THRESHOLDS, "channel_burst_count": 3}
    campaign, inviter, now = CampaignFactory(), CustomerFactory(), timezone.now()
    for minute in (0, 2, 4):
        qualified_invitation(
            campaign=campaign,
            inviter=inviter,
            account_channel="h5",
            account_opened_at=now - timedelta(minutes=minute),
            decided_at=now,
        )


def poller_stalled():
    InvitationFactory()
    PollCycle.objects.create(worker="w")
    PollCycle.objects.update(started_at=timezone.now() - timedelta(hours=1))


def upstream_error_rate():
    PollCycle.objects.create(worker="w", claimed=20, errors=10)


def pending_past_window():
    InvitationFactory(qualify_by=timezone.now() - timedelta(days=2))


def grants_waiting():
    campaign = CampaignFactory(is_flagged_for_review=True)
    grant = grant_reward(qualified_invitation(campaign=campaign))
    assert grant.status == "held"
    Grant.objects.filter(pk=grant.pk).update(created_at=timezone.now() - timedelta(days=2))


def messages_stuck():
    from notifications.services import Notice, notify

    [message] = notify([Notice(UserFactory().pk, "reward_issued", {"card": "JD"}, "13900000000")])
    type(message).objects.update(next_attempt_at=timezone.now() - timedelta(hours=1))


def _budgeted_grants(budget: int, grants: int) -> None:
    """20-yuan cards, no points: ``grants`` rewards spend ``20 x grants`` of ``budget``."""
    campaign = CampaignFactory(points=0, budget=budget)
    make_cards(campaign.card_kind, grants)
    for _ in range(grants):
        grant_reward(qualified_invitation(campaign=campaign))


def budget_nearly_spent():
    _budgeted_grants(100, 4)  # 80%, and a fifth still fits


def budget_spent():
    _budgeted_grants(20, 1)  # the next no longer fits


SETUPS = {
    AnomalyRule.CARD_IN_TWO_GRANTS: card_in_two_grants,
    AnomalyRule.INVITATION_TWO_LIVE_GRANTS: invitation_two_live_grants,
    AnomalyRule.INVITER_OVER_CAP: inviter_over_cap,
    AnomalyRule.LEDGER_MISMATCH: ledger_mismatch,
    AnomalyRule.ASSIGNED_CARD_WITHOUT_GRANT: assigned_card_without_grant,
    AnomalyRule.GRANT_CARD_NOT_ASSIGNED: grant_card_not_assigned,
    AnomalyRule.ACCOUNT_COUNTED_TWICE: account_counted_twice,
    AnomalyRule.EXISTING_CUSTOMER_REWARDED: existing_customer_rewarded,
    AnomalyRule.CARD_SECRET_IN_CLEAR: card_secret_in_clear,
    AnomalyRule.GRANT_NUMBER_REUSED: grant_number_reused,
    AnomalyRule.CARD_CHANGED_WITHOUT_EVENT: card_changed_without_event,
    AnomalyRule.HISTORY_UNPROTECTED: history_unprotected,
    AnomalyRule.GRANT_AFTER_VOID: grant_after_void,
    AnomalyRule.LOW_STOCK: low_stock,
    AnomalyRule.OUT_OF_STOCK: out_of_stock,
    AnomalyRule.CARDS_EXPIRING: cards_expiring,
    AnomalyRule.STOCK_DAYS_LEFT: stock_days_left,
    AnomalyRule.INVITER_QUALIFICATIONS_PER_DAY: inviter_daily_qualifications,
    AnomalyRule.GRANT_RATE_SPIKE: grant_rate_spike,
    AnomalyRule.CHANNEL_BURST: channel_burst,
    AnomalyRule.POLLER_STALLED: poller_stalled,
    AnomalyRule.UPSTREAM_ERROR_RATE: upstream_error_rate,
    AnomalyRule.PENDING_PAST_WINDOW: pending_past_window,
    AnomalyRule.GRANTS_WAITING: grants_waiting,
    AnomalyRule.MESSAGES_STUCK: messages_stuck,
    AnomalyRule.BUDGET_NEARLY_SPENT: budget_nearly_spent,
    AnomalyRule.BUDGET_SPENT: budget_spent,
}


def test_every_rule_has_a_test():
    from rewards.anomalies.rules import RULES

    assert {rule.code for rule in RULES} == set(SETUPS)


def active(rule: str) -> list[Anomaly]:
    return list(Anomaly.objects.filter(kind=rule, status__in=Anomaly.ACTIVE))


@pytest.mark.parametrize("rule", list(SETUPS), ids=str)
def test_a_rule_sees_its_condition_once_however_often_it_runs(rule, settings):
    # given nothing wrong, the rule finds nothing
    detect_anomalies()
    assert active(rule) == []
    # when its condition is made, and detection runs twice
    setup = SETUPS[rule]
    setup(settings) if setup.__code__.co_argcount else setup()
    detect_anomalies()
    detect_anomalies()
    # then exactly one anomaly is active for it, seen on both runs, linked to its subject
    [anomaly] = active(rule)
    assert anomaly.occurrences >= 2
    assert anomaly.message
    if anomaly.subject_type_id:
        assert anomaly.subject_object is not None


def test_a_state_gone_is_said_cleared_warning_or_critical_and_closes_only_if_it_stays_so():
    low_stock()
    out_of_stock()
    detect_anomalies()
    [warning], [critical] = active(AnomalyRule.LOW_STOCK), active(AnomalyRule.OUT_OF_STOCK)
    # the conditions go away: thresholds lowered, cards imported and the grant fulfilled
    sql("UPDATE cardpool_cardkind SET low_stock_threshold = 0")
    from rewards.services import fulfil_pending_grants

    make_cards(critical.subject_object, 5)
    fulfil_pending_grants()
    run = detect_anomalies()

    warning.refresh_from_db()
    critical.refresh_from_db()
    assert (warning.status, critical.status) == ("open", "open")
    assert warning.cleared_at is not None and critical.cleared_at is not None
    assert not warning.events.exists() and not critical.events.exists()
    assert run.cleared >= 2 and run.closed == 0


def test_a_signal_gone_closes_itself_a_breach_waits_for_a_person():
    low_stock()
    detect_anomalies()
    signal = Anomaly.objects.create(
        kind=AnomalyRule.CHANNEL_BURST, subject="burst", severity="warning", message="m"
    )
    breach = Anomaly.objects.create(
        kind=AnomalyRule.CARD_IN_TWO_GRANTS, subject="card:1", severity="critical", message="m"
    )

    detect_anomalies()

    signal.refresh_from_db()
    breach.refresh_from_db()
    assert (signal.status, breach.status) == ("resolved", "open")
    [closed] = signal.events.all()
    assert (closed.action, closed.actor_label) == ("closed_automatically", "anomaly detection")
    assert not breach.events.exists() and breach.cleared_at is None


def test_an_acknowledged_anomaly_is_not_opened_twice(admin_user):
    from rewards.services.anomalies import review_anomaly

    low_stock()
    detect_anomalies()
    [anomaly] = active(AnomalyRule.LOW_STOCK)
    review_anomaly(anomaly, status="acknowledged", note="ordering cards", actor=admin_user)
    detect_anomalies()
    [again] = active(AnomalyRule.LOW_STOCK)
    assert (again.pk, again.status, again.occurrences) == (anomaly.pk, "acknowledged", 2)
    [event] = again.events.all()
    assert (event.action, event.actor, event.reason) == (
        "acknowledged",
        admin_user,
        "ordering cards",
    )


def test_a_critical_finding_about_a_campaign_pauses_it_with_the_anomaly_as_reason():
    inviter_over_cap()
    run = detect_anomalies()
    [anomaly] = active(AnomalyRule.INVITER_OVER_CAP)
    campaign = anomaly.campaign
    assert campaign.is_paused and run.paused_campaigns == [campaign.pk]
    [event] = campaign.events.all()
    assert (event.action, event.actor_label) == ("paused", "anomaly detection")
    assert f"anomaly #{anomaly.pk}" in event.reason
    assert anomaly.events.get().action == "campaign_paused"
    # a grant attempt afterwards is held, not paid
    make_cards(campaign.card_kind, 1)
    assert grant_reward(qualified_invitation(campaign=campaign)).status == "held"


def test_warnings_never_pause_a_campaign():
    grants_waiting()
    detect_anomalies()
    assert not Invitation.objects.filter(campaign__is_paused=True).exists()


def test_end_to_end_a_deleted_points_entry_is_caught_paused_emailed_and_reconciled(
    settings, mailoutbox
):
    from django.core.management import call_command

    settings.ANOMALY_EMAIL_RECIPIENTS = ["reviewers@example.com"]
    # given a customer rewarded in a campaign, whose points entry is deleted by raw SQL
    [grant] = issued_grants(1)
    ledger_mismatch_on(grant)
    # when detection runs (twice: the schedule keeps running)
    with pytest.raises(SystemExit) as detected:
        call_command("detect_anomalies")
    detect_anomalies()
    deliver_messages(max_seconds=10)  # the cluster's delivery of the outbox
    # then one critical ledger anomaly, the campaign paused, one email
    assert detected.value.code == 1
    [anomaly] = active(AnomalyRule.LEDGER_MISMATCH)
    assert anomaly.severity == "critical" and anomaly.subject_object == grant.inviter
    grant.campaign.refresh_from_db()
    assert grant.campaign.is_paused
    link = f"/admin/rewards/anomaly/{anomaly.pk}/change/"
    [email] = [email for email in mailoutbox if link in email.body]  # once, not per run
    # in the staff's language (Chinese unless LANGUAGE_CODE says otherwise)
    expected = f"{gettext('Critical')}：{gettext('points ledger differs from issued grants')}"
    assert expected in email.subject and email.to == ["reviewers@example.com"]
    # and reconcile fails, naming the customer
    with pytest.raises(SystemExit) as reconciled:
        call_command("reconcile")
    assert reconciled.value.code == 1
    from rewards.models import ReconciliationRun

    run = ReconciliationRun.objects.get()
    assert not run.is_ok and run.breaches == 1
    assert (
        run.report["breaches"][0]["subject"]
        == f"customer:{grant.inviter_id}@campaign:{grant.campaign_id}"
    )
    # and a grant attempt afterwards is held
    make_cards(grant.campaign.card_kind, 1)
    later = grant_reward(qualified_invitation(campaign=grant.campaign, inviter=grant.inviter))
    assert later.status == "held"


def ledger_mismatch_on(grant: Grant) -> None:
    bypass_append_only("rewards_pointsentry")
    sql("DELETE FROM rewards_pointsentry WHERE grant_id = %s", [grant.pk])
    sql("ALTER TABLE rewards_pointsentry ENABLE TRIGGER rewards_pointsentry_append_only")


def test_reconcile_passes_on_healthy_books_and_reports_the_counts(capsys):
    from django.core.management import call_command

    issued_grants(2, points=30)
    call_command("reconcile", "--json")
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["breaches"] == []
    assert report["counts"]["grants_by_status"] == {"issued": 2}
    assert report["counts"]["points"] == {"reward": 60, "balance": 60}
    assert report["counts"]["inviters_against_cap"] == {"under_cap": 1}


def test_reconcile_refuses_an_unknown_campaign():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No campaign with id 999999"):
        call_command("reconcile", "--campaign", "999999")


def test_detect_anomalies_exits_0_without_a_critical_anomaly(capsys):
    from django.core.management import call_command

    low_stock()
    call_command("detect_anomalies")  # no SystemExit: exit status 0
    assert "low_stock" in capsys.readouterr().out


def test_a_mass_breach_records_the_first_findings_and_closes_nothing(settings):
    settings.ANOMALY_MAX_FINDINGS_PER_RULE = 2
    campaign = CampaignFactory()
    cards = make_cards(campaign.card_kind, 5)
    sql(
        "UPDATE cardpool_card SET status = 'void' WHERE id = ANY(%s)",
        [[card.pk for card in cards]],
    )
    run = detect_anomalies()
    assert len(active(AnomalyRule.CARD_CHANGED_WITHOUT_EVENT)) == 2
    assert AnomalyRule.CARD_CHANGED_WITHOUT_EVENT in run.truncated_rules


def test_the_rules_sql_names_tables_and_statuses_from_the_models():
    """A table renamed or a status dropped from its enum breaks the rules' import, never a rule
    that silently stops matching."""
    from rewards.anomalies.registry import sql

    assert (
        sql("FROM {grant} WHERE status <> {grant.void}")
        == "FROM rewards_grant WHERE status <> 'void'"
    )
    with pytest.raises(AttributeError, match="no choice 'cancelled'"):
        sql("WHERE status = {grant.cancelled}")


@pytest.mark.parametrize(
    "status", [status for status in Card.Status.values if status != Card.Status.AVAILABLE]
)
def test_a_card_put_in_any_other_status_by_hand_is_found(status):
    campaign = CampaignFactory()
    [card] = make_cards(campaign.card_kind, 1)
    sql(
        "UPDATE cardpool_card SET status = %s, assigned_at = now() WHERE id = %s",
        [status, card.pk],
    )
    found = card_changed_without_event_rule.find(database_now())
    assert [finding.subject for finding in found] == [f"card:{card.pk}"]


@pytest.mark.parametrize(
    ("statement", "index"),
    [
        ("UNENCRYPTED_CARDS_SQL", "card_secret_not_a_token"),
        ("EXISTING_CUSTOMER_REWARDED_SQL", "invitation_opened_before"),
    ],
)
def test_an_invariant_that_holds_is_checked_by_reading_an_empty_index(statement, index):
    # The index holds only the rows that break the invariant; the rule's statement must be
    # one the planner can answer from it (its condition implies the index's), or the rule
    # reads the whole table again.
    from rewards.anomalies import invariants

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + getattr(invariants, statement), {})  # as fetch() runs it
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
