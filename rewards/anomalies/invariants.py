"""The invariants that cannot happen (critical), checked anyway: constraints and locks guarantee
them, but a superuser's hand-written SQL (the incident's "fix" re-marked used cards as free)
bypasses both. ``reconcile`` runs these too; a breach fails it."""

from datetime import datetime

from django.utils.translation import gettext as _

from core.models import append_only_tables

from ..models import AnomalyRule, Grant
from .registry import CRITICAL, SAMPLE, Found, fetch, rule, sql

# The rules that find a value held twice (a card, an invitation, an account, a grant number)
# find the values first and list their rows after: listing every value's rows in order (an
# array_agg sorted per group) and keeping those with two cost 3-4x as much.

# The statements of the slowest rules, named so the benchmark explains exactly these.
LEDGER_MISMATCH_SQL = sql("""WITH expected AS (
               SELECT inviter_id AS customer_id, campaign_id, sum(points) AS points
               FROM {grant} WHERE status = {grant.issued} GROUP BY 1, 2),
           booked AS (
               SELECT e.customer_id, g.campaign_id, sum(e.amount) AS points
               FROM {pointsentry} e JOIN {grant} g ON g.id = e.grant_id
               WHERE e.kind IN ({pointsentry.reward}, {pointsentry.reversal}) GROUP BY 1, 2)
           SELECT coalesce(x.customer_id, b.customer_id), coalesce(x.campaign_id, b.campaign_id),
                  coalesce(x.points, 0), coalesce(b.points, 0)
           FROM expected x FULL JOIN booked b
             ON b.customer_id = x.customer_id AND b.campaign_id = x.campaign_id
           WHERE coalesce(x.points, 0) <> coalesce(b.points, 0)""")

ASSIGNED_CARD_WITHOUT_GRANT_SQL = sql("""SELECT c.id, c.kind_id FROM {card} c
           WHERE c.status = {card.assigned}
             AND NOT EXISTS (SELECT 1 FROM {grant} g WHERE g.card_id = c.id)""")


@rule(AnomalyRule.CARD_IN_TWO_GRANTS, CRITICAL, invariant=True)
def card_in_two_grants(now: datetime) -> list[Found]:
    rows = fetch(
        sql("""SELECT card_id, array_agg(id ORDER BY id), min(campaign_id) FROM {grant}
           WHERE card_id IN (SELECT card_id FROM {grant} WHERE card_id IS NOT NULL
                             GROUP BY card_id HAVING count(*) > 1)
           GROUP BY card_id""")
    )
    return [
        Found(
            f"card:{card_id}",
            _("Card #%(card)s is in %(count)s grants: %(grants)s.")
            % {"card": card_id, "count": len(grants), "grants": grants[:SAMPLE]},
            {"grant_ids": grants[:SAMPLE]},
            "cardpool.card",
            card_id,
            campaign_id,
        )
        for card_id, grants, campaign_id in rows
    ]


@rule(AnomalyRule.INVITATION_TWO_LIVE_GRANTS, CRITICAL, invariant=True)
def invitation_two_live_grants(now: datetime) -> list[Found]:
    rows = fetch(
        sql("""SELECT invitation_id, array_agg(id ORDER BY id), min(campaign_id) FROM {grant}
           WHERE status <> {grant.void}
             AND (invitation_id, side) IN (
                 SELECT invitation_id, side FROM {grant} WHERE status <> {grant.void}
                 GROUP BY invitation_id, side HAVING count(*) > 1)
           GROUP BY invitation_id, side""")
    )
    return [
        Found(
            f"invitation:{invitation_id}",
            _("Invitation #%(invitation)s has %(count)s live grants: %(grants)s.")
            % {"invitation": invitation_id, "count": len(grants), "grants": grants[:SAMPLE]},
            {"grant_ids": grants[:SAMPLE]},
            "invitations.invitation",
            invitation_id,
            campaign_id,
        )
        for invitation_id, grants, campaign_id in rows
    ]


@rule(AnomalyRule.INVITER_OVER_CAP, CRITICAL, invariant=True)
def inviter_over_cap(now: datetime) -> list[Found]:
    """Invariant 5: no grant made while its inviter already held the cap in force then (stored
    on each grant): the n-th live grant of an inviter in a campaign is a breach only if n is
    above its own cap. A cap lowered later turns no past grant into a breach."""
    rows = fetch(
        sql("""SELECT inviter_id, campaign_id, count(*), array_agg(id ORDER BY id) FILTER (
                      WHERE n > cap), min(cap) FILTER (WHERE n > cap)
           FROM (SELECT id, inviter_id, campaign_id, cap,
                        row_number() OVER (PARTITION BY inviter_id, campaign_id ORDER BY id) AS n
                 FROM {grant} WHERE status <> {grant.void} AND side = {grant.inviter}
                   AND (inviter_id, campaign_id) IN (  -- no breach where none is over every cap
                       SELECT inviter_id, campaign_id FROM {grant}
                       WHERE status <> {grant.void} AND side = {grant.inviter}
                       GROUP BY 1, 2 HAVING count(*) > min(cap))) ranked
           GROUP BY inviter_id, campaign_id
           HAVING bool_or(n > cap)""")
    )
    return [
        Found(
            f"customer:{customer_id}@campaign:{campaign_id}",
            _(
                "Customer #%(customer)s has %(count)s live grants in campaign #%(campaign)s; "
                "the cap is %(cap)s."
            )
            % {"customer": customer_id, "count": count, "campaign": campaign_id, "cap": cap},
            {"live_grants": count, "cap": cap, "over_cap_grant_ids": over[:SAMPLE]},
            "invitations.customer",
            customer_id,
            campaign_id,
        )
        for customer_id, campaign_id, count, over, cap in rows
    ]


@rule(AnomalyRule.LEDGER_MISMATCH, CRITICAL, invariant=True)
def ledger_mismatch(now: datetime) -> list[Found]:
    """Per customer and campaign: reward and reversal entries must add up to the points of the
    issued grants (a void grant was credited and reversed: zero)."""
    rows = fetch(LEDGER_MISMATCH_SQL)
    return [
        Found(
            f"customer:{customer_id}@campaign:{campaign_id}",
            _(
                "Customer #%(customer)s's points ledger for campaign #%(campaign)s books "
                "%(booked)s points; their issued grants are worth %(expected)s."
            )
            % {
                "customer": customer_id,
                "campaign": campaign_id,
                "booked": booked,
                "expected": expected,
            },
            {"expected": int(expected), "booked": int(booked)},
            "invitations.customer",
            customer_id,
            campaign_id,
        )
        for customer_id, campaign_id, expected, booked in rows
    ]


@rule(AnomalyRule.ASSIGNED_CARD_WITHOUT_GRANT, CRITICAL, invariant=True)
def assigned_card_without_grant(now: datetime) -> list[Found]:
    rows = fetch(ASSIGNED_CARD_WITHOUT_GRANT_SQL)
    return [
        Found(
            f"card:{card_id}",
            _("Card #%(card)s is assigned but belongs to no grant.") % {"card": card_id},
            {"kind_id": kind_id},
            "cardpool.card",
            card_id,
        )
        for card_id, kind_id in rows
    ]


@rule(AnomalyRule.GRANT_CARD_NOT_ASSIGNED, CRITICAL, invariant=True)
def grant_card_not_assigned(now: datetime) -> list[Found]:
    rows = fetch(
        sql("""SELECT g.id, g.grant_no, g.campaign_id, c.id, c.status
           FROM {grant} g JOIN {card} c ON c.id = g.card_id
           WHERE g.status = {grant.issued} AND c.status <> {card.assigned}""")
    )
    return [
        Found(
            f"grant:{grant_id}",
            _(
                "Grant %(grant)s is issued but its card #%(card)s is %(status)s: it could be "
                "handed out again."
            )
            % {"grant": grant_no, "card": card_id, "status": card_status},
            {"card_id": card_id, "card_status": card_status},
            "rewards.grant",
            grant_id,
            campaign_id,
        )
        for grant_id, grant_no, campaign_id, card_id, card_status in rows
    ]


@rule(AnomalyRule.ACCOUNT_COUNTED_TWICE, CRITICAL, invariant=True)
def account_counted_twice(now: datetime) -> list[Found]:
    """Invariant 3: one opened account counts for one invitation, in whichever campaign. Counted
    are the invitations it qualifies and those holding a live grant (a rejected invitation that
    was paid before the rule held across campaigns stays here until a person voids the extra
    grant)."""
    rows = fetch(
        sql("""WITH counted AS (
               SELECT id, external_account_id, campaign_id FROM {invitation} i
               WHERE external_account_id IS NOT NULL
                 AND (status = {invitation.qualified} OR EXISTS (
                     SELECT 1 FROM {grant} g
                     WHERE g.invitation_id = i.id AND g.status <> {grant.void})))
           SELECT external_account_id, array_agg(id ORDER BY id), max(campaign_id) FROM counted
           WHERE external_account_id IN (SELECT external_account_id FROM counted
                                         GROUP BY 1 HAVING count(*) > 1)
           GROUP BY external_account_id""")
    )
    return [
        Found(
            f"account:{account_id}",
            _(
                "Account %(account)s counts for %(count)s invitations (qualified, or paid): "
                "%(invitations)s."
            )
            % {
                "account": account_id,
                "count": len(invitations),
                "invitations": invitations[:SAMPLE],
            },
            {"invitation_ids": invitations[:SAMPLE], "account_id": account_id},
            "invitations.campaign",
            campaign_id,
            campaign_id,
        )
        for account_id, invitations, campaign_id in rows
    ]


@rule(AnomalyRule.EXISTING_CUSTOMER_REWARDED, CRITICAL, invariant=True)
def existing_customer_rewarded(now: datetime) -> list[Found]:
    """Invariant 4: an account opened before the invitation earns nothing."""
    rows = fetch(EXISTING_CUSTOMER_REWARDED_SQL)
    return [
        Found(
            f"grant:{grant_id}",
            _(
                "Grant %(grant)s rewards invitation #%(invitation)s, whose account was opened "
                "before the invitation."
            )
            % {"grant": grant_no, "invitation": invitation_id},
            {"invitation_id": invitation_id},
            "rewards.grant",
            grant_id,
            campaign_id,
        )
        for grant_id, grant_no, campaign_id, invitation_id in rows
    ]


# Its invitations are read through an index of those opened before they were made (empty
# while the invariant holds: invitations.Invitation's "invitation_opened_before").
EXISTING_CUSTOMER_REWARDED_SQL = sql("""SELECT g.id, g.grant_no, g.campaign_id, i.id
    FROM {invitation} i JOIN {grant} g ON g.invitation_id = i.id
    WHERE i.account_opened_at < i.invited_at AND g.status <> {grant.void}""")

# A Fernet token is URL-safe base64 of version byte 0x80 and a 64-bit timestamp: "gAAAAA...".
# Read through an index of such cards (empty while the invariant holds: cardpool.Card's
# "card_secret_not_a_token").
UNENCRYPTED_CARDS_SQL = sql("""SELECT id, kind_id FROM {card}
    WHERE number_encrypted NOT LIKE 'gAAAAA%%' OR password_encrypted NOT LIKE 'gAAAAA%%'""")


@rule(AnomalyRule.CARD_SECRET_IN_CLEAR, CRITICAL, invariant=True)
def card_secret_in_clear(now: datetime) -> list[Found]:
    """Invariant 7: what is stored is a Fernet token, never the number or password itself."""
    return [
        Found(
            f"card:{card_id}",
            _(
                "Card #%(card)s's number or password is stored in a form that is not a Fernet "
                "token (written around the import?)."
            )
            % {"card": card_id},
            {"kind_id": kind_id},
            "cardpool.card",
            card_id,
        )
        for card_id, kind_id in fetch(UNENCRYPTED_CARDS_SQL)
    ]


@rule(AnomalyRule.GRANT_NUMBER_REUSED, CRITICAL, invariant=True)
def grant_number_reused(now: datetime) -> list[Found]:
    """Invariant 8 (the unique constraint, checked in case it was dropped)."""
    rows = fetch(
        sql("""SELECT grant_no, array_agg(id ORDER BY id), min(campaign_id) FROM {grant}
           WHERE grant_no IN (SELECT grant_no FROM {grant} GROUP BY grant_no HAVING count(*) > 1)
           GROUP BY grant_no""")
    )
    return [
        Found(
            f"grant_no:{grant_no}",
            _("Grant number %(grant)s is used by grants %(grants)s.")
            % {"grant": grant_no, "grants": grants[:SAMPLE]},
            {"grant_ids": grants[:SAMPLE]},
            "invitations.campaign",
            campaign_id,
            campaign_id,
        )
        for grant_no, grants, campaign_id in rows
    ]


@rule(AnomalyRule.CARD_CHANGED_WITHOUT_EVENT, CRITICAL, invariant=True)
def card_changed_without_event(now: datetime) -> list[Found]:
    """Invariant 9: a card leaves "available" only through a service, which records an event."""
    rows = fetch(
        # every status but "available", listed (the constraint allows no other): the (status,
        # id) index reads only these cards, where "<> available" read the whole pool
        sql("""SELECT c.id, c.status FROM {card} c
           WHERE c.status IN ({card.assigned}, {card.void}, {card.expired})
             AND NOT EXISTS (SELECT 1 FROM {cardevent} e
                             WHERE e.card_id = c.id AND e.to_status = c.status)""")
    )
    return [
        Found(
            f"card:{card_id}",
            _(
                "Card #%(card)s is %(status)s but no event records the change: it was changed "
                "by hand, outside the services."
            )
            % {"card": card_id, "status": status},
            {"status": status},
            "cardpool.card",
            card_id,
        )
        for card_id, status in rows
    ]


@rule(AnomalyRule.GRANT_AFTER_VOID, CRITICAL, invariant=True)
def grant_after_void(now: datetime) -> list[Found]:
    """Invariant 14: after a person voided an invitation's grant (or rejected its hold), only
    another person's action (a reissue, "grant again") makes its next grant. A grant of another
    origin made after the void is an automatic path undoing that decision: money paid twice.
    The unique index on automatic grants stands behind it; grants the old sweep made before
    the index (labelled ``repeated`` by the migration) are found here."""
    rows = fetch(
        sql("""SELECT g.id, g.grant_no, g.campaign_id, g.invitation_id, v.id, v.grant_no
           FROM {grant} v
           -- made after the void grant; while that one was live, no other could be (the
           -- one-live-grant index; invitation_two_live_grants watches that one)
           JOIN {grant} g ON g.invitation_id = v.invitation_id AND g.side = v.side
                         AND g.id > v.id
           WHERE v.status = {grant.void} AND g.origin NOT IN (%(reissue)s, %(granted_again)s)
           ORDER BY g.id"""),
        {"reissue": Grant.Origin.REISSUE, "granted_again": Grant.Origin.GRANTED_AGAIN},
    )
    return [
        Found(
            f"grant:{grant_id}",
            _(
                "Grant %(grant)s of invitation #%(invitation)s was made automatically after "
                "a person voided %(void)s."
            )
            % {"grant": grant_no, "invitation": invitation_id, "void": void_no},
            {"grant_id": grant_id, "void_grant_id": void_id, "invitation_id": invitation_id},
            "rewards.grant",
            grant_id,
            campaign_id,
        )
        for grant_id, grant_no, campaign_id, invitation_id, void_id, void_no in rows
    ]


def protecting_triggers() -> list[tuple[str, str]]:
    """Invariant 11: the trigger that makes each history table append-only (migrations rewards
    0006-0008, 0019), and invariant 14's card side: a card's status only moves forward (cardpool
    migration 0006)."""
    return [
        *((table, f"{table}_append_only") for table in append_only_tables()),
        ("cardpool_card", "cardpool_card_status_forward"),
    ]


@rule(AnomalyRule.HISTORY_UNPROTECTED, CRITICAL, invariant=True)
def history_unprotected(now: datetime) -> list[Found]:
    """A superuser can drop or disable a trigger; this notices."""
    tables, triggers = zip(*protecting_triggers(), strict=True)
    rows = fetch(
        sql("""SELECT t.name, t.trigger FROM unnest(%(tables)s::text[], %(triggers)s::text[])
                  AS t(name, trigger)
           WHERE NOT EXISTS (
               SELECT 1 FROM pg_trigger g
               WHERE g.tgrelid = t.name::regclass AND g.tgname = t.trigger
                 AND g.tgenabled <> 'D')"""),
        {"tables": list(tables), "triggers": list(triggers)},
    )
    return [
        Found(
            f"table:{table}",
            _("%(table)s can be rewritten: its trigger %(trigger)s is missing or disabled.")
            % {"table": table, "trigger": trigger},
            {"table": table, "trigger": trigger},
        )
        for table, trigger in rows
    ]
