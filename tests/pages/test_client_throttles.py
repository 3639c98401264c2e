"""The throttles that count per client address, through the pages (SMS codes, failed logins):
X-Forwarded-For believed only from our proxy, so rotating it is no way around them."""

import itertools

import pytest
from django.test import Client
from django.urls import reverse

from invitations import sms
from invitations.exceptions import TOO_MANY_CODES
from invitations.models import PhoneVerification
from tests.factories import CampaignFactory, CustomerFactory

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"
PASSWORD = "Winter-Sky-2026"
LIMIT = 3  # codes per address per hour, in these tests


@pytest.fixture(autouse=True)
def outbox():
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def inviter(settings):
    settings.PHONE_CODES_PER_ADDRESS_PER_HOUR = LIMIT
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
        reverse("invitations:landing", args=[inviter.invite_code]), {"phone": phone}
    )
    assert page.status_code == 302 or str(TOO_MANY_CODES) in page.content.decode()


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


def logs_in(url: str, address: str, **meta) -> int:
    response = Client(REMOTE_ADDR=address, **meta).post(
        url, {"username": "13800138000", "password": PASSWORD}
    )
    return response.status_code


def test_rotating_x_forwarded_for_does_not_pass_the_login_lockout(customer, settings):
    login = reverse("login")
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").post(
            login, {"username": f"1390000{n:04d}", "password": "guess"}
        )
    assert logs_in(login, "203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.99") == 429
