"""12. Finance's exports at a million rows: the grants of a period as CSV and XLSX through the
real path (``finance.services.write_export``: a server-side cursor read in chunks, the file
written as it goes), each in a fresh process, with its time and the process's peak memory,
against a raw ``COPY (SELECT the same columns) TO STDOUT`` into a file, measured in the same
run (the least any export can cost: the database writes the text itself)."""

import resource
import tempfile
import time
from pathlib import Path

import psycopg

from . import fixtures
from .common import median, run_parallel, scalar
from .database import libpq

COPY_SQL = """
COPY (
    SELECT g.grant_no, g.created_at, g.issued_at, g.status, g.origin, c.name, coalesce(k.code, ''),
           g.face_value,
           g.points, u.phone, i.invitee_phone, '****' || card.number_last4, g.voided_at,
           g.void_reason
    FROM rewards_grant g
    JOIN invitations_campaign c ON c.id = g.campaign_id
    LEFT JOIN cardpool_cardkind k ON k.id = g.card_kind_id  -- none: points only
    JOIN invitations_customer u ON u.id = g.inviter_id
    JOIN invitations_invitation i ON i.id = g.invitation_id
    LEFT JOIN cardpool_card card ON card.id = g.card_id
    ORDER BY g.created_at, g.id
) TO STDOUT WITH (FORMAT csv, HEADER)
"""


def export_worker(fmt: str, folder: str) -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from finance.services import file_of, request_export, write_export

    settings.EXPORT_DIR = folder
    user, _ = get_user_model().objects.get_or_create(
        username="bench-finance", defaults={"is_staff": True}
    )
    today = timezone.localdate()
    started = time.perf_counter()
    export = request_export(kind="grants", format=fmt, start=today, end=today, user=user)
    export = write_export(export.pk)
    return {
        "seconds": time.perf_counter() - started,
        "rows": export.rows,
        "file_mb": file_of(export).stat().st_size / 2**20,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def copy_worker(url: str, folder: str) -> dict:
    path = Path(folder) / "copy.csv"
    started = time.perf_counter()
    with psycopg.connect(libpq(url)) as connection, path.open("wb") as out:
        with connection.cursor().copy(COPY_SQL) as copy:
            for data in copy:
                out.write(data)
    return {
        "seconds": time.perf_counter() - started,
        "file_mb": path.stat().st_size / 2**20,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run(quick: bool, url: str) -> dict:
    rows = 20_000 if quick else 1_000_000
    kind = fixtures.card_kind("EX")
    campaign = fixtures.campaign(kind)
    fixtures.cards(kind, rows)
    fixtures.customers(rows, "861")
    fixtures.invitations(
        campaign, rows, status="qualified", inviter_prefix="861", phone_prefix="86"
    )
    fixtures.issued_grants(kind, campaign, rows, "EX")
    assert (
        scalar("SELECT count(*) FROM rewards_grant WHERE campaign_id = %s", [campaign.pk]) == rows
    )
    results = {"rows": rows}
    with tempfile.TemporaryDirectory() as folder:
        for fmt in ("csv", "xlsx"):
            runs, copies = [], []
            for _ in range(1 if quick or fmt == "xlsx" else 3):
                runs.append(run_parallel("bench.exports.export_worker", [(fmt, folder)])[0])
                copies.append(run_parallel("bench.exports.copy_worker", [(url, folder)])[0])
            seconds, copy_seconds = (
                median(r["seconds"] for r in runs),
                median(c["seconds"] for c in copies),
            )
            results[fmt] = {
                "seconds": seconds,
                "rows_per_second": rows / seconds,
                "peak_mb": max(r["peak_mb"] for r in runs),
                "file_mb": runs[0]["file_mb"],
                "copy_seconds": copy_seconds,
                "copy_peak_mb": max(c["peak_mb"] for c in copies),
                "ratio_to_copy": seconds / copy_seconds,
                "repeats": len(runs),
            }
            print(
                f"  export {fmt} {rows:,}: {seconds:.1f} s ({rows / seconds:,.0f} rows/s), peak"
                f" {results[fmt]['peak_mb']:.0f} MB; raw COPY {copy_seconds:.1f} s,"
                f" peak {results[fmt]['copy_peak_mb']:.0f} MB",
                flush=True,
            )
    return results
