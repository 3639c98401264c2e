"""The account-opening simulator as a separate process on a free port: how the tests and the
benchmarks start it (the demo runs it on a fixed port through run_demo)."""

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def simulator_process(*arguments: str, env: dict | None = None):
    """Yield the simulator's base URL while it runs; stopped on the way out."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_account_simulator", "--port", "0", *arguments],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"simulator did not start: {line}{process.stderr.read()}")
        yield line.split()[2]
    finally:
        process.terminate()
        process.wait(timeout=10)
