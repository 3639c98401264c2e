import os
import statistics
import subprocess
import time

import requests
from django.db import connection

from devtools import processes


def start(function: str, *args, env: dict | None = None) -> subprocess.Popen:
    return processes.start(function, *args, env={**os.environ, **(env or {})})


def run_parallel(function: str, argument_lists: list[tuple], env: dict | None = None) -> list:
    return processes.run_all(
        function, argument_lists, env={**os.environ, **(env or {})}, timeout=3600
    )


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


def wait_for_server(url: str, limit: float = 60) -> None:
    """Until a web server started for a benchmark answers ``url`` (the production settings
    redirect plain HTTP unless the proxy header says HTTPS, as our proxy would)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2, headers={"X-Forwarded-Proto": "https"}).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the web server did not answer at {url}")
