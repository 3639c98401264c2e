import subprocess
import sys

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection

from cardpool import secrets
from cardpool.models import Card
from cardpool.services import import_cards, reencrypt_cards
from devtools import embedded_postgres
from referral_site.database import url_for
from tests.cardpool.files import csv_bytes, valid_date
from tests.processes import ROOT, worker_environment

NUMBER, PASSWORD = "JD7777666655554444", "SECRET-PASS-9931"


def import_one(kind):
    import_cards(
        kind=kind, file_name="one.csv", content=csv_bytes([[NUMBER, PASSWORD, valid_date()]])
    )
    return Card.objects.get()


@pytest.mark.django_db
def test_number_and_password_are_not_in_the_table(card_kind):
    card = import_one(card_kind)
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(c)::text FROM cardpool_card c WHERE id = %s", [card.pk])
        raw = cursor.fetchone()[0]
    assert NUMBER not in raw and PASSWORD not in raw and "4444" in raw  # only the last four
    assert secrets.decrypt(card.number_encrypted) == NUMBER
    assert secrets.decrypt(card.password_encrypted) == PASSWORD


@pytest.mark.django_db(transaction=True)
def test_number_and_password_are_not_in_a_database_dump(card_kind):
    import_one(card_kind)
    dump = subprocess.run(
        [
            str(embedded_postgres.binaries() / "pg_dump"),
            "--data-only",
            "--table=cardpool_card",
            url_for(connection.settings_dict).replace("postgres://", "postgresql://"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dump.returncode == 0, dump.stderr
    assert "cardpool_card" in dump.stdout
    assert NUMBER not in dump.stdout and PASSWORD not in dump.stdout


@pytest.mark.django_db
def test_rotation_keeps_old_cards_readable_then_moves_them_to_the_new_key(card_kind, settings):
    old_key = settings.CARD_ENCRYPTION_KEYS[0]
    card = import_one(card_kind)
    new_key = Fernet.generate_key().decode()

    settings.CARD_ENCRYPTION_KEYS = [new_key, old_key]
    assert secrets.decrypt(Card.objects.get().password_encrypted) == PASSWORD
    assert reencrypt_cards() == 1

    settings.CARD_ENCRYPTION_KEYS = [new_key]
    card.refresh_from_db()
    assert secrets.decrypt(card.number_encrypted) == NUMBER
    assert secrets.decrypt(card.password_encrypted) == PASSWORD
    settings.CARD_ENCRYPTION_KEYS = [old_key]
    with pytest.raises(InvalidToken):
        secrets.decrypt(card.password_encrypted)


def test_digest_is_keyed_and_ignores_spacing(settings):
    digest = secrets.number_digest("jd 7777 6666")
    assert digest == secrets.number_digest("JD77776666")
    settings.CARD_NUMBER_DIGEST_KEY = "another-key"
    assert secrets.number_digest("JD77776666") != digest


@pytest.mark.django_db(transaction=True)
def test_the_rotate_card_keys_command_moves_every_card_to_the_newest_key(card_kind, settings):
    old_key = settings.CARD_ENCRYPTION_KEYS[0]
    import_one(card_kind)
    new_key = Fernet.generate_key().decode()
    rotated = subprocess.run(
        [sys.executable, "manage.py", "rotate_card_keys"],
        cwd=ROOT,
        env=worker_environment(CARD_ENCRYPTION_KEYS=f"{new_key},{old_key}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "1" in rotated.stdout
    assert PASSWORD not in rotated.stdout + rotated.stderr
    settings.CARD_ENCRYPTION_KEYS = [new_key]  # the old key can now be dropped
    card = Card.objects.get()
    assert secrets.decrypt(card.password_encrypted) == PASSWORD
    assert secrets.decrypt(card.number_encrypted) == NUMBER
