"""Card state changes: allocation, void, expiry, reveal. Each locks the card, re-checks its
status on the locked row, changes it and records a ``CardEvent`` in the same transaction.

In the incident this replaces, cards were picked by matching a sequence value to an id and their
status was never set, so one card reached two customers. Here a card is taken only by locking an
available row with SKIP LOCKED and flipping its status in the caller's transaction; the grant
that receives it is unique per card in the database.
"""

import functools
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from core.compiled import CompiledQuery
from core.exceptions import required_reason

from .. import secrets
from ..events import (
    card_expired_event,
    card_revealed_event,
    card_voided_event,
)
from ..exceptions import CardNotInStatus
from ..lock_objects import cards_for_update, next_available_cards
from ..models import Card, CardBatch, CardEvent
from ..selectors import allocation_horizon

EXPIRE_CHUNK = 1000


# The locking SELECT is ``next_available_cards`` compiled by the ORM (one definition of which
# cards may be handed out, and in which order); the UPDATE and the events read what it locked.
_TAKE_CARDS = """
WITH taken (id, valid_until) AS ({query}),
assigned AS (
    UPDATE cardpool_card card SET status = %s, assigned_at = now(), updated_at = now()
    FROM taken WHERE card.id = taken.id
    RETURNING card.id
),
events AS (
    INSERT INTO cardpool_cardevent (card_id, action, from_status, to_status, reason, actor_id,
                                    actor_label, created_at)
    SELECT id, %s, %s, %s, '', NULL, %s, now() FROM taken ORDER BY valid_until, id
    RETURNING 1
)
SELECT id FROM taken ORDER BY valid_until, id
"""


def allocate_cards(kind_id: int, count: int, *, actor_label: str = "rewards") -> list[int]:
    """Take up to ``count`` available cards of a kind at once, soonest expiry first, and mark
    them assigned, with their events; returns their ids in that order (fewer when the stock runs
    short), in one statement in the caller's transaction: the card and the grant commit or roll
    back together. No card of a switched-off kind and none that expires within
    ``CARD_MIN_VALIDITY_DAYS`` is taken (``lock_objects.next_available_cards``)."""
    if not connection.in_atomic_block:
        raise RuntimeError("allocate_cards must be called inside transaction.atomic().")
    if count <= 0:
        return []
    assigned, action = Card.Status.ASSIGNED, CardEvent.Action.ASSIGNED
    rows = _take_cards(count).rows(
        kind_id,
        allocation_horizon(),
        after=[assigned, action, Card.Status.AVAILABLE, assigned, actor_label],
    )
    return [card_id for (card_id,) in rows]


@functools.lru_cache(maxsize=256)
def _take_cards(count: int) -> CompiledQuery:
    """The statement for ``count`` cards (Django writes the LIMIT into the SQL, not a parameter):
    compiled once per process and count; the single path always takes 1, batches up to 200."""
    return CompiledQuery(
        lambda kind_id, valid_from: next_available_cards(kind_id, valid_from).values_list(
            "pk", "valid_until"
        )[:count],
        -9_000_000_001,
        date(1, 1, 2),
        template=_TAKE_CARDS,
    )


@transaction.atomic
def void_card(
    card: Card, *, reason: str, actor=None, actor_label: str = "", expected=Card.Status.AVAILABLE
) -> Card:
    """Withdraw a card from use for good.

    Staff void available cards (an admin action); an assigned card is voided only by the rewards
    flow (``expected=ASSIGNED``) when its grant is voided or reissued. Raises ``ReasonRequired``
    and ``CardNotInStatus``.
    """
    reason = required_reason(reason)
    locked = cards_for_update().get(pk=card.pk)
    if locked.status != expected:
        raise CardNotInStatus(locked, expected)
    locked.status = Card.Status.VOID
    locked.save(update_fields=["status", "updated_at"])
    card_voided_event(
        locked, from_status=expected, reason=reason, actor=actor, actor_label=actor_label
    )
    return locked


# Under READ COMMITTED the UPDATE waits for a card an allocation holds, then re-reads its status:
# a card handed out meanwhile is no longer available and is left to its grant.
_VOID_BATCH = """
WITH voided AS (
    UPDATE cardpool_card SET status = %(void)s, updated_at = now()
    WHERE batch_id = %(batch)s AND status = %(available)s
    RETURNING id
),
events AS (
    INSERT INTO cardpool_cardevent (card_id, action, from_status, to_status, reason, actor_id,
                                    actor_label, created_at)
    SELECT id, %(action)s, %(available)s, %(void)s, %(reason)s, %(actor)s, '', now()
    FROM voided
    RETURNING 1
)
SELECT count(*) FROM voided
"""


@transaction.atomic
def void_available_cards(batch: CardBatch, *, reason: str, actor) -> int:
    """Withdraw every card of a batch that is still available (imported under the wrong kind,
    or a supplier's recall), each with its voided event; returns how many. Cards already handed
    out stay with their grants (the rewards app lists them for review). Raises
    ``ReasonRequired``."""
    reason = required_reason(reason)
    with connection.cursor() as cursor:
        cursor.execute(
            _VOID_BATCH,
            {
                "batch": batch.pk,
                "void": Card.Status.VOID,
                "available": Card.Status.AVAILABLE,
                "action": CardEvent.Action.VOIDED,
                "reason": f"batch #{batch.pk} withdrawn: {reason}",
                "actor": getattr(actor, "pk", None),
            },
        )
        return cursor.fetchone()[0]


def expire_cards() -> int:
    """Mark available cards past their validity date as expired; returns how many.

    Works in chunks, each its own transaction, skipping rows that an allocation holds right now
    (the next run picks them up). Idempotent: a second run finds nothing to do.
    """
    today = timezone.localdate()
    total = 0
    while True:
        with transaction.atomic():
            cards = list(
                Card.objects.select_for_update(skip_locked=True)
                .filter(status=Card.Status.AVAILABLE, valid_until__lt=today)
                .order_by("id")[:EXPIRE_CHUNK]
            )
            if not cards:
                return total
            Card.objects.filter(pk__in=[card.pk for card in cards]).update(
                status=Card.Status.EXPIRED, updated_at=timezone.now()
            )
            CardEvent.objects.bulk_create(card_expired_event(card, save=False) for card in cards)
            total += len(cards)


@transaction.atomic(durable=True)
def reveal_card_secret(card: Card, *, actor, reason: str = "") -> tuple[str, str]:
    """The card's number and password in clear, for a member of staff who has the permission.

    The access is recorded before the secret is returned. The caller must have checked
    ``cardpool.reveal_card_secret``; this raises ``PermissionError`` as a backstop.
    """
    if not actor.has_perm("cardpool.reveal_card_secret"):
        raise PermissionError(
            "Revealing a card's password needs the reveal_card_secret permission."
        )
    return _reveal(card, actor=actor, reason=reason)


def reveal_card_to_owner(card: Card, *, owner_user) -> tuple[str, str]:
    """Number and password for the customer the card was granted to (the rewards flow checks
    that it is theirs). Recorded on the card like every reveal; there is no unrecorded one."""
    return _reveal(card, actor=owner_user, reason="shown to its owner")


def _reveal(card: Card, *, actor, reason: str) -> tuple[str, str]:
    card_revealed_event(card, actor=actor, reason=reason)
    return secrets.decrypt(card.number_encrypted), secrets.decrypt(card.password_encrypted)


def reencrypt_cards(*, chunk_size: int = 1000, progress=None) -> int:
    """Re-encrypt every card's number and password under the newest key (key rotation).

    Each chunk is its own transaction and touches only the two encrypted columns, so it can run
    beside allocation. Returns the number of cards rewritten.
    """
    last_id = 0
    done = 0
    total = Card.objects.count()
    while True:
        with transaction.atomic():
            cards = list(
                Card.objects.filter(pk__gt=last_id)
                .order_by("pk")
                .only("pk", "number_encrypted", "password_encrypted")[:chunk_size]
            )
            if not cards:
                return done
            for card in cards:
                card.number_encrypted = secrets.rotate(card.number_encrypted)
                card.password_encrypted = secrets.rotate(card.password_encrypted)
            Card.objects.bulk_update(cards, ["number_encrypted", "password_encrypted"])
        last_id = cards[-1].pk
        done += len(cards)
        if progress:
            progress(done, total)
