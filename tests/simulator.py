"""The account-opening simulator as a separate process on a free port, for tests."""

import json
from contextlib import contextmanager

import requests

from devtools.simulator_process import simulator_process
from tests.processes import worker_environment


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
    with simulator_process(*arguments, env=worker_environment()) as url:
        yield RunningSimulator(url)
