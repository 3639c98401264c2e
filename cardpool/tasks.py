"""django-q2 entry points: parse nothing, call one service."""

from django_q.tasks import async_task

from .models import CardUpload
from .services import expire_cards, import_upload, purge_expired_uploads, validate_upload
from .services.stock_counts import count_cards
from .services.uploads import task_timeout


def expire_cards_task() -> int:
    return expire_cards()


def purge_expired_uploads_task() -> int:
    return purge_expired_uploads()


def count_cards_task() -> int:
    return count_cards()


def validate_upload_task(upload_id: int) -> str:
    return validate_upload(upload_id).status


def import_upload_task(upload_id: int) -> str:
    return import_upload(upload_id).status


def queue_check(upload: CardUpload) -> None:
    _queue(validate_upload_task, upload, "check")


def queue_import(upload: CardUpload) -> None:
    _queue(import_upload_task, upload, "import")


def _queue(task, upload: CardUpload, step: str) -> None:
    async_task(
        task,
        upload.pk,
        task_name=f"{step} card upload {upload.pk}",
        timeout=task_timeout(upload.size_bytes),
    )
