"""Starting worker processes (``devtools.worker``) and collecting what they return."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start(function: str, *args, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "devtools.worker", function, json.dumps(args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_all(function: str, argument_lists: list[tuple], *, env: dict, timeout: float) -> list:
    """Start one process per argument tuple at once; wait for all; return their JSON results
    (a failed process raises, with its stderr)."""
    processes = [start(function, *arguments, env=env) for arguments in argument_lists]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=timeout)
        if process.returncode != 0:
            raise AssertionError(f"worker {function} failed ({process.returncode}):\n{stderr}")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return results
