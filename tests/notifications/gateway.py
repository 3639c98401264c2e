"""The message gateway stand-in (``devtools.message_gateway``) as a separate process."""

import subprocess
import sys
from contextlib import contextmanager

import requests

from tests.processes import ROOT


class RunningGateway:
    def __init__(self, url: str):
        self.url = url

    def records(self) -> list[dict]:
        return requests.get(f"{self.url}/_gw/records", timeout=10).json()


@contextmanager
def gateway(*arguments: str):
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.message_gateway", "--port", "0", *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"gateway did not start: {line}{process.stderr.read()}")
        yield RunningGateway(line.split()[2])
    finally:
        process.terminate()
        process.wait(timeout=10)
