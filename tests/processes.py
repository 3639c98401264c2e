"""Run project code in separate OS processes, each with its own database connection.

Concurrency is never tested with threads sharing a connection: each worker here is a fresh
Python interpreter (``devtools.worker``) that sets Django up against the same (test) database
and runs one function.
"""

import subprocess

from django.db import connection

from devtools import processes
from devtools.processes import ROOT
from referral_site.database import child_environment

__all__ = ["ROOT", "run_workers", "scalar", "start_worker", "worker_environment"]


def worker_environment(**extra) -> dict:
    env = child_environment(connection.settings_dict)
    env["DJANGO_SETTINGS_MODULE"] = "referral_site.settings.test"
    env.update({key: str(value) for key, value in extra.items()})
    return env


def start_worker(function: str, *args, **env) -> subprocess.Popen:
    return processes.start(function, *args, env=worker_environment(**env))


def run_workers(function: str, argument_lists: list[tuple], timeout: float = 120, **env) -> list:
    """Start one process per argument tuple at once; wait for all; return their JSON results."""
    return processes.run_all(
        function, argument_lists, env=worker_environment(**env), timeout=timeout
    )


def scalar(sql: str, params=()) -> int:
    """One number from SQL: how concurrency tests count what the processes did, afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]
