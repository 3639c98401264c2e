"""One-time codes for careless hands (#31, item 7): a reload never burns an attempt or sends a
code again, the resend button says how long it waits, sign-up can resend, the password rule
reads as a person would say it. Through the pages."""

import re

import pytest
from django.urls import reverse

from invitations.models import PhoneVerification
from tests.factories import CampaignFactory, CustomerFactory
from tests.pages.codes import last_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox")]


@pytest.fixture
def verify_url(client):
    CampaignFactory()
    inviter = CustomerFactory(phone="13700000000")
    landing = reverse("invitations:landing", args=[inviter.invite_code])
    client.post(landing, {"phone": "15900000001", "consent": "on"})
    return reverse("invitations:verify", args=[inviter.invite_code])


def test_a_wrong_code_is_answered_by_a_redirect_so_a_reload_burns_nothing(client, verify_url):
    wrong = client.post(verify_url, {"code": "000000"})

    assert wrong.status_code == 302 and wrong.url == verify_url
    page = client.get(verify_url).content.decode()
    assert "验证码不正确" in page
    for _ in range(3):  # reloading the page: a GET, nothing re-submitted
        client.get(verify_url)
    assert PhoneVerification.objects.get().attempts == 1
    assert "验证码不正确" not in client.get(verify_url).content.decode()  # said once


def test_the_resend_button_waits_with_its_seconds_then_sends_without_a_reload_resending(
    client, verify_url, outbox, settings
):
    page = client.get(verify_url).content.decode()
    button = re.search(r'<button[^>]*id="resend"[^>]*>(.*?)</button>', page, re.S)
    assert "disabled" in button.group(0) and re.search(r'data-wait="(5\d|60)"', button.group(0))
    assert re.search(r"重新发送验证码（\d+ 秒后）", button.group(1))

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    sent = client.post(verify_url, {"resend": "1"})

    assert sent.status_code == 302 and len(outbox) == 2
    client.get(verify_url)  # the reload after it
    assert len(outbox) == 2
    ready = client.get(verify_url).content.decode()
    assert 'data-wait="0"' in ready


def test_code_sign_in_can_resend_its_code(client, outbox, settings):
    client.post(reverse("invitations:code_login"), {"phone": "15900000009"})
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    verify = reverse("invitations:code_login_verify")
    assert 'id="resend"' in client.get(verify).content.decode()
    client.post(verify, {"resend": "1"})

    assert len(outbox) == 2
    done = client.post(verify, {"code": last_code("15900000009")})
    assert done.status_code == 302 and done.url == reverse("rewards:home")
