"""Migration cardpool 0005 recomputes every card's digest without dashes, keeps one digest for a
card the pool already holds twice (written two ways), and leaves the pool searchable."""

import hashlib
import hmac

import pytest
from django.conf import settings

from cardpool import secrets
from cardpool.models import Card
from tests.factories import CardKindFactory, make_cards
from tests.migrations import migrate

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("latest_migrations_after"),
]

BEFORE = [("cardpool", "0004_card_uploads")]
AFTER = [("cardpool", "0005_purge_uploads_and_dashless_digests")]


def old_digest(number: str) -> str:
    """The digest before 0005: spaces and case ignored, dashes kept."""
    key = settings.CARD_NUMBER_DIGEST_KEY.encode()
    return hmac.new(key, "".join(number.split()).upper().encode(), hashlib.sha256).hexdigest()


def test_digests_are_recomputed_without_dashes_and_twins_are_kept_apart(capsys):
    kind = CardKindFactory()
    plain, dashed, twin = make_cards(kind, 3)
    numbers = {plain.pk: "PLAIN0001", dashed.pk: "DASH-0001-0001", twin.pk: "DASH00010001"}
    migrate(BEFORE)
    for card_id, number in numbers.items():
        Card.objects.filter(pk=card_id).update(
            number_encrypted=secrets.encrypt(number), number_digest=old_digest(number)
        )

    migrate(AFTER)

    digests = dict(Card.objects.values_list("pk", "number_digest"))
    assert digests[plain.pk] == secrets.number_digest("PLAIN0001")  # unchanged in value
    # the copy whose digest did not change keeps it; the other gets a marker nobody matches
    assert digests[twin.pk] == secrets.number_digest("DASH-0001-0001")
    assert digests[dashed.pk] == f"twin-of-{twin.pk}-{dashed.pk}"
    assert f"[{dashed.pk}]" in capsys.readouterr().out
