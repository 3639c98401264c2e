"""Staff's second factor (TOTP with recovery codes) under the production rule
(``STAFF_SECOND_FACTOR_REQUIRED``): who needs it, enrolling, signing in with it, and failed codes
throttled."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "staff-password-2026"


@pytest.fixture(autouse=True)
def required(settings):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True


def staff(*permissions: str):
    user = UserFactory(is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    for name in permissions:
        app, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return user


def code_now(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the phone shows (``steps_ahead`` 30-second steps later: a code once used is not
    taken again, and the device allows one step of drift)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + steps_ahead * device.step
    return f"{totp.token():06d}"


def sign_in(client, user, token: str = ""):
    return client.post(
        reverse("admin:login"),
        {"username": user.username, "password": PASSWORD, "otp_token": token, "next": "/admin/"},
    )


def enrol(client) -> tuple[TOTPDevice, list[str]]:
    page = client.get(reverse("signin:second_factor"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    header = page.content.decode().split('id="site-name"')[1].split("</div>")[0]
    assert "Django" not in header  # the site's own header, not Django's default
    device = TOTPDevice.objects.get(confirmed=False)
    done = client.post(reverse("signin:second_factor"), {"token": code_now(device)})
    device.refresh_from_db()
    return device, [code.split("</code>")[0] for code in done.content.decode().split("<code>")[1:]]


def test_a_reviewer_without_a_second_factor_is_kept_out_of_the_admin_and_told_how_to_enrol(client):
    reviewer = staff("rewards.change_grant")
    sign_in(client, reviewer)
    page = client.get("/admin/", follow=True)
    assert 'id="second-factor-needed"' in page.content.decode()
    assert client.get(reverse("admin:rewards_grant_changelist")).status_code == 302


def test_an_auditor_who_can_only_look_needs_none(client):
    auditor = staff("rewards.view_grant")
    sign_in(client, auditor)
    assert client.get(reverse("admin:rewards_grant_changelist")).status_code == 200


def test_enrolling_verifies_the_session_and_shows_recovery_codes_once(client):
    reviewer = staff("rewards.change_grant")
    sign_in(client, reviewer)
    device, codes = enrol(client)
    assert device.confirmed and len(codes) == 10
    assert client.get(reverse("admin:rewards_grant_changelist")).status_code == 200
    again = client.get(reverse("signin:second_factor")).content.decode()
    assert codes[0] not in again  # shown once


def test_signing_in_asks_for_the_code_once_enrolled(client):
    reviewer = staff("rewards.change_grant")
    sign_in(client, reviewer)
    device, codes = enrol(client)
    client.logout()

    refused = sign_in(client, reviewer)  # password only
    assert refused.status_code == 200 and client.session.get("_auth_user_id") is None
    wrong = "000000" if code_now(device) != "000000" else "111111"
    assert sign_in(client, reviewer, wrong).status_code == 200
    assert client.session.get("_auth_user_id") is None

    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    assert sign_in(client, reviewer, code_now(device, 1)).status_code == 302
    assert client.get(reverse("admin:rewards_grant_changelist")).status_code == 200

    client.logout()
    assert sign_in(client, reviewer, codes[0]).status_code == 302  # a recovery code, once
    client.logout()
    assert sign_in(client, reviewer, codes[0]).status_code == 200
    assert StaticToken.objects.filter(device__user=reviewer).count() == 9


def test_failed_codes_are_throttled_even_the_right_one_right_after(client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a minute after one failure, two after two ...
    reviewer = staff("rewards.change_grant")
    sign_in(client, reviewer)
    device, _ = enrol(client)
    client.logout()
    wrong = "000000" if code_now(device, 1) != "000000" else "111111"
    sign_in(client, reviewer, wrong)
    refused = sign_in(client, reviewer, code_now(device, 1))  # right, but too soon
    assert refused.status_code == 200 and client.session.get("_auth_user_id") is None
    device.refresh_from_db()
    assert device.throttling_failure_count == 1


def test_a_wrong_code_at_enrolment_confirms_nothing(client):
    reviewer = staff("cardpool.reveal_card_secret")
    sign_in(client, reviewer)
    client.get(reverse("signin:second_factor"))
    device = TOTPDevice.objects.get()
    wrong = "000000" if code_now(device) != "000000" else "111111"
    page = client.post(reverse("signin:second_factor"), {"token": wrong})
    assert page.status_code == 200 and "errornote" in page.content.decode()
    device.refresh_from_db()
    assert not device.confirmed


def test_a_customer_cannot_reach_the_enrolment_page(client):
    customer = UserFactory()
    client.force_login(customer)
    assert client.get(reverse("signin:second_factor")).status_code == 403


def test_the_staff_groups_that_change_things_need_it(client):
    from django.core.management import call_command

    from signin.staff import needs_second_factor

    call_command("setup_groups")
    for name, needed in (("Card managers", True), ("Reviewers", True), ("Auditors", False)):
        user = staff()
        user.groups.add(Group.objects.get(name=name))
        assert needs_second_factor(type(user).objects.get(pk=user.pk)) is needed, name


def test_recovery_codes_left_mean_a_password_alone_never_enrols_a_new_authenticator(client):
    from django_otp.plugins.otp_static.models import StaticDevice

    reviewer = staff("rewards.change_grant")
    device = StaticDevice.objects.create(user=reviewer, name="recovery", confirmed=True)
    StaticToken.objects.create(device=device, token="abcd1234")
    client.force_login(reviewer)  # signed in with a password only (the customers' login page)
    page = client.get(reverse("signin:second_factor"))
    assert page.status_code == 403 and 'id="verify-first"' in page.content.decode()
    assert not TOTPDevice.objects.exists()


def test_every_showing_of_the_enrolment_page_makes_a_new_key(client):
    reviewer = staff("rewards.change_grant")
    sign_in(client, reviewer)
    client.get(reverse("signin:second_factor"))
    seen = TOTPDevice.objects.get()
    client.get(reverse("signin:second_factor"))  # shown again (or to someone else)
    assert not TOTPDevice.objects.filter(pk=seen.pk).exists()
    client.post(reverse("signin:second_factor"), {"token": code_now(seen)})
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
