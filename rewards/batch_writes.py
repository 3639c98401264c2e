"""The set-based path's writes, each one statement whatever the batch's size.

Building a model instance per row and letting the ORM compile a ``bulk_create`` cost more than
the database's work (``docs/benchmarks.md``, section 1c): a batch of 200 grants is 1,000 rows in
four tables. These statements take the batch as arrays and write the grants with their points
and first events in one statement (data-modifying CTEs: the points and events read the grants'
``RETURNING``), and issue waiting grants the same way. The callers hold the locks and have
checked every rule; these only write. The columns are the models' (a migration that adds a
column without a default breaks them, and the batch tests with it).
"""

from django.conf import settings
from django.db import connection

from core.actors import SystemActor
from notifications.models import Message

from .models import Grant, GrantEvent, PointsEntry
from .notices import KIND_BY_STATUS

# The created event for every grant, a held event for held ones, an issued event (with the card)
# for issued ones, in that order per grant; one points entry per issued grant with points; the
# inviter's message (rewards.notices says which; notifications.services.notify writes the same
# row for the single-grant paths), in the same statement so the grant path pays no round trip.
_POINTS_AND_EVENTS = """
, points AS (
    INSERT INTO rewards_pointsentry (customer_id, amount, kind, grant_id, note, created_at)
    SELECT inviter_id, points, %(reward)s, id, '', now()
    FROM written WHERE status = 'issued' AND points > 0
    RETURNING 1
), events AS (
    INSERT INTO rewards_grantevent (grant_id, action, actor_id, actor_label, reason, card_id,
                                    created_at)
    SELECT grant_id, action, NULL, %(actor)s, reason, card_id, now() FROM (
        SELECT id AS grant_id, 1 AS step, %(created)s AS action, '' AS reason,
               NULL::bigint AS card_id
        FROM written WHERE %(with_created)s
        UNION ALL
        SELECT id, 2, %(held)s, hold_reason, NULL FROM written WHERE status = 'held'
        UNION ALL
        SELECT id, 3, %(issued)s, '', card_id FROM written WHERE status = 'issued'
    ) e
    ORDER BY grant_id, step
    RETURNING 1
), messages AS (
    INSERT INTO notifications_message (recipient_id, kind, params, phone, email, created_at,
                                       status, channel, attempts, next_attempt_at, last_error)
    SELECT c.user_id, {message_kind},
           json_build_object('card', k.name, 'points', w.points, 'side', w.side), c.phone, '',
           now(), %(waiting)s, '', 0, now() + make_interval(secs => %(burst)s), ''
    FROM written w
    JOIN invitations_customer c ON c.id = w.inviter_id
    LEFT JOIN cardpool_cardkind k ON k.id = w.card_kind_id  -- none: points only
    WHERE %(notify)s
    RETURNING 1
)
SELECT {columns} FROM written
"""

INSERT_GRANTS = """
WITH written AS (
    INSERT INTO rewards_grant (grant_no, invitation_id, inviter_id, campaign_id, card_id,
                               card_kind_id, face_value, points, cap, side, place, status, origin,
                               hold_reason, created_at, issued_at, first_revealed_at, voided_at,
                               void_reason, replaced_by_id)
    SELECT grant_no, invitation_id, inviter_id, campaign_id, card_id, card_kind_id, face_value,
           points, cap, side, place, status, %(automatic)s, hold_reason, now(),
           CASE WHEN status = 'issued' THEN now() END, NULL, NULL, '', NULL
    FROM unnest(%(grant_no)s::varchar[], %(invitation_id)s::bigint[], %(inviter_id)s::bigint[],
                %(campaign_id)s::bigint[], %(card_id)s::bigint[], %(card_kind_id)s::bigint[],
                %(face_value)s::numeric[], %(points)s::integer[], %(cap)s::integer[],
                %(side)s::varchar[], %(place)s::integer[], %(status)s::varchar[],
                %(hold_reason)s::varchar[])
         AS batch (grant_no, invitation_id, inviter_id, campaign_id, card_id, card_kind_id,
                   face_value, points, cap, side, place, status, hold_reason)
    ORDER BY invitation_id, side DESC
    RETURNING {columns}
)"""

ISSUE_GRANTS = """
WITH written AS (
    UPDATE rewards_grant g
    SET card_id = batch.card_id, status = 'issued', issued_at = now()
    FROM unnest(%(grant_id)s::bigint[], %(card_id)s::bigint[]) AS batch (grant_id, card_id)
    WHERE g.id = batch.grant_id AND g.status = 'pending_stock'
    RETURNING {qualified_columns}
)"""

# Every column of the grant, in the model's order, so the rows come back as Grant instances.
_FIELDS = [field for field in Grant._meta.concrete_fields]
_COLUMNS = ", ".join(field.column for field in _FIELDS)
_QUALIFIED_COLUMNS = ", ".join(f"g.{field.column}" for field in _FIELDS)

_CONSTANTS = {
    "actor": SystemActor.GRANTS,
    "reward": PointsEntry.Kind.REWARD.value,
    "created": GrantEvent.Action.CREATED.value,
    "held": GrantEvent.Action.HELD.value,
    "issued": GrantEvent.Action.ISSUED.value,
    # only the grant paths insert here: the database refuses a second automatic grant for an
    # invitation, live or void (invariant 14)
    "automatic": Grant.Origin.AUTOMATIC.value,
    "waiting": Message.Status.WAITING.value,
    "notify": True,  # bench/messages.py measures the path without them
}
# The message's kind by the grant's status (rewards.notices.KIND_BY_STATUS), as SQL.
_MESSAGE_KIND = (
    "CASE w.status "
    + " ".join(f"WHEN '{status}' THEN '{kind}'" for status, kind in KIND_BY_STATUS.items())
    + " END"
)


def insert_grants(rows: list[dict]) -> list[Grant]:
    """Insert grants (``grant_no``, ``invitation_id``, ``inviter_id`` (the customer paid),
    ``campaign_id``, ``card_id`` or None, the terms: ``card_kind_id``, ``face_value``,
    ``points``, ``cap``, ``side``, ``place`` (None off the inviter's side); ``status``,
    ``hold_reason``) with their points and events; returns them."""
    columns = (
        "grant_no",
        "invitation_id",
        "inviter_id",
        "campaign_id",
        "card_id",
        "card_kind_id",
        "face_value",
        "points",
        "cap",
    )
    params = {column: [row[column] for row in rows] for column in columns}
    params["side"] = [str(row.get("side", Grant.Side.INVITER)) for row in rows]
    params["place"] = [row.get("place") for row in rows]
    params["status"] = [str(row["status"]) for row in rows]
    params["hold_reason"] = [row["hold_reason"] for row in rows]
    return _run(INSERT_GRANTS, {**params, "with_created": True})


def issue_grants(pairs: list[tuple[int, int]]) -> list[Grant]:
    """Give each waiting grant its card (``(grant_id, card_id)``): issued, points, event;
    returns the grants issued (a grant no longer waiting is left alone)."""
    params = {
        "grant_id": [grant_id for grant_id, _ in pairs],
        "card_id": [card_id for _, card_id in pairs],
        "with_created": False,
    }
    return _run(ISSUE_GRANTS, params)


def _run(write: str, params: dict) -> list[Grant]:
    """``write`` (a CTE named ``written`` returning the grants) with their points, events and
    messages."""
    sql = (write + _POINTS_AND_EVENTS).format(
        columns=_COLUMNS, qualified_columns=_QUALIFIED_COLUMNS, message_kind=_MESSAGE_KIND
    )
    names = [field.attname for field in _FIELDS]
    constants = {**_CONSTANTS, "burst": settings.MESSAGE_BURST_SECONDS}
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, **constants})
        return [Grant.from_db(connection.alias, names, row) for row in cursor.fetchall()]
