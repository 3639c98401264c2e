import json
import os
import statistics
import subprocess
import sys
import time

from django.db import connection

from .database import ROOT


def start(function: str, *args, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.worker", function, json.dumps(args)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_parallel(function: str, argument_lists: list[tuple], env: dict | None = None) -> list:
    processes = [start(function, *arguments, env=env) for arguments in argument_lists]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=3600)
        if process.returncode != 0:
            raise RuntimeError(f"{function} failed:\n{stderr}")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return results


def barrier(seconds: float = 2.0) -> float:
    """A start time a little ahead, so every worker has set Django up before the clock runs."""
    return time.time() + seconds


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def scalar(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def execute(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def median(values) -> float:
    return statistics.median(values)


def percentile(values, share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
