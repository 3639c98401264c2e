"""A friend who comes back to the invite link (#31, item 1) lands where they left off, and the
landing page asks for their consent (#31, item 9). Through the pages, as the friend uses them."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invitations.models import Invitation, PhoneVerification
from tests.factories import CampaignFactory, CustomerFactory
from tests.pages.codes import last_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox")]


@pytest.fixture
def inviter():
    CampaignFactory(points=200)
    return CustomerFactory(phone="13700000000")


def landing(inviter) -> str:
    return reverse("invitations:landing", args=[inviter.invite_code])


def come(client, inviter, phone: str, *, code: bool = True) -> str:
    """Number (consent ticked), then the texted code if one was sent; the page landed on."""
    sent = client.post(landing(inviter), {"phone": phone, "consent": "on"}, follow=True)
    if not code:
        return sent.content.decode()
    verify = reverse("invitations:verify", args=[inviter.invite_code])
    return client.post(verify, {"code": last_code(phone)}, follow=True).content.decode()


def test_a_friend_who_accepted_and_comes_back_later_lands_where_they_left_off(inviter, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    first = come(Client(REMOTE_ADDR="10.0.0.1"), inviter, "15900000001")
    assert "您已接受 137****0000 的邀请" in first and 'id="open-account"' in first

    # days later, another browser: the code proves the number again, and no dead end
    again = come(Client(REMOTE_ADDR="10.0.0.2"), inviter, "15900000001")

    assert "欢迎回来：您已接受 137****0000 的邀请" in again
    assert "等待您开户" in again and 'id="open-account"' in again
    assert "无法通过此链接参加" not in again
    assert Invitation.objects.count() == 1


def test_coming_back_in_the_same_browser_soon_after_costs_no_new_code(inviter, outbox):
    client = Client()
    come(client, inviter, "15900000001")
    texts = len(outbox)

    again = come(client, inviter, "159 0000 0001", code=False)

    assert len(outbox) == texts  # no new code while the proof is fresh
    assert "欢迎回来" in again and 'id="open-account"' in again
    # another number in this browser is texted as ever
    come(client, inviter, "15900000002", code=False)
    assert len(outbox) == texts + 1


def test_a_proof_older_than_its_minutes_costs_a_code_again(inviter, outbox, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    settings.PHONE_PROOF_MINUTES = 0  # the proof is stale as soon as it is kept
    client = Client()
    come(client, inviter, "15900000001")

    page = come(client, inviter, "15900000001", code=False)

    assert "输入验证码" in page
    assert len(outbox) == 2


def test_a_friend_whose_account_is_open_is_told_kindly_there_is_nothing_more_to_do(
    inviter, settings
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    come(Client(REMOTE_ADDR="10.0.0.1"), inviter, "15900000001")
    Invitation.objects.update(
        status="qualified", account_opened_at=timezone.now(), external_account_id="ACC1"
    )

    page = come(Client(REMOTE_ADDR="10.0.0.2"), inviter, "15900000001")

    assert "您的账户已开通：无需再做任何操作" in page
    assert 'id="open-account"' not in page


def test_the_number_is_taken_only_with_the_box_ticked_and_the_consent_is_recorded(
    client, inviter, outbox
):
    refused = client.post(landing(inviter), {"phone": "159 0000 0001"})

    page = refused.content.decode()
    assert "请勾选同意" in page and 'value="159 0000 0001"' in page  # the input is kept
    assert not outbox and not PhoneVerification.objects.exists()
    assert 'type="checkbox"' in page and "checked" not in page.split('name="consent"')[1][:40]
    assert reverse("invitations:privacy") in page

    before = timezone.now()
    come(client, inviter, "15900000001")

    invitation = Invitation.objects.get()
    assert before <= invitation.consented_at <= timezone.now()
    assert PhoneVerification.objects.get().consented_at == invitation.consented_at


def test_the_privacy_page_says_what_is_kept_and_for_how_long(client, settings):
    settings.PHONE_VERIFICATION_RETENTION_DAYS = 30
    page = client.get(reverse("invitations:privacy")).content.decode()
    assert "30 天后删除" in page


def test_records_of_codes_are_deleted_after_their_days(inviter, settings):
    from invitations.services.verification import purge_phone_verifications

    come(Client(REMOTE_ADDR="10.0.0.1"), inviter, "15900000001")
    come(Client(REMOTE_ADDR="10.0.0.2"), inviter, "15900000002")
    PhoneVerification.objects.filter(phone="15900000001").update(
        created_at=timezone.now() - timedelta(days=31)
    )

    assert purge_phone_verifications() == 1
    assert list(PhoneVerification.objects.values_list("phone", flat=True)) == ["15900000002"]
    assert Invitation.objects.count() == 2  # the invitations stay
