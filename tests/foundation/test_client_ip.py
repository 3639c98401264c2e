"""Whose address a request is: X-Forwarded-For believed only from TRUSTED_PROXIES, hop by hop
from the right; the throttles' key (an IPv6 client per /64); /metrics judged on that address."""

import http.client
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from django.test import Client, RequestFactory

from core.client_ip import MAX_HOPS, client_ip, client_network, throttle_key
from tests.foundation.test_settings import PRODUCTION_ENV, run_manage, setting_in_child
from tests.processes import ROOT, worker_environment

PROXY = "10.0.0.2"  # our load balancer, in the tests that configure one


def request(remote="203.0.113.5", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    assert settings.TRUSTED_PROXIES == []  # the default: believe no forwarded header
    assert client_ip(request(forwarded="127.0.0.1")) == "203.0.113.5"
    assert client_ip(request(remote=PROXY, forwarded="198.51.100.7")) == PROXY


def test_the_header_is_believed_only_from_a_configured_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "2001:db8:ffff::/48"]
    # a direct client writing the header itself: ignored, whatever it says
    assert client_ip(request(forwarded="127.0.0.1")) == "203.0.113.5"
    assert client_ip(request(remote="10.0.1.2", forwarded="127.0.0.1")) == "10.0.1.2"
    # through our proxy: the address it saw, not what the client wrote further left
    assert client_ip(request(remote=PROXY, forwarded="198.51.100.7")) == "198.51.100.7"
    assert client_ip(request(remote=PROXY, forwarded="127.0.0.1, 198.51.100.7")) == "198.51.100.7"
    # through two proxies of ours, one of them IPv6
    two = request(remote="2001:db8:ffff::1", forwarded="127.0.0.1, 198.51.100.7, 10.0.0.9")
    assert client_ip(two) == "198.51.100.7"
    # an IPv4-mapped peer is its IPv4 address
    assert client_ip(request(remote="::ffff:10.0.0.2", forwarded="198.51.100.7")) == "198.51.100.7"
    # our proxy says the client is one of our proxies: nothing further left to believe
    assert client_ip(request(remote=PROXY, forwarded="10.0.0.3")) == "10.0.0.3"


WORST_HEADERS = [
    "",
    " ",
    ",",
    "garbage",
    "unknown",
    "198.51.100.7, garbage",
    "1.2.3.4\x00",
    "x\x00y",
    "1.2.3.4\r\nX-Admin: 1",
    "1.2.3.4 5.6.7.8",
    "fe80::1%eth0",
    "[fe80::1%eth0]:443",
    "[1.2.3.4]:80",
    "1.2.3.4:99999999",
    "::1]:443",
    "2001:db8::1/64",
    "01.2.3.4",
    "１.２.３.４",
    "4294967295",
    "1.2.3.4," * 1000 + "nonsense",
    "ä" * 100_000,
    "9" * 1_000_000,
]


@pytest.mark.parametrize("forwarded", WORST_HEADERS, ids=range(len(WORST_HEADERS)))
def test_a_malformed_hop_makes_the_proxy_that_wrote_it_the_client(settings, forwarded):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    started = time.monotonic()
    assert client_ip(request(remote=PROXY, forwarded=forwarded)) == PROXY
    assert client_ip(request(forwarded=forwarded)) == "203.0.113.5"  # from outside: ignored
    assert time.monotonic() - started < 0.5


def test_addresses_as_proxies_write_them_are_read_without_port_or_brackets(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert client_ip(request(remote=PROXY, forwarded="[2001:db8::7]:443")) == "2001:db8::7"
    assert client_ip(request(remote=PROXY, forwarded="[2001:db8::7]")) == "2001:db8::7"
    assert client_ip(request(remote=PROXY, forwarded=" 198.51.100.7:8080 ")) == "198.51.100.7"
    assert client_ip(request(remote=PROXY, forwarded="::ffff:198.51.100.7")) == "198.51.100.7"
    # a forged hop left of a port-written one is still not believed
    assert client_ip(request(remote=PROXY, forwarded="127.0.0.1, 198.51.100.7:80")) == (
        "198.51.100.7"
    )


def test_a_chain_of_trusted_hops_is_walked_only_so_far(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    forged = "127.0.0.1, " + "10.0.0.1, " * 1000
    # our proxy appended the real client: the walk stops there
    assert client_ip(request(remote=PROXY, forwarded=forged + "198.51.100.7")) == "198.51.100.7"
    # a thousand hops that all look like ours: the walk stops after MAX_HOPS, never reaching
    # the forged address at the far left
    assert client_ip(request(remote=PROXY, forwarded=forged + "10.0.0.3")) == "10.0.0.1"
    assert MAX_HOPS < 1000


def test_a_peer_that_is_no_address_is_no_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request(remote="not-an-ip", forwarded="198.51.100.7")) is None
    assert client_ip(request(remote="", forwarded="198.51.100.7")) is None
    assert client_ip(request(remote="fe80::1%eth0")) is None


def test_throttles_count_ipv4_per_address_and_ipv6_per_64():
    assert throttle_key("198.51.100.7") == "198.51.100.7"
    assert throttle_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::"
    assert throttle_key("2001:db8:1:2::1") == throttle_key("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert throttle_key("2001:db8:1:3::1") == "2001:db8:1:3::"
    assert throttle_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert throttle_key(None) is None
    with pytest.raises(ValueError):
        throttle_key("not-an-ip")
    assert client_network(request(remote="2001:db8:1:2::99")) == "2001:db8:1:2::"


# --- the settings: parsed at start-up, a bad entry named ----------------------------------------


@pytest.mark.django_db
def test_trusted_proxies_come_from_the_environment_ipv4_and_ipv6():
    assert setting_in_child("TRUSTED_PROXIES") == "[]"
    value = setting_in_child("TRUSTED_PROXIES", TRUSTED_PROXIES="10.0.0.2,2001:db8::/32")
    assert value == "['10.0.0.2', '2001:db8::/32']"


@pytest.mark.parametrize(
    "setting, value, named",
    [
        ("TRUSTED_PROXIES", "10.0.0.2,10.0.0.5/33", "'10.0.0.5/33'"),
        ("TRUSTED_PROXIES", "10.0.0.5/8", "'10.0.0.5/8'"),  # host bits: which was meant?
        ("TRUSTED_PROXIES", "proxy.internal", "'proxy.internal'"),
        ("TRUSTED_PROXIES", "0.0.0.0/0", "anyone could forge"),
        ("TRUSTED_PROXIES", "fe80::%eth0/64", "zone id"),
        ("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,localhost", "'localhost'"),
    ],
)
def test_a_bad_network_stops_the_start_up_naming_it(setting, value, named):
    result = run_manage("check", env={**os.environ, setting: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and f"{setting}: " in result.stderr
    assert named in result.stderr


# --- /metrics: judged on the client's address ---------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("trusted", [[], ["10.0.0.0/24"]])
def test_metrics_are_not_reached_by_writing_a_loopback_forwarded_header(settings, trusted):
    settings.TRUSTED_PROXIES = trusted
    outsider = Client(REMOTE_ADDR="203.0.113.5")
    for forwarded in ("127.0.0.1", "10.0.0.7", "::1", "203.0.113.5, 127.0.0.1"):
        assert outsider.get("/metrics", HTTP_X_FORWARDED_FOR=forwarded).status_code == 403


@pytest.mark.django_db
def test_metrics_believe_the_forwarded_address_only_through_a_configured_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    proxy = Client(REMOTE_ADDR=PROXY)
    # a scraper on our network, through our proxy
    assert proxy.get("/metrics", HTTP_X_FORWARDED_FOR="192.168.1.20").status_code == 200
    # an outsider through our proxy: its forged hop is left of the one our proxy appended
    outsider = proxy.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.5")
    assert outsider.status_code == 403
    assert proxy.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 403


@contextmanager
def gunicorn(**env):
    """The production web server (gunicorn.conf.py, production settings) on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **worker_environment(),
        **PRODUCTION_ENV,
        "DJANGO_SETTINGS_MODULE": "referral_site.settings.production",
        "SECURE_SSL_REDIRECT": "false",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        **env,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "referral_site.wsgi"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "no gunicorn"
                time.sleep(0.1)

        def get(path: str, forwarded: str) -> int:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            headers = {"Host": "rewards.example.com", "X-Forwarded-For": forwarded}
            connection.request("GET", path, headers=headers)
            status = connection.getresponse().status
            connection.close()
            return status

        yield get
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.mark.django_db
def test_metrics_over_real_http_believe_the_header_only_from_a_configured_proxy():
    # the scraper's network only; this test's connections come from 127.0.0.1
    only_ours = {"METRICS_ALLOWED_NETWORKS": "10.0.0.0/8"}
    with gunicorn(**only_ours, TRUSTED_PROXIES="10.9.9.9") as get:  # a proxy, but not the peer
        assert get("/metrics", "10.0.0.7") == 403
    with gunicorn(**only_ours, TRUSTED_PROXIES="127.0.0.1") as get:  # the peer is our proxy
        assert get("/metrics", "10.0.0.7") == 200
        assert get("/metrics", "10.0.0.7, 203.0.113.5") == 403
