"""A card file's way into the pool: upload → check → confirm → import, all rows or none.

- ``receive_upload`` stores the file encrypted, in slices, as a ``CardUpload`` (nothing in clear
  touches the disk) and returns at once; the web request does no parsing.
- ``validate_upload`` (a background task) reads the file once, checks every row, and writes the
  good ones, encrypted as they will be in the pool, to ``StagedCard`` in committed chunks, so the
  admin can show progress; duplicates inside the file and against the pool are then found in SQL.
- ``confirm_upload`` moves a checked upload to ``importing`` exactly once (a conditional UPDATE:
  two managers confirming at once start one import) and queues ``import_upload``.
- ``import_upload`` (a background task) copies the staged rows into the pool in one transaction,
  after checking the pool again under the import lock. A worker killed in the middle rolls it
  back whole; the upload stays ``importing`` and can be confirmed again.
- ``purge_expired_uploads`` (scheduled) deletes what an unfinished upload holds after its expiry.

``import_cards`` runs the same steps in one process (the command, the demo, tests).
"""

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from multiprocessing import current_process, get_context

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.locks import AdvisoryLock

from .. import secrets
from ..exceptions import KIND_SWITCHED_OFF, CardImportRejected
from ..lock_objects import kinds_for_update
from ..models import CardBatch, CardKind, CardUpload, CardUploadPart, StagedCard
from ..signals import cards_imported
from .importing import (
    ALREADY_IMPORTED,
    DUPLICATE_IN_FILE,
    DUPLICATE_IN_POOL,
    EMPTY_FILE,
    CardFile,
    CardRow,
    FileProblem,
    RowError,
    card_rows,
)
from .stock_counts import count_cards
from .upload_checks import Shapes, masked_password, shape, warnings_for

PART_BYTES = 1 << 20
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
STAGE_EVERY = 5000  # rows per committed chunk of staging (and per progress update)
KEPT_ERRORS = 1000  # problems stored with the upload; the count is always complete
SAMPLE_SIZE = 10
PARALLEL_FROM_ROWS = 50_000  # below, starting helper processes costs more than it saves
# Advisory locks (core.locks). IMPORT: one import into the pool at a time (two at once deadlocked
# on the digest index). (UPLOAD, id): a process is working on this upload; free means a
# worker died and the upload can be taken up again.
IMPORT_LOCK, UPLOAD_LOCK = AdvisoryLock.IMPORT, AdvisoryLock.UPLOAD
# A task that has not touched its upload for this long and holds no lock on it has died.
STALLED_AFTER = timedelta(seconds=60)
# Time a background task may take, from the file's size: measured at about 1 MB/s for the
# whole check (docs/benchmarks.md), with room; below django-q2's retry (300 s).
TASK_SECONDS_BASE = 60
TASK_SECONDS_PER_MB = 4
TASK_SECONDS_MAX = 280

FILE_TOO_LARGE = _("The file is larger than {limit} MB; split it into batches.")
STAGED_ROWS_LOST = _("The checked rows are gone (the upload expired); upload the file again.")

COPY_STAGED = (
    "COPY cardpool_stagedcard (upload_id, row, number_encrypted, password_encrypted,"
    " number_digest, number_last4, valid_until) FROM STDIN"
)
DUPLICATES_IN_FILE = """
    SELECT row, first_row, count(*) OVER () FROM (
        SELECT row, min(row) OVER (PARTITION BY number_digest) AS first_row
        FROM cardpool_stagedcard WHERE upload_id = %(upload)s
    ) rows WHERE row <> first_row ORDER BY row LIMIT %(limit)s
"""
DUPLICATES_IN_POOL = """
    SELECT staged.row, count(*) OVER () FROM cardpool_stagedcard staged
    WHERE staged.upload_id = %(upload)s
      AND EXISTS (SELECT 1 FROM cardpool_card card WHERE card.number_digest = staged.number_digest)
    ORDER BY staged.row LIMIT %(limit)s
"""
INSERT_CARDS = """
    INSERT INTO cardpool_card (kind_id, batch_id, number_encrypted, password_encrypted,
        number_digest, number_last4, valid_until, status, created_at, updated_at)
    SELECT %(kind)s, %(batch)s, number_encrypted, password_encrypted, number_digest,
        number_last4, valid_until, 'available', %(now)s, %(now)s
    FROM cardpool_stagedcard WHERE upload_id = %(upload)s
"""

Progress = Callable[[CardUpload], None]
UNFINISHED = [
    CardUpload.Status.UPLOADED,
    CardUpload.Status.VALIDATED,
    CardUpload.Status.IMPORTING,
]


def task_timeout(size_bytes: int) -> int:
    """Seconds a background task may take for a file of this size."""
    seconds = TASK_SECONDS_BASE + TASK_SECONDS_PER_MB * size_bytes / 2**20
    return int(min(seconds, TASK_SECONDS_MAX))


# --- upload --------------------------------------------------------------------------------


@transaction.atomic
def receive_upload(
    *,
    kind: CardKind,
    file_name: str,
    chunks: Iterable[bytes],
    supplier: str = "",
    actor=None,
) -> CardUpload:
    """Store a file encrypted, in slices, as a new upload waiting to be checked. Raises
    ``CardImportRejected`` for a file over ``MAX_UPLOAD_BYTES`` or a kind that is switched off
    (nothing is kept)."""
    if refusal := _kind_switched_off(kind):
        raise CardImportRejected([refusal])
    upload = CardUpload.objects.create(
        kind=kind,
        supplier=supplier,
        file_name=file_name[:255],
        content_sha256="",
        size_bytes=0,
        uploaded_by=actor,
        expires_at=timezone.now() + timedelta(hours=settings.CARD_UPLOAD_TTL_HOURS),
    )
    digest = hashlib.sha256()
    size = 0
    parts = 0
    for piece in _slices(chunks):
        size += len(piece)
        if size > MAX_UPLOAD_BYTES:  # raised inside the atomic block: nothing is kept
            raise CardImportRejected(
                [RowError(0, FILE_TOO_LARGE.format(limit=MAX_UPLOAD_BYTES // 2**20))]
            )
        digest.update(piece)
        CardUploadPart.objects.create(upload=upload, index=parts, data=secrets.encrypt_bytes(piece))
        parts += 1
    upload.content_sha256 = digest.hexdigest()
    upload.size_bytes = size
    upload.save(update_fields=["content_sha256", "size_bytes"])
    return upload


def _slices(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` of any sizes as slices of ``PART_BYTES`` (the last one shorter)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= PART_BYTES:
            yield bytes(buffer[:PART_BYTES])
            del buffer[:PART_BYTES]
    if buffer:
        yield bytes(buffer)


def _stored_file(upload: CardUpload) -> CardFile:
    def chunks() -> Iterator[bytes]:
        index = 0
        while True:
            data = (
                CardUploadPart.objects.filter(upload=upload, index=index)
                .values_list("data", flat=True)
                .first()
            )
            if data is None:
                return
            yield secrets.decrypt_bytes(bytes(data))
            index += 1

    return CardFile(upload.file_name, upload.size_bytes, chunks)


# --- check ---------------------------------------------------------------------------------


class _Problems:
    """The first ``KEPT_ERRORS`` problems in row order, and how many there were."""

    def __init__(self):
        self.kept: list[RowError] = []
        self.count = 0

    def add(self, errors: list[RowError]) -> None:
        """Problems found while reading, which come in row order: keeping the first is cheap."""
        self.count += len(errors)
        if len(self.kept) < KEPT_ERRORS:
            self.kept.extend(errors[: KEPT_ERRORS - len(self.kept)])

    def merge(self, errors: Iterable[RowError], count: int) -> None:
        """Problems found afterwards (in SQL), anywhere in the file."""
        self.count += count
        self.kept = sorted([*self.kept, *errors], key=lambda error: error.row)[:KEPT_ERRORS]


def _already_imported(upload: CardUpload) -> RowError | None:
    previous = CardBatch.objects.filter(content_sha256=upload.content_sha256).first()
    if previous is None:
        return None
    when = timezone.localtime(previous.imported_at).strftime("%Y-%m-%d %H:%M")
    return RowError(0, ALREADY_IMPORTED.format(batch=previous.pk, when=when))


def _kind_switched_off(kind: CardKind) -> RowError | None:
    """A switched-off kind takes no batch, whichever path imports it (admin or command)."""
    return None if kind.is_active else RowError(0, KIND_SWITCHED_OFF.format(kind=kind.code))


def validate_upload(upload_id: int, *, progress: Progress | None = None) -> CardUpload:
    """Check every row of an upload and stage the good ones. Ends ``validated`` or ``failed``
    (with every problem's row); does nothing if another process is already checking it or it is
    no longer waiting to be checked. Returns the upload."""
    with _working_on(upload_id) as mine:
        upload = CardUpload.objects.get(pk=upload_id)
        if not mine or upload.status != CardUpload.Status.UPLOADED:
            return upload
        StagedCard.objects.filter(upload=upload).delete()  # a previous attempt's rows
        problems = _Problems()
        shapes = Shapes()
        if refusal := _already_imported(upload):
            problems.add([refusal])
        elif _stage(upload, problems, progress, shapes):
            _find_duplicates(upload, problems)
        upload.shapes = shapes.kept()
        upload.warnings = warnings_for(upload, shapes)
        _finish_check(upload, problems)
        if progress:
            progress(upload)
        return upload


def _stage(
    upload: CardUpload, problems: _Problems, progress: Progress | None, shapes: Shapes
) -> bool:
    """Read every row; stage the good ones. False when the file could not be read at all."""
    source = _stored_file(upload)
    upload.row_count = 0
    batch: list[CardRow] = []
    with _Sealer() as sealer:
        try:
            for parsed in card_rows(upload.kind, source):
                upload.row_count += 1
                if isinstance(parsed, list):
                    problems.add(parsed)
                    continue
                shapes.add(parsed.number, parsed.password, parsed.valid_until)
                if len(upload.sample) < SAMPLE_SIZE:
                    upload.sample.append(_masked(parsed))
                batch.append(parsed)  # staged even in a refused file: its duplicates are reported
                if len(batch) == STAGE_EVERY:
                    for rows, sealed in sealer.seal(batch):
                        _write_staged(upload, rows, sealed)
                        _report(upload, source.fraction, progress)
                    batch = []
        except FileProblem as problem:
            problems.add([RowError(0, str(problem))])
            return False
        for rows, sealed in sealer.seal(batch, last=True):
            _write_staged(upload, rows, sealed)
    if upload.row_count == 0:
        problems.add([RowError(0, EMPTY_FILE)])
    return True


class _Sealer:
    """Encrypts and digests staged rows: in this process while the file is small; from
    ``PARALLEL_FROM_ROWS`` rows on, in helper processes (one per core: encryption is most of a
    check's time) while this process goes on reading and writing. Batches come back in the
    order they were given."""

    def __init__(self):
        self.pool = None
        self.rows = 0
        self.waiting: deque = deque()
        self.keys = (tuple(settings.CARD_ENCRYPTION_KEYS), settings.CARD_NUMBER_DIGEST_KEY)

    def __enter__(self) -> "_Sealer":
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def _start_helpers(self) -> None:
        if (
            self.pool is None
            and settings.CARD_IMPORT_PROCESSES > 1
            and self.rows >= PARALLEL_FROM_ROWS
            and not current_process().daemon  # a daemonic process may not start any
        ):  # spawned: the helpers import cardpool.secrets and cryptography, not Django
            self.pool = ProcessPoolExecutor(
                settings.CARD_IMPORT_PROCESSES, mp_context=get_context("spawn")
            )

    def seal(self, rows: list[CardRow], last: bool = False):
        """Yields ``(rows, sealed rows)`` for every batch that is done (all of them if last)."""
        self.rows += len(rows)
        self._start_helpers()
        pairs = [(row.number, row.password) for row in rows]
        if rows and self.pool is None:
            self.waiting.append((rows, secrets.sealed_rows(*self.keys, pairs)))
        elif rows:
            self.waiting.append((rows, self.pool.submit(secrets.sealed_rows, *self.keys, pairs)))
        in_flight = 0 if self.pool is None else settings.CARD_IMPORT_PROCESSES
        while self.waiting and (last or len(self.waiting) > in_flight):
            done, sealed = self.waiting.popleft()
            yield done, sealed if isinstance(sealed, list) else sealed.result()


def _masked(row: CardRow) -> dict:
    return {
        "row": row.row,
        "card_no": secrets.mask_number(row.number),
        "card_password": masked_password(row.password),
        "card_password_shape": shape(row.password),
        "valid_until": row.valid_until.isoformat(),
    }


def _write_staged(upload: CardUpload, rows: list[CardRow], sealed: list[tuple]) -> None:
    with connection.cursor() as cursor, cursor.cursor.copy(COPY_STAGED) as copy:
        for row, (number, password, digest) in zip(rows, sealed, strict=True):
            copy.write_row(
                (upload.pk, row.row, number, password, digest, row.number[-4:], row.valid_until)
            )


def _report(upload: CardUpload, fraction: float, progress: Progress | None) -> None:
    upload.progress = round(fraction, 4)
    CardUpload.objects.filter(pk=upload.pk).update(
        row_count=upload.row_count, progress=upload.progress, updated_at=timezone.now()
    )
    if progress:
        progress(upload)


def _find_duplicates(upload: CardUpload, problems: _Problems) -> None:
    parameters = {"upload": upload.pk, "limit": KEPT_ERRORS}
    with connection.cursor() as cursor:
        cursor.execute(DUPLICATES_IN_FILE, parameters)
        found = cursor.fetchall()
        problems.merge(
            (RowError(row, DUPLICATE_IN_FILE.format(first=first)) for row, first, _ in found),
            count=found[0][2] if found else 0,
        )
    _pool_duplicates(upload, problems)


def _pool_duplicates(upload: CardUpload, problems: _Problems) -> None:
    with connection.cursor() as cursor:
        cursor.execute(DUPLICATES_IN_POOL, {"upload": upload.pk, "limit": KEPT_ERRORS})
        found = cursor.fetchall()
    problems.merge(
        (RowError(row, DUPLICATE_IN_POOL) for row, _ in found), count=found[0][1] if found else 0
    )


def _finish_check(upload: CardUpload, problems: _Problems) -> None:
    if problems.count:
        StagedCard.objects.filter(upload=upload).delete()
        upload.status = CardUpload.Status.FAILED
        upload.errors = [
            {"row": error.row, "message": str(error.message)} for error in problems.kept
        ]
        upload.error_count = problems.count
        CardUploadPart.objects.filter(upload=upload).delete()
    else:
        upload.status = CardUpload.Status.VALIDATED
        upload.progress = 1.0
    upload.save()


# --- confirm and import --------------------------------------------------------------------


def confirm_upload(upload: CardUpload, *, actor=None, start: Callable | None = None) -> bool:
    """Start importing a checked upload; ``start(upload)`` queues the import (after commit).

    Returns True when this call started (or, after a dead worker, restarted) the import; False
    when someone else already did or the upload is not ready."""
    with transaction.atomic():
        started = CardUpload.objects.filter(
            pk=upload.pk, status=CardUpload.Status.VALIDATED
        ).update(status=CardUpload.Status.IMPORTING, confirmed_by=actor, updated_at=timezone.now())
        if not started and not _restartable(upload, CardUpload.Status.IMPORTING):
            return False
        if start:
            transaction.on_commit(lambda: start(upload))
    upload.refresh_from_db()
    return True


def retry_check(upload: CardUpload, *, start: Callable) -> bool:
    """Queue the check again when the worker checking the upload died. True if queued."""
    with transaction.atomic():
        if not _restartable(upload, CardUpload.Status.UPLOADED):
            return False
        transaction.on_commit(lambda: start(upload))
    return True


def _restartable(upload: CardUpload, status: str) -> bool:
    """The upload is in ``status`` but nobody has touched it for a while and no process holds
    its lock: its worker died (in a transaction of the caller)."""
    current = CardUpload.objects.filter(pk=upload.pk).values("status", "updated_at").first()
    if not current or current["status"] != status:
        return False
    if timezone.now() - current["updated_at"] < STALLED_AFTER:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [UPLOAD_LOCK, upload.pk])
        free = cursor.fetchone()[0]
    if free:
        CardUpload.objects.filter(pk=upload.pk).update(updated_at=timezone.now())
    return free


@transaction.atomic(durable=True)
def import_upload(upload_id: int) -> CardUpload:
    """Copy a confirmed upload's staged rows into the pool as a new batch, or, if the pool
    gained one of its cards meanwhile, refuse it whole (``failed``, with the rows). Idempotent:
    an upload that is not ``importing`` is left as it is."""
    with connection.cursor() as cursor:
        # This upload first (so a confirmation sees a live import), then the pool.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [UPLOAD_LOCK, upload_id])
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
    upload = CardUpload.objects.select_for_update().select_related("kind").get(pk=upload_id)
    if upload.status != CardUpload.Status.IMPORTING:
        return upload
    problems = _Problems()
    # locked: a kind switched off while the upload waited for confirmation takes no batch
    if refusal := _kind_switched_off(kinds_for_update().get(pk=upload.kind_id)):
        problems.add([refusal])
    elif refusal := _already_imported(upload):
        problems.add([refusal])
    elif StagedCard.objects.filter(upload=upload).count() != upload.row_count:
        problems.add([RowError(0, STAGED_ROWS_LOST)])
    else:
        _pool_duplicates(upload, problems)
    if problems.count:
        _finish_check(upload, problems)
        return upload
    batch = CardBatch.objects.create(
        kind=upload.kind,
        supplier=upload.supplier,
        file_name=upload.file_name,
        content_sha256=upload.content_sha256,
        imported_by=upload.confirmed_by or upload.uploaded_by,
        row_count=upload.row_count,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT_CARDS,
            {"kind": upload.kind_id, "batch": batch.pk, "now": timezone.now(), "upload": upload.pk},
        )
    StagedCard.objects.filter(upload=upload).delete()
    CardUploadPart.objects.filter(upload=upload).delete()
    upload.status = CardUpload.Status.IMPORTED
    upload.batch = batch
    upload.save()
    # Rewards waiting for this kind get their cards right after the commit, not at the next
    # schedule (which stays the safety net: a failure here is logged, the import stands).
    kind = upload.kind
    transaction.on_commit(lambda: cards_imported.send(sender=CardUpload, kind=kind), robust=True)
    transaction.on_commit(count_cards, robust=True)  # the staff see the new stock at once
    return upload


# --- purge ---------------------------------------------------------------------------------


def purge_expired_uploads() -> int:
    """Delete what unfinished uploads past their expiry hold (file slices, staged rows); the
    upload's record stays, ``expired``. Returns how many were purged."""
    purged = 0
    expired = CardUpload.objects.filter(expires_at__lte=timezone.now(), status__in=UNFINISHED)
    for upload_id in list(expired.values_list("pk", flat=True)):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [UPLOAD_LOCK, upload_id])
                if not cursor.fetchone()[0]:
                    continue  # being checked or imported right now: next time
            CardUploadPart.objects.filter(upload_id=upload_id).delete()
            StagedCard.objects.filter(upload_id=upload_id).delete()
            purged += CardUpload.objects.filter(pk=upload_id, status__in=UNFINISHED).update(
                status=CardUpload.Status.EXPIRED, updated_at=timezone.now()
            )
    return purged


class _working_on:
    """Holds the upload's session-level advisory lock for a multi-transaction task; ``mine``
    is False when another process holds it."""

    def __init__(self, upload_id: int):
        self.upload_id = upload_id

    def __enter__(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [UPLOAD_LOCK, self.upload_id])
            self.mine = cursor.fetchone()[0]
        return self.mine

    def __exit__(self, *exc) -> None:
        if self.mine:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [UPLOAD_LOCK, self.upload_id])


# --- in one process ------------------------------------------------------------------------


def import_cards(
    *,
    kind: CardKind,
    file_name: str,
    content: bytes,
    supplier: str = "",
    actor=None,
    progress: Callable[[int, int], None] | None = None,
) -> CardBatch:
    """Upload, check and import a file in this process: every card in a new batch, or none.

    Raises ``CardImportRejected`` (with every problem and its row) and writes nothing to the
    pool when any row is bad, the file is unreadable or empty, or it was imported before.
    ``progress(rows_read, percent)`` is called as the check goes on."""
    upload = receive_upload(
        kind=kind, file_name=file_name, chunks=[content], supplier=supplier, actor=actor
    )
    return import_received(upload, actor=actor, progress=progress)


def import_received(upload: CardUpload, *, actor=None, progress=None) -> CardBatch:
    report = (lambda u: progress(u.row_count, int(u.progress * 100))) if progress else None
    upload = validate_upload(upload.pk, progress=report)
    if upload.status == CardUpload.Status.VALIDATED:
        confirm_upload(upload, actor=actor)
        upload = import_upload(upload.pk)
    if upload.status != CardUpload.Status.IMPORTED:
        upload.refresh_from_db()
        raise CardImportRejected(upload_problems(upload))
    return upload.batch


def upload_problems(upload: CardUpload) -> list[RowError]:
    return [RowError(error["row"], error["message"]) for error in upload.errors]
