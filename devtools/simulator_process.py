"""The account-opening simulator as a separate process on a free port: how the tests and the
benchmarks start it (the demo runs it on a fixed port through run_demo)."""

import sys
from contextlib import contextmanager

from devtools.processes import listening


@contextmanager
def simulator_process(*arguments: str, env: dict | None = None):
    """Yield the simulator's base URL while it runs; stopped on the way out."""
    command = [sys.executable, "manage.py", "run_account_simulator", "--port", "0", *arguments]
    with listening(command, env=env) as url:
        yield url
