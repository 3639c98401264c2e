from django.test import RequestFactory

from referral_site.client_ip import client_ip


def request(remote="10.0.0.1", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_a_proxy_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request(forwarded="1.2.3.4")) == "10.0.0.1"


def test_behind_one_proxy_the_address_it_saw_is_taken_and_forged_hops_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request(forwarded="203.0.113.7")) == "203.0.113.7"
    # the client wrote "1.1.1.1" itself; our proxy appended what it saw
    assert client_ip(request(forwarded="1.1.1.1, 203.0.113.7")) == "203.0.113.7"


def test_garbage_or_a_short_header_never_becomes_an_address(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request(forwarded="203.0.113.7")) == "10.0.0.1"  # fewer hops than proxies
    assert client_ip(request(forwarded="x\x00y, 203.0.113.7")) is None
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request(remote="not-an-ip")) is None
