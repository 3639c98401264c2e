"""The background way of a card file into the pool: stored encrypted, checked, confirmed once,
imported whole or not at all, purged when abandoned."""

import io
import os
import signal
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import TestCase
from django.utils import timezone

from cardpool import secrets
from cardpool.models import Card, CardBatch, CardUpload, CardUploadPart, StagedCard
from cardpool.services import (
    confirm_upload,
    import_upload,
    purge_expired_uploads,
    receive_upload,
    validate_upload,
)
from cardpool.services import importing as messages
from cardpool.services import workbook as sheets
from cardpool.services.importing import RowError
from cardpool.services.uploads import PART_BYTES, STALLED_AFTER
from tests.cardpool.files import csv_bytes, good_rows, valid_date, xlsx_bytes
from tests.cardpool.test_hostile_files import rewritten
from tests.cardpool.test_import import rejected
from tests.processes import run_workers, scalar, start_worker

pytestmark = pytest.mark.django_db


def received(kind, content: bytes, file_name="cards.csv") -> CardUpload:
    return receive_upload(kind=kind, file_name=file_name, chunks=[content])


def checked(kind, content: bytes, file_name="cards.csv") -> CardUpload:
    return validate_upload(received(kind, content, file_name).pk)


def test_the_same_card_with_and_without_dashes_is_one_card(card_kind):
    rows = [["DASH-0001-0001", "p1", valid_date()], ["dash 0001 0001", "p2", valid_date()]]
    assert rejected(card_kind, csv_bytes(rows)) == [
        str(RowError(3, messages.DUPLICATE_IN_FILE.format(first=2)))
    ]
    rejected_later = [["DASH00010001", "p3", valid_date()]]
    import_rows = [["DASH-0001-0001", "p1", valid_date()]]
    from cardpool.services import import_cards

    import_cards(kind=card_kind, file_name="first.csv", content=csv_bytes(import_rows))
    assert rejected(card_kind, csv_bytes(rejected_later), "second.csv") == [
        str(RowError(2, messages.DUPLICATE_IN_POOL))
    ]
    card = Card.objects.get()
    assert secrets.decrypt(card.number_encrypted) == "DASH-0001-0001"  # as printed on the card
    assert card.number_digest == secrets.number_digest("dash00010001")


def test_a_formula_cell_is_refused_naming_the_cell(card_kind):
    def formula(xml: str) -> str:
        return xml.replace(
            '<c r="B2" t="inlineStr"><is><t>PW-1</t></is></c>',
            '<c r="B2" t="str"><f>CONCAT("PW","-1")</f><v>PW-1</v></c>',
        )

    content = rewritten(xlsx_bytes([["JD0000000001", "PW-1", valid_date()]]), formula)
    with zipfile.ZipFile(io.BytesIO(content)) as workbook:  # the formula is in the file read
        assert any(b"<f>" in workbook.read(name) for name in workbook.namelist())
    assert rejected(card_kind, content, "cards.xlsx") == [
        str(sheets.FORMULA_CELL.format(cell="B2"))
    ]


def test_a_card_number_that_starts_like_a_formula_is_refused(card_kind):
    content = csv_bytes([["-JD00000001", "p", valid_date()], ["JD00000002", "@x", valid_date()]])
    assert rejected(card_kind, content) == [str(RowError(2, messages.BAD_CARD_NUMBER))]


def test_the_file_is_stored_encrypted_in_slices_and_read_back_whole(card_kind):
    rows = good_rows(60_000)  # about 2.3 MB: three slices
    content = csv_bytes(rows)
    upload = received(card_kind, content)
    parts = list(CardUploadPart.objects.filter(upload=upload).order_by("index"))
    assert len(parts) == -(-len(content) // PART_BYTES) == 3
    assert b"JD0000000001" not in b"".join(bytes(part.data) for part in parts)
    assert b"".join(secrets.decrypt_bytes(bytes(part.data)) for part in parts) == content
    upload = validate_upload(upload.pk)
    assert (upload.status, upload.row_count, upload.progress) == ("validated", 60_000, 1.0)
    assert StagedCard.objects.filter(upload=upload).count() == 60_000
    assert Card.objects.count() == 0


def test_problems_are_counted_all_and_kept_first(card_kind):
    rows = [[f"JD{n:08d}", "p", "not-a-date"] for n in range(1500)]
    upload = checked(card_kind, csv_bytes(rows))
    assert (upload.status, upload.error_count, len(upload.errors)) == ("failed", 1500, 1000)
    assert upload.errors[0]["row"] == 2
    assert not StagedCard.objects.filter(upload=upload).exists()
    assert not CardUploadPart.objects.filter(upload=upload).exists()  # nothing kept of a refusal


def test_an_upload_is_imported_once_and_leaves_nothing_behind(card_kind, admin_user):
    upload = checked(card_kind, csv_bytes(good_rows(5)))
    assert confirm_upload(upload, actor=admin_user) is True
    assert confirm_upload(upload, actor=admin_user) is False  # already importing
    upload = import_upload(upload.pk)
    assert upload.status == "imported" and upload.batch.row_count == 5
    assert upload.batch.imported_by == admin_user
    assert import_upload(upload.pk).batch == upload.batch  # a repeated task changes nothing
    assert Card.objects.count() == 5 and CardBatch.objects.count() == 1
    assert not StagedCard.objects.exists() and not CardUploadPart.objects.exists()


def test_a_card_that_reached_the_pool_after_the_check_refuses_the_import(card_kind):
    from cardpool.services import import_cards

    first = checked(card_kind, csv_bytes(good_rows(3)))
    import_cards(kind=card_kind, file_name="other.csv", content=csv_bytes(good_rows(1)))
    confirm_upload(first)
    upload = import_upload(first.pk)
    assert upload.status == "failed" and upload.errors == [
        {"row": 2, "message": str(messages.DUPLICATE_IN_POOL)}
    ]
    assert Card.objects.count() == 1


def test_an_abandoned_upload_is_purged_after_its_expiry(card_kind):
    waiting = checked(card_kind, csv_bytes(good_rows(3)))
    fresh = received(card_kind, csv_bytes(good_rows(2, "FR")))
    assert purge_expired_uploads() == 0
    CardUpload.objects.filter(pk=waiting.pk).update(expires_at=timezone.now())
    assert purge_expired_uploads() == 1
    waiting.refresh_from_db()
    assert waiting.status == "expired"
    assert not CardUploadPart.objects.filter(upload=waiting).exists()
    assert not StagedCard.objects.filter(upload=waiting).exists()
    assert CardUploadPart.objects.filter(upload=fresh).exists()
    assert confirm_upload(waiting) is False


def files_holding(folder: Path, secret: bytes) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if secret in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


@pytest.mark.django_db(transaction=True)  # written through to the database's files
def test_no_file_under_the_data_folder_ever_holds_a_card_in_clear(card_kind):
    number, password = "CLEAR7N3Q9X1", "PWCLEAR8K2M4"
    rows = [[number, password, valid_date()], *good_rows(2000)]
    data = Path(settings.DATA_DIR)
    upload = received(card_kind, csv_bytes(rows))
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")  # what the database holds is on disk now
    assert files_holding(data, number.encode()) == files_holding(data, password.encode()) == []
    upload = validate_upload(upload.pk)
    confirm_upload(upload)
    import_upload(upload.pk)
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    assert files_holding(data, number.encode()) == files_holding(data, password.encode()) == []
    assert Card.objects.count() == 2001


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_two_managers_confirming_at_once_import_once(card_kind):
    upload = checked(card_kind, csv_bytes(good_rows(3000)))
    start_at = time.time() + 2
    results = run_workers(
        "tests.cardpool.workers.confirm_and_import", [(upload.pk, start_at)] * 4, timeout=120
    )
    assert sorted(started for started, _ in results) == [False, False, False, True], results
    assert {status for _, status in results} == {"imported"}
    assert scalar("SELECT count(*) FROM cardpool_card") == 3000
    assert scalar("SELECT count(DISTINCT number_digest) FROM cardpool_card") == 3000
    assert scalar("SELECT count(*) FROM cardpool_cardbatch") == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_a_worker_killed_mid_import_leaves_the_pool_unchanged_and_the_upload_retryable(
    card_kind,
):
    upload = checked(card_kind, csv_bytes(good_rows(3000)))
    confirm_upload(upload)
    # Hold one of the upload's file slices: the import copies the cards into the pool, then
    # waits here to delete the slices, inside its transaction. Kill it there.
    with transaction.atomic():
        list(CardUploadPart.objects.filter(upload=upload).select_for_update()[:1])
        worker = start_worker("tests.cardpool.workers.import_upload_now", upload.pk)
        backend = wait_for(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE 'DELETE FROM \"cardpool_carduploadpart\"%'",
            worker,
        )
        assert scalar("SELECT count(*) FROM cardpool_card") == 0  # not committed: invisible
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    wait_for(f"SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = {backend})")

    upload.refresh_from_db()
    assert upload.status == "importing"
    assert scalar("SELECT count(*) FROM cardpool_card") == 0
    assert scalar("SELECT count(*) FROM cardpool_cardbatch") == 0
    assert StagedCard.objects.filter(upload=upload).count() == 3000

    assert confirm_upload(upload) is False  # too soon to tell a dead worker from a slow one
    CardUpload.objects.filter(pk=upload.pk).update(
        updated_at=timezone.now() - STALLED_AFTER - timedelta(seconds=1)
    )
    assert confirm_upload(upload) is True
    assert import_upload(upload.pk).status == "imported"
    assert scalar("SELECT count(*) FROM cardpool_card") == 3000


def wait_for(sql: str, worker=None, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker is not None and worker.poll() is not None:
            raise AssertionError(f"the worker ended: {worker.communicate()}")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else cached for the transaction
            cursor.execute(sql)
            row = cursor.fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    if worker is not None:
        worker.kill()
    raise AssertionError(f"timed out waiting for: {sql}")


def test_a_large_file_is_sealed_by_helper_processes_in_order(card_kind, settings, monkeypatch):
    from cardpool.services import uploads

    monkeypatch.setattr(uploads, "PARALLEL_FROM_ROWS", 3000)
    monkeypatch.setattr(uploads, "STAGE_EVERY", 1000)
    pools = []

    class CountedPool(uploads.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pools.append(self)

    monkeypatch.setattr(uploads, "ProcessPoolExecutor", CountedPool)
    settings.CARD_IMPORT_PROCESSES = 2
    upload = checked(card_kind, csv_bytes(good_rows(12_345)))
    assert len(pools) == 1
    assert (upload.status, upload.row_count) == ("validated", 12_345)
    staged = list(StagedCard.objects.filter(upload=upload).order_by("row"))
    assert [row.row for row in staged] == list(range(2, 12_347))
    for row in (staged[0], staged[7_000], staged[-1]):
        number = f"JD{row.row - 2:010d}"
        assert secrets.decrypt(row.number_encrypted) == number
        assert secrets.decrypt(row.password_encrypted) == f"PW-{row.row - 2:06d}"
        assert row.number_digest == secrets.number_digest(number)


def test_a_check_whose_worker_died_can_be_started_again_but_not_a_live_one(card_kind):
    from cardpool.services import retry_check

    upload = received(card_kind, csv_bytes(good_rows(3)))
    queued = []
    assert retry_check(upload, start=queued.append) is False  # just uploaded: not stalled
    CardUpload.objects.filter(pk=upload.pk).update(
        updated_at=timezone.now() - STALLED_AFTER - timedelta(seconds=1)
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert retry_check(upload, start=queued.append) is True
    assert queued == [upload]
    assert validate_upload(upload.pk).status == "validated"
    assert retry_check(upload, start=queued.append) is False  # checked: nothing to restart


def test_a_daemonic_worker_seals_in_its_own_process(card_kind, settings, monkeypatch):
    """A daemonic process may not start helpers (django-q2's workers are, unless told not to
    be): the check then encrypts everything itself instead of failing."""
    from types import SimpleNamespace

    from cardpool.services import uploads

    monkeypatch.setattr(uploads, "PARALLEL_FROM_ROWS", 1000)
    monkeypatch.setattr(uploads, "STAGE_EVERY", 1000)
    monkeypatch.setattr(uploads, "current_process", lambda: SimpleNamespace(daemon=True))
    monkeypatch.setattr(uploads, "ProcessPoolExecutor", None)  # would fail if used
    settings.CARD_IMPORT_PROCESSES = 2
    upload = checked(card_kind, csv_bytes(good_rows(3_500)))
    assert (upload.status, StagedCard.objects.filter(upload=upload).count()) == ("validated", 3500)


def test_the_legacy_upload_files_are_removed_once_by_a_migration(settings, tmp_path):
    """Old versions kept previews in clear under DATA_DIR/uploads: migration cardpool 0010
    deletes them; the purge schedule no longer looks for them every 15 minutes."""
    import importlib

    settings.DATA_DIR = tmp_path
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "preview-1.csv").write_text("4111,secret\n")
    migration = importlib.import_module("cardpool.migrations.0010_remove_legacy_upload_files")
    migration.remove_legacy_files(None, None)
    assert list((tmp_path / "uploads").iterdir()) == []
