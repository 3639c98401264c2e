"""1c. The grant path against fair baselines, measured in the same run, interleaved.

- ``grant_reward`` (the service, one invitation per transaction) against the *same transaction
  in raw psycopg*: the same 9 statements with the same locks, the same checks in Python, on a
  psycopg connection with the same settings (server-side binding, statements prepared after 5
  runs). The ratio is what Django costs on this path.
- ``grant_rewards`` (the set-based path, batches of 50, 100 and 200) against the *single UPDATE ...
  SKIP LOCKED* in autocommit that takes one card: the physical reference, a tenth of the work of
  a grant.

Every worker is a fresh process that sets Django up, connects, says it is ready and waits until
all are, so no worker starts late. Throughput is grants over the time from the first start to
the last end; each figure is the median of the rounds, each ratio the median of the ratios
paired within a round. Duplicates (a card or an invitation granted twice) are counted with SQL
after every run.
"""

import datetime
import os
import tempfile
import time
from pathlib import Path

import psycopg
from django.db import connection

from invitations.models import Invitation

from . import fixtures
from .common import median, run_parallel, scalar
from .database import libpq
from .grants import SKIP_LOCKED_SQL

BATCH_SIZES = (50, 100, 200)
LOCK_INVITATION = """
SELECT i.id, i.status, i.inviter_id, i.campaign_id, u.is_flagged_for_review, c.card_kind_id, k.face_value,
       c.points, c.max_rewards_per_inviter, c.is_paused, c.is_flagged_for_review
FROM invitations_invitation i
JOIN invitations_campaign c ON i.campaign_id = c.id
JOIN cardpool_cardkind k ON c.card_kind_id = k.id
JOIN invitations_customer u ON i.inviter_id = u.id
WHERE i.id = %s LIMIT 21 FOR UPDATE OF i
"""
REWARD_STATE = """
SELECT (SELECT g.id FROM rewards_grant g WHERE NOT (g.status = 'void') AND g.invitation_id = i.id
        ORDER BY g.created_at DESC, g.id DESC LIMIT 1),
       EXISTS (SELECT 1 FROM rewards_unrewardedinvitation r WHERE r.invitation_id = i.id LIMIT 1)
FROM invitations_invitation i WHERE i.id = %s LIMIT 21
"""
LOCK_INVITER = "SELECT id FROM invitations_customer WHERE id = %s ORDER BY 1 FOR UPDATE"
LIVE_GRANTS = """
SELECT count(*) FROM rewards_grant
WHERE NOT (status = 'void') AND campaign_id = %s AND inviter_id = %s
"""
AVAILABLE = """
SELECT id, valid_until FROM cardpool_card
WHERE kind_id = %s AND status = %s AND valid_until >= %s
ORDER BY valid_until, id LIMIT 1 FOR UPDATE SKIP LOCKED
"""
GRANT_NO = "SELECT nextval('rewards_grant_no_seq')"


def _statements() -> tuple[str, str, dict]:
    """The two statements the service builds from text (card with event; grant with points and
    events), as it sends them."""
    from django.conf import settings

    from cardpool.services.allocation import _TAKE_CARDS
    from rewards import batch_writes

    insert = (batch_writes.INSERT_GRANTS + batch_writes._POINTS_AND_EVENTS).format(
        columns=batch_writes._COLUMNS,
        qualified_columns=batch_writes._QUALIFIED_COLUMNS,
        message_kind=batch_writes._MESSAGE_KIND,
    )
    constants = {**batch_writes._CONSTANTS, "burst": settings.MESSAGE_BURST_SECONDS}
    return _TAKE_CARDS.format(query=AVAILABLE), insert, constants


def gather(folder: str, parties: int) -> float:
    """Say this worker is ready, wait until all ``parties`` are, and return the start time."""
    Path(folder, str(os.getpid())).touch()
    while len(list(Path(folder).iterdir())) < parties:
        time.sleep(0.002)
    return time.time()


def _finish(started: float, done: int) -> dict:
    return {"start": started, "end": time.time(), "done": done}


def service_worker(invitation_ids: list[int], folder: str, parties: int) -> dict:
    from rewards.services import grant_reward

    connection.ensure_connection()
    started = gather(folder, parties)
    for invitation_id in invitation_ids:
        grant_reward(Invitation(pk=invitation_id))
    return _finish(started, len(invitation_ids))


def batch_worker(invitation_ids: list[int], size: int, folder: str, parties: int) -> dict:
    from rewards.services import grant_rewards

    connection.ensure_connection()
    started = gather(folder, parties)
    for index in range(0, len(invitation_ids), size):
        grant_rewards(invitation_ids[index : index + size])
    return _finish(started, len(invitation_ids))


def raw_same_sql_worker(url: str, invitation_ids: list[int], folder: str, parties: int) -> dict:
    """``grant_reward``'s transaction written by hand: same statements, locks and checks."""
    from rewards.numbers import _grant_no

    take_card, insert_grant, constants = _statements()
    with psycopg.connect(libpq(url), prepare_threshold=5) as db:
        started = gather(folder, parties)
        for invitation_id in invitation_ids:
            with db.transaction():
                row = db.execute(LOCK_INVITATION, [invitation_id]).fetchone()
                _, status, inviter_id, campaign_id, inviter_flagged, kind_id, face_value = row[:7]
                points, cap, paused, campaign_flagged = row[7:]
                if status != "qualified":
                    raise RuntimeError("not qualified")
                live_grant, unrewarded = db.execute(REWARD_STATE, [invitation_id]).fetchone()
                if live_grant is not None or unrewarded:
                    continue
                db.execute(LOCK_INVITER, [inviter_id]).fetchall()
                (live,) = db.execute(LIVE_GRANTS, [campaign_id, inviter_id]).fetchone()
                if live >= cap or paused or campaign_flagged or inviter_flagged:
                    raise RuntimeError("the bench's invitations are never capped or held")
                horizon = datetime.date.today() + datetime.timedelta(days=30)
                card_parameters = [kind_id, "available", horizon, "assigned", "assigned"]
                card_parameters += ["available", "assigned", "rewards"]
                (card_id,) = db.execute(take_card, card_parameters).fetchone()
                (value,) = db.execute(GRANT_NO).fetchone()
                batch = {
                    "grant_no": [_grant_no(value)],
                    "invitation_id": [invitation_id],
                    "inviter_id": [inviter_id],
                    "campaign_id": [campaign_id],
                    "card_id": [card_id],
                    "card_kind_id": [kind_id],  # the terms, as the grant records them
                    "face_value": [face_value],
                    "points": [points],
                    "cap": [cap],
                    "side": ["inviter"],
                    "place": [live + 1],  # the bench's inviters void nothing: places = live
                    "status": ["issued"],
                    "hold_reason": [""],
                    "with_created": True,
                }
                db.execute(insert_grant, {**batch, **constants}).fetchall()
        return _finish(started, len(invitation_ids))


def single_update_worker(url: str, kind_id: int, count: int, folder: str, parties: int) -> dict:
    with psycopg.connect(libpq(url), autocommit=True, prepare_threshold=5) as db:
        started = gather(folder, parties)
        done = 0
        while done < count:
            if db.execute(SKIP_LOCKED_SQL, [kind_id]).fetchone() is not None:
                done += 1
        return _finish(started, done)


_runs = {"prefix": 700}  # customers 1700xxxxxxx and up: other sections use 1100-1699


def _qualified(count: int) -> tuple[int, list[int]]:
    """A fresh card kind with enough cards and ``count`` qualified invitations, each from its
    own inviter (no cap, no hold); returns the kind and the invitation ids."""
    _runs["prefix"] += 1
    prefix = str(_runs["prefix"])
    campaign = fixtures.qualified_of_own_inviters(count, prefix, "GP", spare=100)
    ids = list(
        Invitation.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)
    )
    return campaign.card_kind_id, ids


def _duplicates(kind_id: int) -> int:
    return scalar(
        "SELECT (SELECT count(*) - count(DISTINCT card_id) FROM rewards_grant g "
        "JOIN invitations_campaign c ON c.id = g.campaign_id WHERE c.card_kind_id = %s) + "
        "(SELECT count(*) - count(DISTINCT invitation_id) FROM rewards_grant g "
        "JOIN invitations_campaign c ON c.id = g.campaign_id WHERE c.card_kind_id = %s)",
        [kind_id, kind_id],
    )


def _one_run(variant: str, processes: int, count: int, url: str) -> tuple[float, int]:
    kind_id, ids = _qualified(count)
    slices = [ids[index::processes] for index in range(processes)]
    with tempfile.TemporaryDirectory() as folder:
        if variant == "service":
            arguments = [(part, folder, processes) for part in slices]
            results = run_parallel("bench.grant_path.service_worker", arguments)
        elif variant == "raw same SQL":
            arguments = [(url, part, folder, processes) for part in slices]
            results = run_parallel("bench.grant_path.raw_same_sql_worker", arguments)
        elif variant.startswith("batches of"):
            size = int(variant.rsplit(" ", 1)[1])
            arguments = [(part, size, folder, processes) for part in slices]
            results = run_parallel("bench.grant_path.batch_worker", arguments)
        else:
            arguments = [(url, kind_id, len(part), folder, processes) for part in slices]
            results = run_parallel("bench.grant_path.single_update_worker", arguments)
    done = sum(result["done"] for result in results)
    rate = done / (max(r["end"] for r in results) - min(r["start"] for r in results))
    granted = scalar(
        "SELECT count(*) FROM cardpool_card WHERE kind_id = %s AND status = 'assigned'", [kind_id]
    )
    duplicates = _duplicates(kind_id) + abs(granted - count)
    return rate, duplicates


def _compare(variants: list[str], processes: int, count: int, rounds: int, url: str) -> dict:
    """Each round runs every variant once, the order turning each round; the ratios are to the
    last variant (the baseline), paired within a round."""
    rates = {variant: [] for variant in variants}
    duplicates = 0
    for round_number in range(rounds):
        order = variants[round_number % len(variants) :] + variants[: round_number % len(variants)]
        for variant in order:
            rate, dup = _one_run(variant, processes, count, url)
            rates[variant].append(rate)
            duplicates += dup
    baseline = variants[-1]
    table = {
        variant: {
            "rate": median(values),
            "ratio": median(
                [value / base for value, base in zip(values, rates[baseline], strict=True)]
            ),
            "runs": values,
        }
        for variant, values in rates.items()
    }
    for variant, value in table.items():
        print(
            f"  grant path x{processes} {variant:18}: {value['rate']:8.0f}/s  "
            f"{value['ratio']:.2f}x {baseline}",
            flush=True,
        )
    return {"table": table, "duplicates": duplicates, "baseline": baseline}


def run(quick: bool, url: str) -> dict:
    single_count, batch_count, rounds = (300, 2000, 1) if quick else (2000, 10000, 3)
    results = {
        "single_count": single_count,
        "batch_count": batch_count,
        "rounds": rounds,
        "single": {},
        "batch": {},
    }
    for processes in (1, 2, 8):
        results["single"][processes] = _compare(
            ["service", "raw same SQL"], processes, single_count, rounds, url
        )
        results["batch"][processes] = _compare(
            [*(f"batches of {size}" for size in BATCH_SIZES), "single UPDATE"],
            processes,
            batch_count,
            rounds,
            url,
        )
    connection.close()
    return results
