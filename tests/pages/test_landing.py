"""The invitee's landing page: a number counts only once its holder proves it with a code, and
the page tells nobody anything about a number that is not theirs."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invitations.exceptions import NOT_INVITABLE, TOO_MANY_CODES
from invitations.models import Invitation, PhoneVerification
from invitations.phones import INVALID_PHONE
from invitations.services import create_invitation
from notifications import sms
from tests.factories import CampaignFactory, CustomerFactory
from tests.pages.codes import last_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox")]


@pytest.fixture
def campaign():
    return CampaignFactory(points=200)


@pytest.fixture
def inviter(campaign):
    return CustomerFactory(phone="13700000000")


def text(response) -> str:
    return response.content.decode()


def landing(inviter, suffix: str = "") -> str:
    return reverse("invitations:landing", args=[inviter.invite_code]) + suffix


def verify(inviter) -> str:
    return reverse("invitations:verify", args=[inviter.invite_code])


def accept(client, inviter, phone: str, suffix: str = ""):
    """The invitee's whole path: number, code from the text message, code back."""
    client.post(landing(inviter, suffix), {"phone": phone, "consent": "on"})
    return client.post(verify(inviter), {"code": last_code(phone)})


def test_the_landing_page_keeps_bad_input_and_says_why(client, inviter):
    page = text(client.post(landing(inviter), {"phone": "138 0013 800", "consent": "on"}))
    assert str(INVALID_PHONE) in page
    assert 'value="138 0013 800"' in page
    assert not sms.outbox and not Invitation.objects.exists()


def test_the_page_shows_who_invites_masked_and_a_privacy_notice(client, inviter):
    page = text(client.get(landing(inviter)))
    assert "137****0000" in page and "13700000000" not in page
    assert 'id="privacy"' in page


def test_a_verified_number_becomes_an_invitation_and_the_invitee_is_sent_on(
    client, inviter, settings
):
    settings.ACCOUNT_OPENING_SIGNUP_URL = "https://open.example/start"
    sent = client.post(
        landing(inviter, "?ch=wechat"), {"phone": "+86 159 0000 0001", "consent": "on"}
    )
    assert sent.status_code == 302 and sent.url == verify(inviter)
    assert not Invitation.objects.exists()  # nothing counts before the code
    assert "159****0001" in text(client.get(verify(inviter)))

    done = client.post(verify(inviter), {"code": last_code("15900000001")})
    assert done.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.inviter, invitation.invitee_phone, invitation.channel) == (
        inviter,
        "15900000001",
        "wechat",
    )
    # the way on to the account-opening page goes through ours: the click is a signal
    open_url = reverse("invitations:open_account", kwargs={"code": inviter.invite_code})
    assert open_url in text(client.get(done.url))
    assert invitation.signal_at is None
    onward = client.get(open_url)
    assert onward.status_code == 302
    assert onward.url == "https://open.example/start?phone=15900000001"
    invitation.refresh_from_db()
    assert invitation.signal_at is not None and invitation.check_priority == 0
    assert invitation.next_check_at <= invitation.signal_at + timedelta(minutes=1)
    signalled = invitation.signal_at
    assert client.get(open_url).status_code == 302  # again at once: still sent on,
    invitation.refresh_from_db()
    assert invitation.signal_at == signalled  # but no new burst
    code_digest = PhoneVerification.objects.get().code_digest
    assert last_code("15900000001") not in code_digest  # kept as a digest, never in clear


def test_a_stranger_number_without_its_code_blocks_nobody(inviter, campaign, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    squatter = Client()
    squatter.post(landing(inviter), {"phone": "15900000001", "consent": "on"})
    squatter.post(verify(inviter), {"code": "000000"})
    assert not Invitation.objects.exists()

    friend = CustomerFactory(phone="13600000000")
    owner = Client(REMOTE_ADDR="10.1.1.1")
    accept(owner, friend, "15900000001")
    assert Invitation.objects.get().inviter == friend


def test_before_the_code_one_answer_for_every_number_after_it_each_holder_hears_of_their_own(
    inviter, campaign
):
    CustomerFactory(phone="15900000002")
    create_invitation(CustomerFactory(phone="13600000000"), "15900000003")
    pages = {}
    for n, phone in enumerate(["15900000002", "15900000003", "13700000000"]):
        client = Client(REMOTE_ADDR=f"10.0.0.{n}")
        first = client.post(landing(inviter), {"phone": phone, "consent": "on"})
        assert first.status_code == 302 and first.url == verify(inviter)  # the same for all
        pages[phone] = text(client.post(verify(inviter), {"code": last_code(phone)}, follow=True))
    # the holder of a number, proven by its code, is told where their own number stands
    assert "您已是我们的客户" in pages["15900000002"]
    assert "另一位好友先邀请了您" in pages["15900000003"]
    assert "136****0000" not in pages["15900000003"]  # never who
    assert str(NOT_INVITABLE) in pages["13700000000"]  # inviting oneself: the same refusal
    assert Invitation.objects.count() == 1  # only the earlier invitation of 15900000003


def test_wrong_codes_are_counted_and_run_out(client, inviter, settings):
    client.post(landing(inviter), {"phone": "15900000001", "consent": "on"})
    right = last_code("15900000001")
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(settings.PHONE_CODE_MAX_ATTEMPTS):
        assert client.post(verify(inviter), {"code": wrong}).status_code == 302  # then a GET
    page = text(client.post(verify(inviter), {"code": right}, follow=True))
    assert "errorlist" in page and not Invitation.objects.exists()


def test_an_expired_code_is_refused(client, inviter):
    client.post(landing(inviter), {"phone": "15900000001", "consent": "on"})
    PhoneVerification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client.post(verify(inviter), {"code": last_code("15900000001")})
    assert not Invitation.objects.exists()


def test_codes_are_throttled_per_number_and_per_address(client, inviter, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    for _ in range(settings.RATE_LIMITS["phone_codes_per_number"][0]):
        assert (
            client.post(landing(inviter), {"phone": "15900000001", "consent": "on"}).status_code
            == 302
        )
    flooded = client.post(landing(inviter), {"phone": "15900000001", "consent": "on"})
    assert str(TOO_MANY_CODES) in text(flooded)
    # another address cannot get more codes to that number either
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert str(TOO_MANY_CODES) in text(
        other.post(landing(inviter), {"phone": "15900000001", "consent": "on"})
    )

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_codes_per_address": (7, 3600)}
    sent_before = len(sms.outbox)
    for n in range(10):
        client.post(landing(inviter), {"phone": f"158000000{n:02d}", "consent": "on"})
    assert len(sms.outbox) - sent_before == 7 - settings.RATE_LIMITS["phone_codes_per_number"][0]


def test_a_second_code_needs_a_minute(client, inviter):
    client.post(landing(inviter), {"phone": "15900000001", "consent": "on"})
    again = client.post(verify(inviter), {"resend": "1"}, follow=True)
    assert again.status_code == 200 and len(sms.outbox) == 1
    assert "errorlist" in text(again)


def test_a_double_tap_on_the_right_code_gives_the_same_invitation(client, inviter):
    client.post(landing(inviter), {"phone": "15900000001", "consent": "on"})
    code = last_code("15900000001")
    first = client.post(verify(inviter), {"code": code})
    # the second tap arrives with the session the first one had
    session = client.session
    session["phone_verification_id"] = PhoneVerification.objects.get().pk
    session.save()
    second = client.post(verify(inviter), {"code": code})
    assert first.status_code == second.status_code == 302
    assert Invitation.objects.count() == 1


def test_an_unknown_invite_code_is_not_found(client, campaign):
    response = client.get(reverse("invitations:landing", args=["NOSUCHCODE"]))
    assert response.status_code == 404 and 'id="error-page"' in text(response)


@pytest.mark.parametrize(
    "data",
    [
        {"phone": "159\x0000000001", "consent": "on"},
        {"phone": "1" * 10_000, "consent": "on"},
        {},
    ],
)
def test_garbage_in_the_phone_form_is_refused_with_the_input_kept(client, inviter, data):
    response = client.post(landing(inviter, "?ch=%00" + "x" * 500), data)
    assert response.status_code == 200 and "errorlist" in text(response)
    assert not sms.outbox and not PhoneVerification.objects.exists()


def test_garbage_codes_are_refused_and_counted_only_when_they_could_be_codes(client, inviter):
    client.post(landing(inviter), {"phone": "15900000001", "consent": "on"})
    for code in ["\x00\x00\x00\x00\x00\x00", "12345", "1234567", "é" * 6]:
        response = client.post(verify(inviter), {"code": code}, follow=True)
        assert response.status_code == 200 and "errorlist" in text(response)
    assert not Invitation.objects.exists()
