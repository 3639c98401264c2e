"""Every throttle that counts per client address, through the pages: SMS codes (the landing page,
so invitations, and the sign-up) and failed logins (the customer's and the admin's), an IPv6
client counted per /64, an IPv4 one per address, X-Forwarded-For believed only from our proxy."""

import itertools

import pytest
from django.test import Client
from django.urls import reverse

from invitations.exceptions import TOO_MANY_CODES
from invitations.models import PhoneVerification
from notifications import sms
from tests.factories import CampaignFactory, CustomerFactory
from tests.pages.codes import last_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox")]

PROXY = "10.0.0.2"
PASSWORD = "Winter-Sky-2026"
LIMIT = 3  # codes per address per hour, in these tests


@pytest.fixture
def inviter(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_codes_per_address": (LIMIT, 3600)}
    CampaignFactory(points=200)
    return CustomerFactory(phone="13700000000")


@pytest.fixture
def customer():
    customer = CustomerFactory(phone="13800138000")
    customer.user.username = "13800138000"
    customer.user.set_password(PASSWORD)
    customer.user.save()
    return customer


@pytest.fixture
def behind_our_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY]


NUMBERS = itertools.count()


def ask_code(inviter, **meta):
    """A code for a fresh number from the landing page; refused when too many, never a 500."""
    phone = f"1590000{next(NUMBERS) % 10_000:04d}"
    page = Client(**meta).post(
        reverse("invitations:landing", args=[inviter.invite_code]),
        {"phone": phone, "consent": "on"},
    )
    assert page.status_code == 302 or str(TOO_MANY_CODES) in page.content.decode()


def codes_sent(inviter, addresses) -> int:
    before = len(sms.outbox)
    for address in addresses:
        ask_code(inviter, REMOTE_ADDR=address)
    return len(sms.outbox) - before


def test_many_addresses_of_one_ipv6_64_share_one_sms_limit(inviter):
    one_64 = [f"2001:db8:1:2:{n:x}:{n * 7:x}:{n * 13:x}:{n + 1:x}" for n in range(10)]
    assert codes_sent(inviter, one_64) == LIMIT
    # another /64 (the next subscriber) is another client
    assert codes_sent(inviter, ["2001:db8:1:3::1", "2001:db8:1:3::2"]) == 2
    assert set(PhoneVerification.objects.values_list("address", flat=True)) == {
        "2001:db8:1:2::",
        "2001:db8:1:3::",
    }


def test_ipv4_is_counted_per_address(inviter):
    assert codes_sent(inviter, ["198.51.100.7"] * 5) == LIMIT
    assert codes_sent(inviter, ["198.51.100.8", "198.51.100.9", "::ffff:198.51.100.10"]) == 3
    assert codes_sent(inviter, ["::ffff:198.51.100.7"]) == 0  # mapped: the same client


def test_a_64_behind_our_proxy_shares_one_sms_limit(inviter, behind_our_proxy):
    before = len(sms.outbox)
    for n in range(10):
        forwarded = f"2001:db8:7:7::{n + 1:x}"
        ask_code(inviter, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert len(sms.outbox) - before == LIMIT
    ask_code(inviter, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="2001:db8:7:8::1")
    assert len(sms.outbox) - before == LIMIT + 1
    assert set(PhoneVerification.objects.values_list("address", flat=True)) == {
        "2001:db8:7:7::",
        "2001:db8:7:8::",
    }


@pytest.mark.parametrize("trusted", [[], ["10.0.0.0/24"]])
def test_rotating_x_forwarded_for_from_outside_does_not_pass_the_sms_limit(
    inviter, settings, trusted
):
    settings.TRUSTED_PROXIES = trusted
    before = len(sms.outbox)
    for n in range(10):
        forwarded = f"198.51.100.{n}, 10.0.0.{n}"
        ask_code(inviter, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=forwarded)
    assert len(sms.outbox) - before == LIMIT
    assert set(PhoneVerification.objects.values_list("address", flat=True)) == {"203.0.113.5"}


def test_rotating_forged_hops_through_our_proxy_does_not_pass_the_sms_limit(
    inviter, behind_our_proxy
):
    before = len(sms.outbox)
    for n in range(10):
        forwarded = f"198.51.100.{n}, 203.0.113.5"  # the client wrote the left one
        ask_code(inviter, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert len(sms.outbox) - before == LIMIT


@pytest.mark.parametrize(
    "forwarded",
    ["garbage", "x\x00y", "fe80::1%eth0", "1.2.3.4," * 1000 + "?", "203.0.113.5 127.0.0.1"],
)
def test_a_hostile_header_through_our_proxy_is_no_way_around_the_limit(
    inviter, behind_our_proxy, forwarded
):
    before = len(sms.outbox)
    for _ in range(LIMIT + 2):
        ask_code(inviter, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert len(sms.outbox) - before == LIMIT
    assert set(PhoneVerification.objects.values_list("address", flat=True)) == {PROXY}


def test_code_sign_ins_from_one_64_share_one_limit(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_codes_per_address": (LIMIT, 3600)}
    sent = 0
    for n in range(LIMIT + 3):
        page = Client(REMOTE_ADDR=f"2001:db8:5:5::{n + 1:x}").post(
            reverse("invitations:code_login"), {"phone": f"1390000{n:04d}"}
        )
        sent += page.status_code == 302
    assert sent == LIMIT


def test_a_resent_code_counts_against_the_64(inviter, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_codes_per_number": (10, 3600)}
    client = Client(REMOTE_ADDR="2001:db8:9:9::1")
    client.post(
        reverse("invitations:landing", args=[inviter.invite_code]),
        {"phone": "15900000001", "consent": "on"},
    )
    for n in range(LIMIT + 2):
        client.defaults["REMOTE_ADDR"] = f"2001:db8:9:9::{n + 2:x}"
        client.post(reverse("invitations:verify", args=[inviter.invite_code]), {"resend": "1"})
    assert len(sms.outbox) == LIMIT
    assert last_code("15900000001")


def fail_logins(url: str, addresses, **meta):
    for n, address in enumerate(addresses):
        Client(REMOTE_ADDR=address, **meta).post(
            url, {"username": f"1390000{n:04d}", "password": "guess"}
        )


def logs_in(url: str, address: str, **meta) -> int:
    response = Client(REMOTE_ADDR=address, **meta).post(
        url, {"username": "13800138000", "password": PASSWORD}
    )
    return response.status_code


def test_failed_logins_from_many_addresses_of_one_64_lock_that_64_out(customer, settings):
    login = reverse("login")
    fail_logins(login, [f"2001:db8:1:2::{n + 1:x}" for n in range(settings.AXES_FAILURE_LIMIT)])
    assert logs_in(login, "2001:db8:1:2:ffff:ffff:ffff:fffe") == 429
    assert logs_in(login, "2001:db8:1:3::1") == 302  # the neighbouring /64 is somebody else


def test_failed_logins_are_counted_per_ipv4_address(customer, settings):
    login = reverse("login")
    fail_logins(login, [f"198.51.100.{n}" for n in range(settings.AXES_FAILURE_LIMIT)])
    assert logs_in(login, "198.51.100.200") == 302
    fail_logins(login, ["198.51.100.77"] * settings.AXES_FAILURE_LIMIT)
    assert logs_in(login, "198.51.100.77") == 429


def test_failed_admin_logins_from_one_64_behind_our_proxy_lock_it_out(
    customer, settings, behind_our_proxy
):
    admin_login = reverse("admin:login")
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"2001:db8:4:4::{n + 1:x}").post(
            admin_login, {"username": f"staff{n}", "password": "guess"}
        )
    locked = logs_in(reverse("login"), PROXY, HTTP_X_FORWARDED_FOR="2001:db8:4:4::abcd")
    assert locked == 429
    assert logs_in(reverse("login"), PROXY, HTTP_X_FORWARDED_FOR="2001:db8:4:5::1") == 302


def test_rotating_x_forwarded_for_does_not_pass_the_login_lockout(customer, settings):
    login = reverse("login")
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").post(
            login, {"username": f"1390000{n:04d}", "password": "guess"}
        )
    assert logs_in(login, "203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.99") == 429
