"""Asking for an export (recorded at once, queued for the worker cluster), writing it (with its
progress on the record), handing it over (to whoever asked, counted) and removing old files."""

import logging
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation

from core.privacy import FULL_PHONE_PERMISSION

from .exceptions import ExportRefused
from .exports import SOURCES
from .models import Export
from .writers import WRITERS

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 10_000  # rows between two updates of the record's count


def export_dir() -> Path:
    path = Path(settings.EXPORT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_of(export: Export) -> Path:
    return export_dir() / export.file_name


def request_export(*, kind: str, format: str, start: date, end: date, user) -> Export:
    """Record an export and queue its writing once the record is committed. Full phone numbers
    only for someone allowed to see them. Raises ``ExportRefused`` for a period out of order
    or longer than ``EXPORT_MAX_DAYS``."""
    if end < start:
        raise ExportRefused(ExportRefused.PERIOD_REVERSED)
    if (end - start).days + 1 > settings.EXPORT_MAX_DAYS:
        raise ExportRefused(ExportRefused.PERIOD_TOO_LONG, days=settings.EXPORT_MAX_DAYS)
    with transaction.atomic():
        export = Export.objects.create(
            kind=kind,
            format=format,
            period_start=start,
            period_end=end,
            full_phones=user.has_perm(FULL_PHONE_PERMISSION),
            requested_by=user,
        )
        transaction.on_commit(lambda: _queue(export.pk), robust=True)
    return export


WRITING_LIMIT = 3600  # seconds a worker may write one export (a million rows as XLSX: ~3 min)


def _queue(export_id: int) -> None:
    from django_q.tasks import async_task

    # its own time limit: the cluster's 100 s would kill a large export midway (the broker may
    # hand it out again after Q_CLUSTER's retry: the claim lets only one worker write it)
    async_task(
        "finance.tasks.write_export",
        export_id,
        task_name=f"export {export_id}",
        timeout=WRITING_LIMIT,
    )


def write_export(export_id: int) -> Export | None:
    """Write one queued export to its file, the record's count updated as it goes; the file
    appears whole (written aside, then renamed) or not at all. Returns None when another worker
    took it, or it is not queued any more."""
    taken = Export.objects.filter(pk=export_id, status=Export.Status.QUEUED).update(
        status=Export.Status.RUNNING, started_at=timezone.now()
    )
    if not taken:
        return None
    export = Export.objects.get(pk=export_id)
    source = SOURCES[export.kind]
    final = file_of(export)
    partial = final.with_name(final.name + ".part")

    def progress(count: int) -> None:
        if count % PROGRESS_EVERY == 0:
            Export.objects.filter(pk=export_id).update(rows=count)

    try:
        with translation.override(settings.LANGUAGE_CODE):  # the staff's, for the header
            count = WRITERS[export.format](partial, source.columns, source.rows(export), progress)
        partial.replace(final)
    except Exception as error:
        logger.exception("export %s failed", export_id)
        partial.unlink(missing_ok=True)
        Export.objects.filter(pk=export_id).update(
            status=Export.Status.FAILED, finished_at=timezone.now(), error=repr(error)[:500]
        )
        raise
    Export.objects.filter(pk=export_id).update(
        status=Export.Status.DONE, rows=count, finished_at=timezone.now()
    )
    export.refresh_from_db()
    return export


def hand_over(export: Export, user) -> Path:
    """The file of a finished export, for the person who asked for it only (the phones in it
    were chosen by their permission); counted. Raises ``ExportRefused``."""
    if export.requested_by_id != user.pk:
        raise ExportRefused(ExportRefused.NOT_YOURS)
    if export.full_phones and not user.has_perm(FULL_PHONE_PERMISSION):
        raise ExportRefused(ExportRefused.NO_LONGER_ALLOWED)
    if export.status != Export.Status.DONE or not file_of(export).exists():
        raise ExportRefused(ExportRefused.NOT_READY)
    Export.objects.filter(pk=export.pk).update(downloads=F("downloads") + 1)
    return file_of(export)


def remove_old_files() -> int:
    """Remove the files of exports older than ``EXPORT_KEEP_DAYS`` (they hold personal data);
    the records stay. An export still "being written" long after any worker could be writing
    it (its worker was killed) is marked failed and its partial file removed. Returns how many
    files went."""
    now = timezone.now()
    stuck = Export.objects.filter(
        status=Export.Status.RUNNING, started_at__lt=now - timedelta(seconds=2 * WRITING_LIMIT)
    )
    for export in stuck:
        file_of(export).with_name(export.file_name + ".part").unlink(missing_ok=True)
        Export.objects.filter(pk=export.pk, status=Export.Status.RUNNING).update(
            status=Export.Status.FAILED, finished_at=now, error="its worker stopped midway"
        )
    before = now - timedelta(days=settings.EXPORT_KEEP_DAYS)
    removed = 0
    for export in Export.objects.filter(status=Export.Status.DONE, created_at__lt=before):
        file_of(export).unlink(missing_ok=True)
        Export.objects.filter(pk=export.pk).update(status=Export.Status.REMOVED)
        removed += 1
    return removed
