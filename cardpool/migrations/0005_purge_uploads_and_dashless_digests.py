"""Schedule the purge of expired uploads, and recompute every card's number digest without
dashes (``DASH-0001-0001`` and ``DASH00010001`` were two cards).

Self-contained on purpose (data migrations do not import live code): the digest is the keyed
HMAC of ``cardpool.secrets.number_digest`` as it is from this migration on.
"""

import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import migrations

CHUNK = 5000


def _digest(number: str) -> str:
    bare = "".join(number.split()).upper().replace("-", "")
    key = settings.CARD_NUMBER_DIGEST_KEY.encode()
    return hmac.new(key, bare.encode(), hashlib.sha256).hexdigest()


def redigest(apps, schema_editor):
    Card = apps.get_model("cardpool", "Card")
    if not Card.objects.exists():
        return
    fernet = MultiFernet([Fernet(key.encode()) for key in settings.CARD_ENCRYPTION_KEYS])
    cards = Card.objects.order_by("pk").values_list("pk", "number_encrypted", "number_digest")
    last = 0
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE redigest (id bigint, digest text, old text) ON COMMIT DROP"
        )
        while chunk := list(cards.filter(pk__gt=last)[:CHUNK]):
            with cursor.cursor.copy("COPY redigest (id, digest, old) FROM STDIN") as copy:
                for card_id, token, old in chunk:
                    digest = _digest(fernet.decrypt(token.encode()).decode())
                    copy.write_row((card_id, digest, old))
            last = chunk[-1][0]
        # A card imported twice, written two ways, can keep its digest once: the copy whose
        # digest does not change keeps it, else the first; the others get a marker that no
        # search or import matches, and are named for staff to void.
        cursor.execute(
            "UPDATE redigest SET digest = 'twin-of-' || first || '-' || redigest.id FROM ("
            "  SELECT id, first_value(id) OVER same AS first, row_number() OVER same AS copy"
            "  FROM redigest WINDOW same AS (PARTITION BY digest ORDER BY digest = old DESC, id)"
            ") twins WHERE twins.id = redigest.id AND twins.copy > 1 RETURNING redigest.id"
        )
        twins = sorted(card_id for (card_id,) in cursor.fetchall())
        if twins:
            print(
                f"\n  Cards {twins[:50]} are second copies of a card in the pool, written with"
                " other dashes or spaces; void them if they are still available (admin, Cards)."
            )
        # One statement, no intermediate collision: a card's new digest equals another card's
        # old one only when the two are one card, and then only one of them takes it.
        cursor.execute(
            "UPDATE cardpool_card card SET number_digest = redigest.digest FROM redigest"
            " WHERE card.id = redigest.id AND card.number_digest <> redigest.digest"
        )


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="cardpool.purge_expired_uploads",
        defaults={
            "func": "cardpool.tasks.purge_expired_uploads_task",
            "schedule_type": "I",
            "minutes": 15,
            "repeats": -1,
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(
        name="cardpool.purge_expired_uploads"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("cardpool", "0004_card_uploads")]
    operations = [
        migrations.RunPython(create_schedule, delete_schedule),
        # Not reversible: the old digests kept the dashes, and nothing needs them back.
        migrations.RunPython(redigest, migrations.RunPython.noop, elidable=True),
    ]
