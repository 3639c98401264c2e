"""The account-opening simulator as a separate process on a free port, for tests."""

import json
import subprocess
import sys
from contextlib import contextmanager

import requests

from tests.processes import ROOT, worker_environment


class RunningSimulator:
    def __init__(self, url: str):
        self.url = url

    def add_accounts(self, accounts: list[dict]) -> None:
        response = requests.post(f"{self.url}/_sim/accounts", data=json.dumps(accounts), timeout=10)
        response.raise_for_status()

    def inject(self, phone: str, fault: str, times: int = 1) -> None:
        response = requests.post(
            f"{self.url}/_sim/faults",
            data=json.dumps({"phone": phone, "fault": fault, "times": times}),
            timeout=10,
        )
        response.raise_for_status()

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_sim/stats", timeout=10).json()

    def reset(self) -> None:
        requests.post(f"{self.url}/_sim/reset", timeout=10).raise_for_status()


@contextmanager
def simulator(*arguments: str):
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_account_simulator", "--port", "0", *arguments],
        cwd=ROOT,
        env=worker_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"simulator did not start: {line}{process.stderr.read()}")
        yield RunningSimulator(line.split()[2])
    finally:
        process.terminate()
        process.wait(timeout=10)
