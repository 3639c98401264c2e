import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cardpool.exceptions import CardImportRejected
from cardpool.models import CardKind
from cardpool.services import receive_upload
from cardpool.services.upload_checks import upload_warnings
from cardpool.services.uploads import MAX_UPLOAD_BYTES, PART_BYTES, import_received


class Command(BaseCommand):
    help = "Import a supplier's card file (CSV in UTF-8 or GBK, or XLSX): every row or none."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--kind", required=True, help="Card kind code, for example JD20.")
        parser.add_argument("--supplier", default="")

    def handle(self, *args, file: Path, kind: str, supplier: str, **options):
        try:
            card_kind = CardKind.objects.get(code=kind)
        except CardKind.DoesNotExist:
            known = ", ".join(CardKind.objects.values_list("code", flat=True)) or "none"
            raise CommandError(f"Unknown card kind {kind!r} (known: {known}).") from None
        try:
            size = file.stat().st_size
            if size > MAX_UPLOAD_BYTES:  # the admin's limit, checked before reading anything
                raise CommandError(
                    f"{file.name} is {size / 2**20:.0f} MB; the limit is "
                    f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB. Split it into batches."
                )
            with file.open("rb") as stream:
                upload = receive_upload(
                    kind=card_kind,
                    file_name=file.name,
                    chunks=iter(lambda: stream.read(PART_BYTES), b""),
                    supplier=supplier,
                )
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        except CardImportRejected as rejected:  # refused before a row was read
            raise CommandError(f"{file.name}: nothing imported. {rejected}") from None

        def progress(rows: int, percent: int) -> None:
            sys.stderr.write(f"\rchecked {rows} rows ({percent}%)")

        try:
            batch = import_received(
                upload, progress=progress if options["verbosity"] >= 1 else None
            )
        except CardImportRejected as rejected:
            upload.refresh_from_db()
            if options["verbosity"] >= 1:
                sys.stderr.write("\n")
            for error in rejected.errors:
                self.stderr.write(str(error))
            more = upload.error_count - len(rejected.errors)
            if more > 0:
                self.stderr.write(f"... and {more} more.")
            raise CommandError(
                f"{file.name}: nothing imported, {upload.error_count} problem(s) listed above."
            ) from None
        if options["verbosity"] >= 1:
            sys.stderr.write("\n")
        upload.refresh_from_db()
        for warning in upload_warnings(upload):
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {batch.row_count} {card_kind.code} cards as batch #{batch.pk}."
            )
        )
