"""Two separate django-q2 clusters (`manage.py qcluster`, as on two machines) on the Redis
broker, polling the same invitations at once against the simulator: every invitation decided
once, rewarded once, its invitee asked once, and the upstream's rate held across both."""

import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis

from invitations.models import Invitation, PollCycle
from tests.invitations.test_polling_concurrency import invitations_with_accounts
from tests.processes import ROOT, run_workers, scalar, worker_environment
from tests.simulator import simulator

REDIS = "redis://127.0.0.1:6379/15"
RATE = 20
INVITATIONS = 120

try:
    redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
except redis.RedisError as error:
    pytest.skip(f"no Redis answers at {REDIS} ({type(error).__name__})", allow_module_level=True)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def test_two_clusters_on_redis_grant_each_invitation_once_within_the_rate():
    with simulator("--rate", str(RATE)) as sim:
        invitations_with_accounts(INVITATIONS, sim)
        sim.reset()
        env = worker_environment(
            REDIS_URL=REDIS,
            Q_CLUSTER_NAME=f"test-{uuid.uuid4().hex[:8]}",  # a queue of this test's own
            Q_WORKERS=2,
            ACCOUNT_OPENING_URL=sim.url,
            ACCOUNT_OPENING_RATE=RATE,
            ACCOUNT_OPENING_TOTAL_TIMEOUT=60,
        )
        clusters = [
            subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            run_workers(
                "tests.invitations.workers.enqueue_polls",
                [(6,)],
                **{key: env[key] for key in ("REDIS_URL", "Q_CLUSTER_NAME")},
            )
            deadline = time.monotonic() + 120
            while Invitation.objects.filter(status="pending").exists():
                assert time.monotonic() < deadline, "the clusters did not finish"
                assert all(c.poll() is None for c in clusters), "a cluster died"
                time.sleep(0.5)
            stats = sim.stats()
        finally:
            for cluster in clusters:
                cluster.send_signal(signal.SIGTERM)
            for cluster in clusters:
                try:
                    cluster.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    cluster.kill()
    assert scalar("SELECT count(*) FROM rewards_grant") == INVITATIONS
    assert scalar("SELECT count(DISTINCT invitation_id) FROM rewards_grant") == INVITATIONS
    assert scalar("SELECT count(DISTINCT card_id) FROM rewards_grant") == INVITATIONS
    assert stats["requests_served"] == INVITATIONS  # each invitee asked once
    assert stats["rate_limited"] == 0 and stats["max_requests_in_one_second"] <= RATE
    # the work was spread: poll cycles ran in more than one worker process
    assert PollCycle.objects.values("worker").distinct().count() >= 2
