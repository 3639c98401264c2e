"""Signing in with a code texted to the number, no password: the one implementation of codes
(``invitations.services.verification``) the invitee's and the sign-up's pages use."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from invitations.models import Customer, PhoneVerification
from notifications import sms
from tests.factories import CustomerFactory, issued_grants_of
from tests.pages.codes import last_code

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


@pytest.fixture(autouse=True)
def outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def ask_code(client, phone=PHONE, next_url=""):
    return client.post(reverse("invitations:code_login"), {"phone": phone, "next": next_url})


def give_code(client, code):
    return client.post(reverse("invitations:code_login_verify"), {"code": code})


def signed_in(client):
    return client.session.get("_auth_user_id")


def test_a_new_number_gets_an_account_without_a_password_and_a_fresh_session(client):
    assert ask_code(client, "+86 139-1234-5678", "/me/rewards/").status_code == 302
    before = client.session.session_key
    response = give_code(client, last_code(PHONE))
    assert response.status_code == 302 and response["Location"] == "/me/rewards/"
    customer = Customer.objects.get(phone=PHONE)
    assert not customer.user.has_usable_password()
    assert signed_in(client) == str(customer.user_id)
    assert client.session.session_key != before
    assert "code_login" not in client.session  # ids only, and gone once used


def test_an_existing_customer_with_a_password_signs_in_as_themselves(client):
    customer = CustomerFactory(phone=PHONE)
    ask_code(client)
    give_code(client, last_code(PHONE))
    assert signed_in(client) == str(customer.user_id)
    assert Customer.objects.count() == 1


def test_wrong_codes_use_the_code_up(client, settings):
    ask_code(client)
    right = last_code(PHONE)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(settings.PHONE_CODE_MAX_ATTEMPTS):
        give_code(client, wrong)
    give_code(client, right)
    assert signed_in(client) is None and not Customer.objects.exists()


def test_an_expired_code_signs_nobody_in(client):
    ask_code(client)
    PhoneVerification.objects.update(expires_at=PhoneVerification.objects.get().created_at)
    give_code(client, last_code(PHONE))
    assert signed_in(client) is None


def test_a_code_is_good_once_and_only_for_its_number(client):
    other = type(client)()
    ask_code(client)
    mine = last_code(PHONE)
    ask_code(other, "13900001111")
    theirs = last_code("13900001111")
    give_code(client, theirs)  # another number's code
    assert signed_in(client) is None
    give_code(client, mine)
    assert signed_in(client) is not None
    client.logout()
    response = give_code(client, mine)  # again: the page starts over
    assert response.status_code == 302 and response["Location"] == reverse("invitations:code_login")
    assert signed_in(client) is None


def test_a_second_code_too_soon_is_refused_saying_when(client):
    ask_code(client)
    again = ask_code(client)
    assert again.status_code == 200 and len(sms.outbox) == 1
    assert "秒" in again.content.decode() or "second" in again.content.decode()


def test_staff_and_disabled_accounts_cannot_sign_in_with_a_code(client):
    staff = CustomerFactory(phone=PHONE)
    get_user_model().objects.filter(pk=staff.user_id).update(is_staff=True)
    ask_code(client)
    give_code(client, last_code(PHONE))
    assert signed_in(client) is None


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_next_goes_only_to_our_own_pages(client, next_url):
    ask_code(client, next_url=next_url)
    response = give_code(client, last_code(PHONE))
    assert response["Location"] == reverse("rewards:home")


def test_no_code_and_no_full_number_in_any_log_line(client, caplog):
    caplog.set_level(logging.DEBUG)
    ask_code(client)
    code = last_code(PHONE)
    give_code(client, "999999" if code != "999999" else "888888")
    give_code(client, code)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert code not in text and PHONE not in text


def test_the_login_page_offers_the_code(client):
    page = client.get(reverse("login") + "?next=/me/points/").content.decode()
    assert 'id="code-login"' in page and "next=/me/points/" in page.replace("%2F", "/")


def test_a_new_code_on_the_code_page_replaces_the_first(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    ask_code(client)
    first = last_code(PHONE)
    client.post(reverse("invitations:code_login_verify"), {"resend": "1"})
    second = last_code(PHONE)
    assert len(sms.outbox) == 2
    if first != second:
        give_code(client, first)  # the first code's verification is no longer the session's
        assert signed_in(client) is None
    give_code(client, second)
    assert signed_in(client) is not None


def wrong_password(client, phone=PHONE):
    return client.post(reverse("login"), {"username": phone, "password": "not-the-password"})


def test_wrong_codes_and_wrong_passwords_share_one_lockout(client, settings):
    CustomerFactory(phone=PHONE)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong_password(client)
    ask_code(client)
    right = last_code(PHONE)
    locked = give_code(client, "000000" if right != "000000" else "111111")  # the last straw
    assert locked.status_code == 429
    assert give_code(client, right).status_code == 429  # not tried while locked
    assert signed_in(client) is None
    assert PhoneVerification.objects.get().verified_at is None


def test_a_number_locked_by_wrong_passwords_is_texted_no_code(settings):
    from django.test import Client

    CustomerFactory(phone=PHONE)
    for n in range(settings.AXES_FAILURE_LIMIT):
        wrong_password(Client(REMOTE_ADDR=f"198.51.100.{n}"))  # from many networks: by number
    response = ask_code(Client(REMOTE_ADDR="203.0.113.50"))
    assert response.status_code == 429 and sms.outbox == []
    assert not PhoneVerification.objects.exists()


def aged_login(client, settings):
    """The sign-in is older than a card's reveal allows."""
    session = client.session
    old = timezone.now() - timedelta(minutes=settings.REVEAL_REAUTH_MINUTES + 1)
    session["authenticated_at"] = old.isoformat()
    session.save()


def test_a_customer_without_a_password_confirms_by_code_before_a_card_is_shown(client, settings):
    ask_code(client)
    give_code(client, last_code(PHONE))  # a new customer, no password
    [grant] = issued_grants_of(Customer.objects.get(phone=PHONE), 1)
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    aged_login(client, settings)
    reveal = reverse("rewards:reveal_card", args=[grant.grant_no])

    asked = client.post(reveal).content.decode()
    assert 'name="password"' not in asked and 'id="code-again"' in asked
    assert "139****5678" in asked and PHONE not in asked
    started = client.post(
        reverse("invitations:code_again"), {"next": f"/me/rewards/#grant-{grant.grant_no}"}
    )
    assert started.url == reverse("invitations:code_login_verify")
    done = give_code(client, last_code(PHONE))  # to their own number
    assert done.url == f"/me/rewards/#grant-{grant.grant_no}"
    shown = client.post(reveal)
    assert shown.status_code == 200 and 'id="card-password"' in shown.content.decode()


def test_a_customer_with_a_password_may_give_it_or_a_code(client, settings):
    customer = CustomerFactory(phone=PHONE)
    [grant] = issued_grants_of(customer, 1)
    client.force_login(customer.user)
    aged_login(client, settings)
    asked = client.post(reverse("rewards:reveal_card", args=[grant.grant_no])).content.decode()
    assert 'name="password"' in asked and 'id="code-again"' in asked


def test_only_a_signed_in_customer_is_texted_a_code_again(client, admin_user):
    again = reverse("invitations:code_again")
    assert client.post(again).url.startswith(reverse("invitations:code_login"))
    client.force_login(admin_user)
    assert client.post(again).status_code == 404
    assert sms.outbox == []


def test_a_locked_number_is_not_texted_by_the_resend_button_either(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    CustomerFactory(phone=PHONE)
    ask_code(client)
    sent = len(sms.outbox)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        wrong_password(type(client)(REMOTE_ADDR="198.51.100.7"))  # locks the number
    response = client.post(reverse("invitations:code_login_verify"), {"resend": "1"})
    assert response.status_code == 429 and len(sms.outbox) == sent
