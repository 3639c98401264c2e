"""The message gateway stand-in (``devtools.message_gateway``) as a separate process."""

import sys
from contextlib import contextmanager

import requests

from devtools.processes import listening


class RunningGateway:
    def __init__(self, url: str):
        self.url = url

    def records(self) -> list[dict]:
        return requests.get(f"{self.url}/_gw/records", timeout=10).json()


@contextmanager
def gateway(*arguments: str):
    command = [sys.executable, "-m", "devtools.message_gateway", "--port", "0", *arguments]
    with listening(command) as url:
        yield RunningGateway(url)
