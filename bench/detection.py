"""6. Anomaly detection: one full run of every rule over a large database (target: under 2 s with
1,000,000 cards, 1,000,000 invitations and 100,000 grants). Baseline: reading each of the three
tables once (``count(*)``), measured in the same run."""

import time
from datetime import timedelta

from django.db import connection

from invitations.models import Campaign
from rewards.anomalies import invariants, pipeline, rules
from rewards.services.detection import detect_anomalies

from . import fixtures
from .common import execute, median

# The statements of the slowest rules, for their plans (the rules' own SQL).
EXPLAINED = {
    "ledger_mismatch": (invariants.LEDGER_MISMATCH_SQL, {}),
    "assigned_card_without_grant": (invariants.ASSIGNED_CARD_WITHOUT_GRANT_SQL, {}),
    "pending_past_window": (
        pipeline.PENDING_PAST_WINDOW_SQL,
        {"sample": pipeline.SAMPLE, "before": None},  # set to a day ago when run
    ),
}
BASELINE = (
    "SELECT (SELECT count(*) FROM cardpool_card), (SELECT count(*) FROM invitations_invitation),"
    " (SELECT count(*) FROM rewards_grant)"
)


def _populate(cards: int, invitations: int, grants: int) -> Campaign:
    kind = fixtures.card_kind("AD")
    campaign = fixtures.campaign(kind)
    execute("SET synchronous_commit = off")
    fixtures.cards(kind, cards)
    fixtures.customers(1000, "444")
    execute(
        """
        INSERT INTO invitations_invitation (campaign_id, inviter_id, invitee_phone, channel, status,
            rejection_reason, invited_at, qualify_by, external_account_id, account_opened_at,
            account_channel, next_check_at, attempts, last_error, decided_at)
        SELECT %s, c.id, '170' || lpad(g::text, 8, '0'), 'link',
               CASE WHEN g <= %s THEN 'qualified' ELSE 'pending' END, '',
               now() - interval '10 days', now() + interval '20 days',
               CASE WHEN g <= %s THEN 'ADACC' || g END,
               CASE WHEN g <= %s THEN now() - (g %% 200) * interval '1 hour' - interval '1 hour' END,
               CASE WHEN g <= %s THEN 'app' ELSE '' END,
               now() + interval '1 hour', 1, '',
               CASE WHEN g <= %s THEN now() - (g %% 200) * interval '1 hour' END
        FROM generate_series(1, %s) g
        JOIN invitations_customer c ON c.phone = '1444' || lpad((1 + g %% 1000)::text, 7, '0')
        """,
        [campaign.pk, grants, grants, grants, grants, grants, invitations],
    )
    execute(
        """
        WITH picked AS (
            SELECT id, row_number() OVER (ORDER BY id) n FROM cardpool_card
            WHERE kind_id = %s ORDER BY id LIMIT %s
        ), qualified AS (
            SELECT id, inviter_id, decided_at, row_number() OVER (ORDER BY id) n
            FROM invitations_invitation WHERE campaign_id = %s AND status = 'qualified'
        )
        INSERT INTO rewards_grant (grant_no, invitation_id, inviter_id, campaign_id, card_id, card_kind_id,
                                   face_value, points, cap, status, origin, hold_reason, created_at, issued_at, void_reason)
        SELECT 'AD' || lpad(q.n::text, 11, '0'), q.id, q.inviter_id, %s, p.id, %s,
               (SELECT face_value FROM cardpool_cardkind WHERE id = %s), 10,
               (SELECT max_rewards_per_inviter FROM invitations_campaign WHERE id = %s), 'issued', 'automatic', '',
               q.decided_at, q.decided_at, ''
        FROM qualified q JOIN picked p ON p.n = q.n
        """,
        [kind.pk, grants, campaign.pk, campaign.pk, kind.pk, kind.pk, campaign.pk],
    )
    execute(
        "UPDATE cardpool_card SET status = 'assigned', assigned_at = now() "
        "WHERE id IN (SELECT card_id FROM rewards_grant WHERE campaign_id = %s)",
        [campaign.pk],
    )
    execute(  # what allocate_cards records for each of them
        """INSERT INTO cardpool_cardevent (card_id, action, from_status, to_status, reason,
                                          actor_label, created_at)
           SELECT card_id, 'assigned', 'available', 'assigned', '', 'bench', created_at
           FROM rewards_grant WHERE campaign_id = %s""",
        [campaign.pk],
    )
    execute(
        """INSERT INTO rewards_pointsentry (customer_id, amount, kind, grant_id, note, created_at)
           SELECT inviter_id, points, 'reward', id, '', created_at FROM rewards_grant
           WHERE campaign_id = %s""",
        [campaign.pk],
    )
    execute("VACUUM ANALYZE")
    return campaign


def _timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _baseline() -> None:
    with connection.cursor() as cursor:
        cursor.execute(BASELINE)
        cursor.fetchall()


def run(quick: bool) -> dict:
    cards, invitations, grants, repeats = (
        (50_000, 50_000, 5_000, 3) if quick else (1_000_000, 1_000_000, 100_000, 7)
    )
    _populate(cards, invitations, grants)
    detect_anomalies()  # warm, and the first findings (low stock and the like) are opened
    run_times, baseline_times = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine
        baseline_times.append(_timed(_baseline))
        run_times.append(_timed(detect_anomalies))
    from core.clock import database_now

    now = database_now()
    per_rule = {
        rule.code: median([_timed(lambda r=rule: r.find(now)) for _ in range(3)])
        for rule in rules.RULES
    }
    # the review desk reads the same tables: the admin index, as a superuser sees it
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.create_superuser("bench-desk", "d@x.y", "x"))
    client.get("/admin/")  # warm
    desk_times = [_timed(lambda: client.get("/admin/")) for _ in range(repeats)]
    plans = {}
    with connection.cursor() as cursor:
        for name, (statement, params) in EXPLAINED.items():
            params = {**params, "before": now - timedelta(days=1)} if "before" in params else params
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + statement, params)
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    return {
        "sizes": {"cards": cards, "invitations": invitations, "grants": grants},
        "repeats": repeats,
        "run_ms": median(run_times) * 1000,
        "baseline_ms": median(baseline_times) * 1000,
        "ratio": median(run_times) / median(baseline_times),
        "desk_ms": median(desk_times) * 1000,
        "slowest_rules_ms": dict(
            sorted(((k, v * 1000) for k, v in per_rule.items()), key=lambda kv: -kv[1])[:6]
        ),
        "plans": plans,
    }
