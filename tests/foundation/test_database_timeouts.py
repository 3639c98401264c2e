"""A database that hangs must not hang the web: connect and statement timeouts, and /health/ready
answering 503 within 5 s, through gunicorn with the production settings (referral_site.wsgi).

The database is reached through a TCP relay that can turn silent: it keeps every connection open
and forwards nothing more, as a host behind a firewall dropping packets, or a frozen server.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from referral_site.database import url_for
from tests.foundation.test_settings import PRODUCTION_ENV, run_manage
from tests.processes import ROOT, worker_environment

pytestmark = pytest.mark.django_db


class Relay:
    """127.0.0.1:<port> -> the test database, until ``silent`` is set: from then on nothing is
    forwarded either way and new connections are accepted and left unanswered."""

    def __init__(self, upstream: dict):
        self.upstream = upstream
        self.silent = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _connect_upstream(self) -> socket.socket:
        # the embedded server is reached by its socket folder, named in OPTIONS (as url_for does)
        options = self.upstream.get("OPTIONS", {})
        host = self.upstream.get("HOST") or options.get("host") or "/var/run/postgresql"
        port = int(self.upstream.get("PORT") or 5432)
        if host.startswith("/"):
            server = socket.socket(socket.AF_UNIX)
            server.connect(f"{host}/.s.PGSQL.{port}")
            return server
        return socket.create_connection((host, port))

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(client)
            if self.silent.is_set():
                continue  # accepted, never answered
            server = self._connect_upstream()
            self.sockets.append(server)
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:  # one side hung up: so does the relay, on the other
                try:
                    target.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if self.silent.is_set():
                continue  # swallowed: the other side waits for ever
            try:
                target.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass


@pytest.fixture
def relay():
    relay = Relay(connection.settings_dict)
    yield relay
    relay.close()
    # the sessions it relayed end before the test database is dropped
    deadline = time.monotonic() + 10
    while others_connected() and time.monotonic() < deadline:
        time.sleep(0.1)


def others_connected() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def web(relay):
    """gunicorn (gunicorn.conf.py, one worker) serving referral_site.wsgi with the production
    settings, its database behind the relay."""
    port = free_port()
    database = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": relay.port}
    env = {
        **worker_environment(),
        **PRODUCTION_ENV,
        "DATABASE_URL": url_for(database),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DB_STATEMENT_TIMEOUT_MS", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "referral_site.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(base + "/health/live")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, "gunicorn stopped"
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def get(url: str, timeout: float = 40) -> tuple[int, bytes, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (our own)
            return response.status, response.read(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read(), time.monotonic() - started


def test_ready_answers_503_within_5_s_when_the_database_host_accepts_and_never_answers(relay, web):
    relay.silent.set()  # gunicorn's worker has not connected yet: its first attempt hangs
    status, body, elapsed = get(web + "/health/ready")
    assert status == 503 and b'"database"' in body, body
    assert elapsed < 5, f"answered after {elapsed:.1f} s"
    status, body, elapsed = get(web + "/health/status")
    assert status == 503 and elapsed < 5, (status, elapsed)


def test_ready_answers_503_within_5_s_when_an_established_connection_goes_silent(relay, web):
    status, body, _ = get(web + "/health/ready")
    assert status == 200, body  # the worker now keeps a connection (CONN_MAX_AGE)
    relay.silent.set()
    status, body, elapsed = get(web + "/health/ready")
    assert status == 503 and b"no answer within" in body, body
    assert elapsed < 5, f"answered after {elapsed:.1f} s"
    # the cut connection was dropped: once the database answers again, so does readiness
    relay.silent.clear()
    status, body, _ = get(web + "/health/ready")
    assert status == 200, body


SHOW_TIMEOUTS = (
    "from django.db import connection\n"
    "c = connection.cursor(); c.execute('SHOW statement_timeout'); print(c.fetchone()[0])\n"
)


def test_web_processes_have_a_statement_timeout_and_the_worker_cluster_none():
    env = {**worker_environment(), **PRODUCTION_ENV}
    env.pop("DB_STATEMENT_TIMEOUT_MS", None)
    web = subprocess.run(
        [sys.executable, "-c", "import referral_site.wsgi\n" + SHOW_TIMEOUTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert web.returncode == 0, web.stderr
    assert web.stdout.strip() == "15s"
    # manage.py (qcluster, commands) is not the web: long statements are theirs to run
    other = run_manage("shell", "--no-imports", "-c", SHOW_TIMEOUTS, env=env)
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "0"
    # and each can be told otherwise
    told = run_manage(
        "shell", "--no-imports", "-c", SHOW_TIMEOUTS, env={**env, "DB_STATEMENT_TIMEOUT_MS": "2500"}
    )
    assert told.stdout.strip() == "2500ms", told.stderr


def test_a_query_longer_than_the_statement_timeout_is_cancelled_by_the_server():
    env = {**worker_environment(), "DB_STATEMENT_TIMEOUT_MS": "200"}
    code = (
        "import time\nfrom django.db import connection, OperationalError\n"
        "started = time.monotonic()\n"
        "try:\n    connection.cursor().execute('SELECT pg_sleep(5)')\n"
        "except OperationalError as error:\n"
        "    print(type(error.__cause__).__name__, round(time.monotonic() - started, 1))\n"
    )
    result = run_manage("shell", "--no-imports", "-c", code, env=env)
    name, seconds = result.stdout.split()
    assert name == "QueryCanceled" and float(seconds) < 2, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_CONNECT_TIMEOUT", "0"),  # libpq: wait for ever
        ("DB_CONNECT_TIMEOUT", "-1"),
        ("DB_CONNECT_TIMEOUT", "3 s"),
        ("DB_CONNECT_TIMEOUT", "1e9"),
        ("DB_CONNECT_TIMEOUT", ""),
        ("DB_STATEMENT_TIMEOUT_MS", "-5"),
        ("DB_STATEMENT_TIMEOUT_MS", "15000 -c search_path=evil"),
        ("DB_STATEMENT_TIMEOUT_MS", "99999999999999999999"),
    ],
)
def test_timeouts_that_are_not_numbers_in_range_are_refused_naming_the_variable(
    monkeypatch, name, value
):
    from referral_site.database import database_config

    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/x")
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured) as refused:
        database_config(environ.Env())
    assert str(refused.value).startswith(f"{name} must be a whole number")
    assert repr(value.strip()) in str(refused.value)


def test_a_bad_timeout_stops_the_start_up_with_its_name():
    env = {**os.environ, **worker_environment(), "DB_CONNECT_TIMEOUT": "soon"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "DB_CONNECT_TIMEOUT must be a whole number of seconds, from 1 to 60" in result.stderr
