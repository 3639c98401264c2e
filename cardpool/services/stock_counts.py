"""The pool's stock counted once for every page that shows it (``CardCount``), by the cluster
each minute and after each import; ``cardpool.selectors.counted_at`` says whether a count is
young enough to be shown."""

from django.db import connection, transaction

from core.locks import AdvisoryLock


@transaction.atomic
def count_cards() -> int:
    """Count the pool by kind, status and validity date, replacing the last count whole (one
    counter at a time); the number of rows written."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AdvisoryLock.CARD_COUNT])
        cursor.execute("DELETE FROM cardpool_cardcount")
        cursor.execute(
            """
            INSERT INTO cardpool_cardcount (kind_id, status, valid_until, cards, counted_at)
            SELECT kind_id, status, valid_until, count(*), now()
            FROM cardpool_card GROUP BY kind_id, status, valid_until
            """
        )
        return cursor.rowcount
