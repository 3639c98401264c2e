"""1c. The grant path against fair baselines, measured in the same run, interleaved.

- ``grant_reward`` (the service, one invitation per transaction) against the *same transaction
  in raw psycopg*: the same 13 statements with the same locks, the same checks in Python, on a
  psycopg connection with the same settings (server-side binding, statements prepared after 5
  runs). The ratio is what Django costs on this path.
- ``grant_rewards`` (the set-based path, batches of 50 and 200) against the *single UPDATE ...
  SKIP LOCKED* in autocommit that takes one card: the physical reference, a tenth of the work of
  a grant.

Every worker is a fresh process that sets Django up, connects, says it is ready and waits until
all are, so no worker starts late. Throughput is grants over the time from the first start to
the last end; each figure is the median of the rounds, each ratio the median of the ratios
paired within a round. Duplicates (a card or an invitation granted twice) are counted with SQL
after every run.
"""

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

LOCK_INVITATION = """
SELECT i.id, i.campaign_id, i.inviter_id, i.invitee_phone, i.channel, i.status, i.rejection_reason,
       i.invited_at, i.qualify_by, i.external_account_id, i.account_opened_at, i.account_channel,
       i.decided_at, i.next_check_at, i.attempts, i.last_error, i.last_checked_at, i.check_priority,
       i.signal_at, i.lease_token, i.leased_until, c.id, c.name, c.starts_at, c.ends_at,
       c.qualification_days, c.card_kind_id, c.points, c.max_rewards_per_inviter, c.is_paused,
       c.is_flagged_for_review, c.rules, k.id, k.code, k.name, k.face_value,
       k.low_stock_threshold, k.is_active, u.id, u.user_id, u.phone, u.invite_code,
       u.is_flagged_for_review, u.created_at, u.checks_requested_at
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
TAKE_CARD = """
SELECT id, kind_id, batch_id, number_encrypted, password_encrypted, number_digest, number_last4,
       valid_until, status, created_at, updated_at, assigned_at
FROM cardpool_card
WHERE kind_id = %s AND status = 'available' AND valid_until >= current_date + 30
ORDER BY valid_until, id LIMIT 1 FOR UPDATE SKIP LOCKED
"""
ASSIGN_CARD = "UPDATE cardpool_card SET status = 'assigned', updated_at = now(), assigned_at = now() WHERE id = %s"
CARD_EVENT = """
INSERT INTO cardpool_cardevent (card_id, action, from_status, to_status, reason, actor_id, actor_label, created_at)
VALUES (%s, 'assigned', 'available', 'assigned', '', NULL, 'rewards', now()) RETURNING id
"""
GRANT_NO = "SELECT nextval('rewards_grant_no_seq')"
INSERT_GRANT = """
INSERT INTO rewards_grant (grant_no, invitation_id, inviter_id, campaign_id, card_id, points, status,
                           hold_reason, created_at, issued_at, first_revealed_at, voided_at, void_reason,
                           replaced_by_id)
VALUES (%s, %s, %s, %s, %s, %s, 'issued', '', now(), now(), NULL, NULL, '', NULL) RETURNING id
"""
POINTS = """
INSERT INTO rewards_pointsentry (customer_id, amount, kind, grant_id, note, created_at)
VALUES (%s, %s, 'reward', %s, '', now()) RETURNING id
"""
GRANT_EVENTS = """
INSERT INTO rewards_grantevent (grant_id, action, actor_id, actor_label, reason, card_id, created_at)
SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::integer[], %s::varchar[], %s::text[],
                     %s::bigint[], %s::timestamptz[]) RETURNING id
"""


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

    with psycopg.connect(libpq(url), prepare_threshold=5) as db:
        started = gather(folder, parties)
        for invitation_id in invitation_ids:
            with db.transaction():
                row = db.execute(LOCK_INVITATION, [invitation_id]).fetchone()
                status, campaign_id, inviter_id = row[5], row[1], row[2]
                kind_id, points, cap = row[26], row[27], row[28]
                if status != "qualified":
                    raise RuntimeError("not qualified")
                live_grant, unrewarded = db.execute(REWARD_STATE, [invitation_id]).fetchone()
                if live_grant is not None or unrewarded:
                    continue
                db.execute(LOCK_INVITER, [inviter_id]).fetchall()
                (live,) = db.execute(LIVE_GRANTS, [campaign_id, inviter_id]).fetchone()
                if live >= cap or row[29] or row[30] or row[42]:
                    raise RuntimeError("the bench's invitations are never capped or held")
                card = db.execute(TAKE_CARD, [kind_id]).fetchone()
                db.execute(ASSIGN_CARD, [card[0]])
                db.execute(CARD_EVENT, [card[0]]).fetchone()
                (value,) = db.execute(GRANT_NO).fetchone()
                (grant_id,) = db.execute(
                    INSERT_GRANT,
                    [_grant_no(value), invitation_id, inviter_id, campaign_id, card[0], points],
                ).fetchone()
                db.execute(POINTS, [inviter_id, points, grant_id]).fetchone()
                now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                db.execute(
                    GRANT_EVENTS,
                    [
                        [grant_id, grant_id],
                        ["created", "issued"],
                        [None, None],
                        ["rewards", "rewards"],
                        ["", ""],
                        [None, card[0]],
                        [now, now],
                    ],
                ).fetchall()
        return _finish(started, len(invitation_ids))


def single_update_worker(url: str, kind_id: int, count: int, folder: str, parties: int) -> dict:
    with psycopg.connect(libpq(url), autocommit=True, prepare_threshold=5) as db:
        started = gather(folder, parties)
        done = 0
        while done < count:
            if db.execute(SKIP_LOCKED_SQL, [kind_id]).fetchone() is not None:
                done += 1
        return _finish(started, done)


_runs = {"prefix": 100}


def _qualified(count: int) -> tuple[int, list[int]]:
    """A fresh card kind with enough cards and ``count`` qualified invitations, each from its
    own inviter (no cap, no hold); returns the kind and the invitation ids."""
    _runs["prefix"] += 1
    prefix = str(_runs["prefix"])
    kind = fixtures.card_kind("GP")
    fixtures.cards(kind, count + 100)
    campaign = fixtures.campaign(kind)
    fixtures.customers(count, prefix)
    fixtures.invitations(
        campaign, count, status="qualified", inviter_prefix=prefix, phone_prefix=prefix[-2:]
    )
    ids = list(
        Invitation.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)
    )
    return kind.pk, ids


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
            ["batches of 50", "batches of 200", "single UPDATE"],
            processes,
            batch_count,
            rounds,
            url,
        )
    connection.close()
    return results
