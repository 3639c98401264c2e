"""4. Card import: 10,000 and 100,000 rows, CSV and XLSX, seconds and peak memory, against a raw
PostgreSQL COPY of the same (plaintext) rows. Each measurement runs in a fresh process."""

import io
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

from .common import median, run_parallel
from .database import libpq


def make_file(rows: int, fmt: str, folder: Path) -> Path:
    valid_until = (date.today() + timedelta(days=400)).isoformat()
    path = folder / f"cards-{rows}.{fmt}"
    if fmt == "csv":
        lines = ["card_no,card_password,valid_until"] + [
            f"IMP{fmt}{rows}{i:09d},PW{i:010d},{valid_until}" for i in range(rows)
        ]
        path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    else:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(["card_no", "card_password", "valid_until"])
        for i in range(rows):
            sheet.append([f"IMP{fmt}{rows}{i:09d}", f"PW{i:010d}", valid_until])
        workbook.save(path)
    return path


def import_worker(path: str, code: str) -> dict:
    from cardpool.models import CardKind
    from cardpool.services import import_cards

    kind, _ = CardKind.objects.get_or_create(code=code, defaults={"name": code, "face_value": 20})
    content = Path(path).read_bytes()
    started = time.perf_counter()
    batch = import_cards(kind=kind, file_name=Path(path).name, content=content)
    return {
        "seconds": time.perf_counter() - started,
        "rows": batch.row_count,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def copy_worker(url: str, path: str) -> dict:
    lines = Path(path).read_text(encoding="utf-8").splitlines()[1:]
    with psycopg.connect(libpq(url)) as db:
        db.execute(
            "CREATE TEMP TABLE raw_cards (card_no text, card_password text, valid_until date)"
        )
        started = time.perf_counter()
        with db.cursor().copy("COPY raw_cards FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(io.StringIO("\n".join(lines)).getvalue())
        db.commit()
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": len(lines),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run(quick: bool, url: str) -> dict:
    sizes = (10_000,) if quick else (10_000, 100_000)
    repeats = 1 if quick else 3
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            csv_path = make_file(rows, "csv", Path(folder))
            copies = [
                run_parallel("bench.imports.copy_worker", [(url, str(csv_path))])[0]
                for _ in range(repeats)
            ]
            results[f"copy:{rows}"] = {
                "seconds": median(c["seconds"] for c in copies),
                "peak_mb": copies[0]["peak_mb"],
            }
            for fmt in ("csv", "xlsx"):
                runs = []
                for attempt in range(repeats):
                    path = make_file(rows, fmt, Path(folder)) if fmt == "xlsx" else csv_path
                    code = f"I{fmt[0].upper()}{rows // 1000}K{attempt}"
                    runs.append(run_parallel("bench.imports.import_worker", [(str(path), code)])[0])
                    from django.db import connection

                    with (
                        connection.cursor() as cursor
                    ):  # the next run imports the same numbers again
                        cursor.execute(
                            "DELETE FROM cardpool_card WHERE kind_id = (SELECT id FROM cardpool_cardkind WHERE code = %s)",
                            [code],
                        )
                        cursor.execute(
                            "DELETE FROM cardpool_cardbatch WHERE kind_id = (SELECT id FROM cardpool_cardkind WHERE code = %s)",
                            [code],
                        )
                seconds = median(r["seconds"] for r in runs)
                results[f"{fmt}:{rows}"] = {
                    "seconds": seconds,
                    "peak_mb": max(r["peak_mb"] for r in runs),
                    "ratio_to_copy": seconds / results[f"copy:{rows}"]["seconds"],
                }
                print(
                    f"  import {fmt} {rows:>7,}: {seconds:6.2f} s, peak {results[f'{fmt}:{rows}']['peak_mb']:.0f} MB "
                    f"(COPY {results[f'copy:{rows}']['seconds']:.2f} s)",
                    flush=True,
                )
    return results
