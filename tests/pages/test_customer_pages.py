"""The customer's pages through Django's test client: every boundary, in Chinese by default."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from markupsafe import Markup

from core import jinja2 as customer_templates
from invitations.exceptions import TOO_MANY_CODES
from invitations.models import Customer, Invitation
from notifications import sms
from rewards.models import Anomaly, GrantEvent, PointsEntry
from rewards.reauth import SESSION_KEY
from rewards.services import grant_reward, reissue_grant, void_grant
from rewards.services.anomalies import review_anomaly
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation
from tests.pages.codes import last_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    campaign = CampaignFactory(points=200)
    make_cards(campaign.card_kind, 5)
    return campaign


@pytest.fixture
def customer():
    customer = CustomerFactory(phone="13800138000")
    customer.user.username = "13800138000"
    customer.user.set_password("Winter-Sky-2026")
    customer.user.save()
    return customer


def text(response) -> str:
    return response.content.decode()


def test_pages_are_in_chinese_by_default_and_english_on_request(client, campaign, customer):
    client.force_login(customer.user)
    page = text(client.get(reverse("rewards:home")))
    assert '<html lang="zh-hans">' in page and "我的邀请" in page
    switched = client.post(reverse("set_language"), {"language": "en", "next": "/me/"})
    assert switched.status_code == 302
    page = text(client.get(reverse("rewards:home")))
    assert '<html lang="en">' in page and "My invitations" in page


def test_login_takes_the_number_typed_any_way_on_the_numeric_keypad(client, customer):
    page = text(client.get(reverse("login")))
    assert 'inputmode="numeric"' in page
    response = client.post(
        reverse("login"), {"username": "+86 138-0013-8000", "password": "Winter-Sky-2026"}
    )
    assert response.status_code == 302 and response.url == reverse("rewards:home")


def test_failed_logins_lock_the_account_out_with_a_clear_message(client, customer, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page = client.post(reverse("login"), {"username": "13800138000", "password": "wrong"})
        assert page.status_code == 200
    locked = client.post(reverse("login"), {"username": "13800138000", "password": "wrong"})
    assert locked.status_code == 429 and 'id="locked-out"' in text(locked)
    # the right password does not get through during the cool-off, from anywhere
    other_address = Client(REMOTE_ADDR="10.0.0.9")
    again = other_address.post(
        reverse("login"), {"username": "13800138000", "password": "Winter-Sky-2026"}
    )
    assert again.status_code == 429


def test_failed_logins_from_one_address_lock_that_address_out(client, customer, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": f"1390000{n:04d}", "password": "guess"})
    response = client.post(
        reverse("login"), {"username": "13800138000", "password": "Winter-Sky-2026"}
    )
    assert response.status_code == 429
    elsewhere = Client(REMOTE_ADDR="10.0.0.9")
    ok = elsewhere.post(
        reverse("login"), {"username": "13800138000", "password": "Winter-Sky-2026"}
    )
    assert ok.status_code == 302


def test_customer_pages_need_a_login_and_a_customer(client, admin_user):
    for name in ("rewards:home", "rewards:my_rewards", "rewards:my_points", "rewards:poster"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url.startswith(
            reverse("invitations:code_login")
        )
    client.force_login(admin_user)
    assert client.get(reverse("rewards:home")).status_code == 404


def code_login(client, phone: str):
    sms.outbox.clear()
    first = client.post(reverse("invitations:code_login"), {"phone": phone})
    if first.status_code != 302:
        return first
    code = last_code()
    return client.post(reverse("invitations:code_login_verify"), {"code": code})


def test_a_new_number_proves_itself_before_it_has_an_account_and_needs_no_password(client):
    assert client.get(reverse("invitations:signup")).url == reverse("invitations:code_login")
    started = client.post(reverse("invitations:code_login"), {"phone": "138-0013-8000"})
    assert started.status_code == 302 and not Customer.objects.exists()  # not before the code
    verify = reverse("invitations:code_login_verify")
    wrong = client.post(verify, {"code": "abcdef"}, follow=True)
    assert wrong.status_code == 200 and "errorlist" in wrong.content.decode()
    assert not Customer.objects.exists()

    done = client.post(verify, {"code": last_code()})
    assert done.status_code == 302 and done.url == reverse("rewards:home")
    customer = Customer.objects.get()
    assert customer.phone == "13800138000" and not customer.user.has_usable_password()
    assert client.get(reverse("rewards:home")).status_code == 200
    assert set(client.session.keys()) <= {
        "_auth_user_id",
        "_auth_user_backend",
        "_auth_user_hash",
        "authenticated_at",
    }  # ids only: no number, no code, no hash of a password


def test_a_customers_number_answers_like_any_other_and_signs_in_as_its_owner(customer, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    first = Client().post(reverse("invitations:code_login"), {"phone": "13800138000"})
    new = Client().post(reverse("invitations:code_login"), {"phone": "13900000001"})
    assert first.status_code == new.status_code == 302 and first.url == new.url
    client = Client(REMOTE_ADDR="10.0.0.2")
    done = code_login(client, "13800138000")
    assert done.status_code == 302 and client.session["_auth_user_id"] == str(customer.user_id)
    assert Customer.objects.count() == 1
    customer.user.refresh_from_db()
    assert customer.user.check_password("Winter-Sky-2026")  # untouched, still works


def test_code_sign_ins_are_throttled_per_address(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_codes_per_address": (3, 3600)}
    for n in range(3):
        assert code_login(client, f"1390000000{n}").status_code == 302
    refused = code_login(client, "13900000009")
    assert str(TOO_MANY_CODES) in text(refused)
    assert not Customer.objects.filter(phone="13900000009").exists()


def test_home_shows_the_link_its_qr_code_counts_and_masked_invitations(client, campaign, customer):
    Invitation.objects.create(
        campaign=campaign,
        inviter=customer,
        invitee_phone="15900000001",
        qualify_by=timezone.now() + timedelta(days=30),
        next_check_at=timezone.now(),
    )
    grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    client.force_login(customer.user)
    page = text(client.get(reverse("rewards:home")))
    assert f"/i/{customer.invite_code}" in page
    assert 'class="segno"' in page  # the QR code, drawn on the server
    assert "159****0001" in page and "15900000001" not in page
    counts = re.search(r'<dl class="counts" id="counts">(.*?)</dl>', page, re.S).group(1)
    assert re.findall(r"<dd>(\d+)</dd>", counts) == ["2", "1", "1", "1", "9"]
    assert "我们会每隔几小时查询一次" in page  # what happens next to a waiting invitation


def test_a_reward_a_person_cancelled_says_so_not_that_it_is_being_prepared(
    client, campaign, customer, admin_user
):
    """A void grant is final for the automatic paths (invariant 14): no reward will follow, and
    the inviter's page must not promise one."""
    grant = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    void_grant(grant, reason="the friend's account was closed for fraud", actor=admin_user)
    client.force_login(customer.user)

    page = text(client.get(reverse("rewards:home")))

    assert "已开户：奖励已取消" in page and "联系客服" in page
    assert "正在准备" not in page
    assert "fraud" not in page  # the reviewer's reason is for staff


def test_what_staff_or_customers_typed_is_escaped_and_our_texts_keep_their_markup(
    client, campaign, customer
):
    """The customer pages are Jinja2 with Django's meaning: values escaped, in translated
    texts too (``|fill``), while a translation's own markup stays markup."""
    campaign.name = '<script>alert("name")</script>'
    campaign.rules = "<b>rule</b>\nline two"
    campaign.save()
    client.force_login(customer.user)
    page = text(client.get(reverse("rewards:home")))
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "&lt;b&gt;rule&lt;/b&gt;<br>line two" in page

    with_markup = customer_templates.fill(
        Markup("Open it with <strong>the same number</strong> before %(by)s."), by="<x>"
    )
    assert with_markup == "Open it with <strong>the same number</strong> before &lt;x&gt;."
    assert (
        customer_templates.fill(
            customer_templates._("Reward %(no)s, earned %(on)s"), no="<i>", on="x"
        )
        == "奖励 &lt;i&gt;，获得于 x"
    )


def test_the_poster_is_an_svg_with_the_masked_inviter_and_the_link(client, campaign, customer):
    client.force_login(customer.user)
    response = client.get(reverse("rewards:poster"))
    assert response["Content-Type"] == "image/svg+xml"
    assert "attachment" in response["Content-Disposition"]
    svg = text(response)
    assert svg.startswith("<svg") and "138****8000" in svg and "13800138000" not in svg
    assert campaign.name in svg and f"/i/{customer.invite_code}" in svg


def test_a_customer_sees_reveals_and_reports_only_their_own_rewards(client, campaign, customer):
    mine = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    theirs = grant_reward(qualified_invitation(campaign=campaign))
    client.force_login(customer.user)

    page = text(client.get(reverse("rewards:my_rewards")))
    assert mine.grant_no in page and theirs.grant_no not in page
    assert "PW0000" not in page  # the list never shows a password
    points = text(client.get(reverse("rewards:my_points")))
    assert '<p class="big" id="points-balance">200</p>' in points and mine.grant_no in points

    assert client.post(reverse("rewards:reveal_card", args=[theirs.grant_no])).status_code == 404
    report = {"problem": "activated"}
    assert (
        client.post(reverse("rewards:report_card", args=[theirs.grant_no]), report).status_code
        == 404
    )
    assert not GrantEvent.objects.filter(grant=theirs, action__in=["revealed", "reported"]).exists()

    card = client.post(reverse("rewards:reveal_card", args=[mine.grant_no]))
    assert "no-store" in card["Cache-Control"]
    assert "PW0000" in text(card)
    mine.refresh_from_db()
    assert mine.first_revealed_at is not None
    assert (
        GrantEvent.objects.filter(grant=mine, action="revealed", actor=customer.user).count() == 1
    )
    assert "PW0000" not in text(client.get(reverse("rewards:my_rewards")))  # masked again


def test_a_card_problem_is_reported_on_a_page_of_its_own_for_own_issued_cards_only(
    client, campaign, customer
):
    """The list links each issued card to its report form (20 forms made the list heavy)."""
    mine = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    theirs = grant_reward(qualified_invitation(campaign=campaign))
    client.force_login(customer.user)
    url = reverse("rewards:report_card", args=[mine.grant_no])
    listed = text(client.get(reverse("rewards:my_rewards")))
    assert f'href="{url}"' in listed and 'type="radio"' not in listed
    form = text(client.get(url))
    ids = re.findall(r'<input type="radio" name="problem" value="[a-z_]+"[^>]* id="([^"]+)"', form)
    labels = re.findall(r'<label for="(id_problem_[^"]+)"', form)
    assert len(ids) == 3 and sorted(labels) == sorted(ids)
    assert mine.grant_no in form
    assert client.get(reverse("rewards:report_card", args=[theirs.grant_no])).status_code == 404
    waiting = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    waiting.status = "held"
    waiting.card = None
    waiting.save()
    back = client.get(reverse("rewards:report_card", args=[waiting.grant_no]))
    assert back.status_code == 302 and back.url == reverse("rewards:my_rewards")


def test_reveal_refuses_get_with_a_page_and_both_refuse_a_post_without_csrf(campaign, customer):
    grant = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer.user)
    got = client.get(reverse("rewards:reveal_card", args=[grant.grant_no]))
    assert got.status_code == 405 and got["Allow"] == "POST"
    assert 'id="error-page"' in text(got)
    for name in ("rewards:reveal_card", "rewards:report_card"):
        url = reverse(name, args=[grant.grant_no])
        assert client.post(url, {"problem": "other"}).status_code == 403
    assert not GrantEvent.objects.filter(grant=grant, action__in=["revealed", "reported"]).exists()


def test_an_old_login_gives_its_password_again_before_a_card_is_shown(
    client, campaign, customer, settings
):
    grant = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    client.force_login(customer.user)
    session = client.session
    old = timezone.now() - timedelta(minutes=settings.REVEAL_REAUTH_MINUTES + 1)
    session[SESSION_KEY] = old.isoformat()
    session.save()
    url = reverse("rewards:reveal_card", args=[grant.grant_no])

    asked = text(client.post(url))
    assert 'type="password"' in asked and "PW0000" not in asked
    wrong = text(client.post(url, {"password": "not-it"}))
    assert "PW0000" not in wrong and "errorlist" in wrong
    assert not GrantEvent.objects.filter(grant=grant, action="revealed").exists()
    right = text(client.post(url, {"password": "Winter-Sky-2026"}))
    assert "PW0000" in right
    assert "PW0000" in text(client.post(url))  # fresh again for the next quarter of an hour


def test_a_report_is_recorded_once_then_shows_its_state_and_outcome(
    client, campaign, customer, admin_user
):
    grant = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    client.force_login(customer.user)
    url = reverse("rewards:report_card", args=[grant.grant_no])

    bad = client.post(url, {"note": "x" * 600})
    assert bad.status_code == 200 and "x" * 500 in text(bad)  # the form keeps what was typed
    assert not Anomaly.objects.exists()

    client.post(url, {"problem": "activated", "note": "says used"})
    client.post(url, {"problem": "declined", "note": "shop refused it too"})  # already reported
    anomaly = Anomaly.objects.get(kind="card_reported")
    assert (anomaly.severity, anomaly.grant, anomaly.occurrences) == ("critical", grant, 1)
    assert GrantEvent.objects.filter(grant=grant, action="reported").count() == 1
    page = text(client.get(reverse("rewards:my_rewards")))
    assert "已反馈，核查中" in page

    review_anomaly(
        anomaly, status="resolved", note="该卡已验证可用，请在京东使用", actor=admin_user
    )
    assert "该卡已验证可用" in text(client.get(reverse("rewards:my_rewards")))

    new = reissue_grant(grant, reason="supplier confirmed activated", actor=admin_user)
    page = text(client.get(reverse("rewards:my_rewards")))
    assert f'href="#grant-{new.grant_no}"' in page  # the void one links to its replacement
    assert "supplier confirmed" not in page  # staff's reason stays with staff


def test_points_history_lists_credits_and_reversals(client, campaign, customer, admin_user):
    grant = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    reissue_grant(grant, reason="card did not work", actor=admin_user)
    client.force_login(customer.user)
    page = text(client.get(reverse("rewards:my_points")))
    history = re.search(r'id="points-history">(.*?)</ul>', page, re.S).group(1)
    assert history.count("<li") == PointsEntry.objects.filter(customer=customer).count() == 3
    assert "+200" in history and "-200" in history


@pytest.mark.parametrize(
    "path",
    ["/i/AB%00CD", "/i/AB%00CD/verify", "/me/grants/RG1%00/card", "/%00", "/i/%01abc"],
)
def test_garbage_in_a_url_is_a_friendly_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert 'id="error-page"' in text(response)


def test_no_customer_page_grows_its_query_count_with_the_data(
    client, campaign, customer, django_assert_max_num_queries
):
    def queries(name: str) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(name)).status_code == 200
        return len(captured)

    client.force_login(customer.user)
    grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    few = {
        name: queries(name) for name in ("rewards:home", "rewards:my_rewards", "rewards:my_points")
    }
    make_cards(campaign.card_kind, 30)
    for _ in range(30):
        grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    many = {name: queries(name) for name in few}
    assert many == few
