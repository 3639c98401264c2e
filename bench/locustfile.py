"""Locust users for bench/load.py: each takes a logged-in session and asks for one group's pages
(``LOAD_GROUP``: hello, customer or admin) as fast as the server answers, as a browser behind
our TLS proxy would (``X-Forwarded-Proto: https``, so the production settings neither redirect
nor refuse the session cookie)."""

import itertools
import json
import os
import random

from locust import HttpUser, task

GROUPS = {
    "hello": {"hello (/health/live)": "/health/live"},
    "customer": {
        "customer: my invitations": "/me/",
        "customer: my rewards": "/me/rewards/",
        "customer: my points": "/me/points/",
    },
    "admin": {
        "admin index (review desk)": "/admin/",
        "admin card list": "/admin/cardpool/card/",
        "admin invitation list": "/admin/invitations/invitation/",
        "admin grant list": "/admin/rewards/grant/",
        "admin card kinds (stock)": "/admin/cardpool/cardkind/",
        "admin points ledger": "/admin/rewards/pointsentry/",
    },
}
GROUP = os.environ.get("LOAD_GROUP", "hello")
SESSIONS = json.loads(os.environ.get("LOAD_SESSIONS", "{}"))
_customer_sessions = itertools.cycle(SESSIONS.get("customers", [""]))


class PageUser(HttpUser):
    def on_start(self):
        session = SESSIONS.get("admin", "") if GROUP == "admin" else next(_customer_sessions)
        self.headers = {"X-Forwarded-Proto": "https", "Cookie": f"sessionid={session}"}

    @task
    def page(self):
        name, path = random.choice(list(GROUPS[GROUP].items()))
        with self.client.get(
            path, headers=self.headers, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
