"""4. Card import: 100,000 and 1,000,000 rows, CSV and XLSX, through the real path (store the
upload encrypted, check and stage every row, import), with the time of each step and the peak
memory of the process, against a raw ``COPY`` of the same already-encrypted rows into a table
shaped like the pool (same indexes), measured in the same run. Each import runs in a fresh
process; the file is streamed from disk as the command does."""

import io
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

from .common import median, run_parallel
from .database import libpq


def make_file(rows: int, fmt: str, folder: Path, tag: str) -> Path:
    valid_until = (date.today() + timedelta(days=400)).isoformat()
    path = folder / f"cards-{tag}-{rows}.{fmt}"
    numbers = (f"IMP{tag}{i:09d}" for i in range(rows))
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as file:
            file.write("card_no,card_password,valid_until\r\n")
            for i, number in enumerate(numbers):
                file.write(f"{number},PW{i:010d},{valid_until}\r\n")
    else:  # as Excel writes a workbook: text in the shared strings, the date a styled number
        from tests.cardpool.files import excel_xlsx

        path.write_bytes(
            excel_xlsx([[number, f"PW{i:010d}", valid_until] for i, number in enumerate(numbers)])
        )
    return path


def file_worker(rows: int, fmt: str, folder: str, tag: str) -> str:
    return str(make_file(rows, fmt, Path(folder), tag))


def import_worker(path: str, code: str) -> dict:
    """The command's steps, timed one by one."""
    from cardpool.models import CardKind
    from cardpool.services import confirm_upload, import_upload, receive_upload, validate_upload
    from cardpool.services.uploads import PART_BYTES

    kind, _ = CardKind.objects.get_or_create(code=code, defaults={"name": code, "face_value": 20})
    times = {}
    started = time.perf_counter()
    with open(path, "rb") as stream:
        upload = receive_upload(
            kind=kind, file_name=Path(path).name, chunks=iter(lambda: stream.read(PART_BYTES), b"")
        )
    times["store"] = time.perf_counter() - started
    mark = time.perf_counter()
    upload = validate_upload(upload.pk)
    assert upload.status == "validated", upload.errors[:3]
    times["check"] = time.perf_counter() - mark
    mark = time.perf_counter()
    confirm_upload(upload)
    upload = import_upload(upload.pk)
    assert upload.status == "imported", upload.errors[:3]
    times["import"] = time.perf_counter() - mark
    return {
        "seconds": time.perf_counter() - started,
        "steps": times,
        "rows": upload.row_count,
        "batch": upload.batch_id,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def breakdown_worker(path: str, code: str) -> dict:
    """Where the check's time goes: reading and checking rows, the digest, the encryption, each
    measured alone over the same rows (the rest of the check is staging and the SQL checks)."""
    from cardpool import secrets
    from cardpool.models import CardKind
    from cardpool.services.importing import CardFile, card_rows

    kind = CardKind.objects.get(code=code)
    content = Path(path).read_bytes()
    started = time.perf_counter()
    rows = [row for row in card_rows(kind, CardFile.from_bytes(Path(path).name, content))]
    parse = time.perf_counter() - started
    started = time.perf_counter()
    for row in rows:
        secrets.number_digest(row.number)
    digest = time.perf_counter() - started
    started = time.perf_counter()
    for row in rows:
        secrets.encrypt(row.number)
        secrets.encrypt(row.password)
    encrypt = time.perf_counter() - started
    return {"read and check rows": parse, "digest": digest, "encrypt": encrypt}


def copy_worker(url: str, batch: int) -> dict:
    """The same encrypted rows, already in memory, COPYed into a table like the pool."""
    with psycopg.connect(libpq(url)) as db:
        buffer = io.BytesIO()
        with db.cursor().copy(
            "COPY (SELECT kind_id, batch_id, number_encrypted, password_encrypted, number_digest,"
            " number_last4, valid_until, status, created_at, updated_at FROM cardpool_card"
            f" WHERE batch_id = {int(batch)}) TO STDOUT"
        ) as copy:
            for block in copy:
                buffer.write(block)
        db.execute("CREATE TEMP TABLE raw_cards (LIKE cardpool_card INCLUDING ALL)")
        data = buffer.getvalue()
        started = time.perf_counter()
        with db.cursor().copy(
            "COPY raw_cards (kind_id, batch_id, number_encrypted, password_encrypted,"
            " number_digest, number_last4, valid_until, status, created_at, updated_at)"
            " FROM STDIN"
        ) as copy:
            copy.write(data)
        db.commit()
        seconds = time.perf_counter() - started
    return {"seconds": seconds}


def _forget(code: str) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        # the next run imports the same numbers again; nothing refers to these cards, and the
        # foreign keys' checks, one per card and table, took minutes at a million cards
        cursor.execute("SET LOCAL session_replication_role = replica")
        for sql in (
            "UPDATE cardpool_cardupload SET batch_id = NULL, status = 'expired' WHERE kind_id ="
            " (SELECT id FROM cardpool_cardkind WHERE code = %s)",
            "DELETE FROM cardpool_card WHERE kind_id ="
            " (SELECT id FROM cardpool_cardkind WHERE code = %s)",
            "DELETE FROM cardpool_cardbatch WHERE kind_id ="
            " (SELECT id FROM cardpool_cardkind WHERE code = %s)",
        ):
            cursor.execute(sql, [code])


def run(quick: bool, url: str) -> dict:
    sizes = (10_000,) if quick else (100_000, 1_000_000)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            repeats = 1 if quick or rows >= 1_000_000 else 3
            for fmt in ("csv", "xlsx"):
                # written by another process: a worker's peak counts its parent's size when it
                # was started (Linux keeps the peak across exec), and writing a workbook's shared
                # strings grows a process by a gigabyte at a million rows
                path = Path(
                    run_parallel(
                        "bench.imports.file_worker",
                        [(rows, fmt, folder, f"{fmt[0]}{rows // 1000}K")],
                    )[0]
                )
                runs, copies = [], []
                for attempt in range(repeats):
                    code = f"I{fmt[0].upper()}{rows // 1000}K{attempt}"
                    done = run_parallel("bench.imports.import_worker", [(str(path), code)])[0]
                    # interleaved: the baseline right after the run it is compared with
                    copies.append(
                        run_parallel("bench.imports.copy_worker", [(url, done["batch"])])[0]
                    )
                    runs.append(done)
                    if attempt == 0:
                        breakdown = run_parallel(
                            "bench.imports.breakdown_worker", [(str(path), code)]
                        )[0]
                    _forget(code)
                seconds = median(r["seconds"] for r in runs)
                copy_seconds = median(c["seconds"] for c in copies)
                steps = {step: median(r["steps"][step] for r in runs) for step in runs[0]["steps"]}
                results[f"{fmt}:{rows}"] = {
                    "seconds": seconds,
                    "rows_per_second": rows / seconds,
                    "peak_mb": max(r["peak_mb"] for r in runs),
                    "copy_seconds": copy_seconds,
                    "ratio_to_copy": seconds / copy_seconds,
                    "steps": steps,
                    "breakdown": breakdown,
                    "file_mb": path.stat().st_size / 2**20,
                    "repeats": repeats,
                }
                print(
                    f"  import {fmt} {rows:>9,}: {seconds:6.1f} s ({rows / seconds:,.0f} rows/s),"
                    f" peak {results[f'{fmt}:{rows}']['peak_mb']:.0f} MB, steps"
                    f" {', '.join(f'{k} {v:.1f}' for k, v in steps.items())},"
                    f" raw COPY {copy_seconds:.1f} s",
                    flush=True,
                )
    return results
