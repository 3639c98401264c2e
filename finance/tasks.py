"""django-q2 entry points."""

from .services import remove_old_files as remove
from .services import write_export as write


def write_export(export_id: int) -> int:
    export = write(export_id)
    return export.rows if export else 0


def remove_old_exports() -> int:
    return remove()
