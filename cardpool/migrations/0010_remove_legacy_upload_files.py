"""Versions before uploads were stored encrypted kept previews in clear under DATA_DIR/uploads:
delete whatever is left there, once (the purge schedule no longer looks every 15 minutes for
files that stopped being written long ago). Self-contained; nothing to undo."""

from pathlib import Path

from django.conf import settings
from django.db import migrations


def remove_legacy_files(apps, schema_editor):
    folder = Path(settings.DATA_DIR) / "uploads"
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)


class Migration(migrations.Migration):
    dependencies = [("cardpool", "0009_events_share_one_base")]
    operations = [migrations.RunPython(remove_legacy_files, migrations.RunPython.noop)]
