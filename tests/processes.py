"""Run project code in separate OS processes, each with its own database connection.

Concurrency is never tested with threads sharing a connection: each worker here is a fresh
Python interpreter that sets Django up against the same (test) database and runs one function.
"""

import json
import subprocess
import sys
from pathlib import Path

from django.db import connection

from referral_site.database import child_environment

ROOT = Path(__file__).resolve().parent.parent


def worker_command(function: str, *args) -> list[str]:
    return [sys.executable, str(ROOT / "tests" / "worker.py"), function, json.dumps(args)]


def worker_environment(**extra) -> dict:
    env = child_environment(connection.settings_dict)
    env["DJANGO_SETTINGS_MODULE"] = "referral_site.settings.test"
    env.update({key: str(value) for key, value in extra.items()})
    return env


def start_worker(function: str, *args, **env) -> subprocess.Popen:
    return subprocess.Popen(
        worker_command(function, *args),
        env=worker_environment(**env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_workers(function: str, argument_lists: list[tuple], timeout: float = 120, **env) -> list:
    """Start one process per argument tuple at once; wait for all; return their JSON results."""
    processes = [start_worker(function, *arguments, **env) for arguments in argument_lists]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=timeout)
        if process.returncode != 0:
            raise AssertionError(f"worker {function} failed ({process.returncode}):\n{stderr}")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return results


def scalar(sql: str, params=()) -> int:
    """One number from SQL: how concurrency tests count what the processes did, afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]
