"""Content-Security-Policy: every page carries a strict one (no CDN, no inline script), and no
template writes what it would refuse. The browser tests (test_browser.py) fail on any violation
Chromium reports while they use the pages."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from core.middleware import ADMIN_CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY
from notifications import sms
from rewards.services import grant_reward
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation
from tests.pages.codes import last_code

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def policy(response) -> dict:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_every_customer_page_carries_the_strict_policy(client):
    campaign = CampaignFactory(points=200)
    make_cards(campaign.card_kind, 2)
    inviter = CustomerFactory(phone="13700000000")
    customer = CustomerFactory(phone="13800138000")
    grant = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
    landing = reverse("invitations:landing", kwargs={"code": inviter.invite_code})
    anonymous = [
        landing,
        reverse("login"),
        reverse("invitations:code_login"),
        "/no-such-page",
        "/i/AB%00CD",
        "/health/live",
        "/health/status",
        "/metrics",
    ]
    pages = {}
    for address in anonymous:
        pages[address] = client.get(address)
    sms.outbox.clear()
    sent = client.post(landing, {"phone": "15900000001", "consent": "on"})
    pages["verify"] = client.get(sent.url)
    pages["invited"] = client.post(sent.url, {"code": last_code("15900000001")}, follow=True)

    client.force_login(customer.user)
    for name in ("rewards:home", "rewards:my_rewards", "rewards:my_points", "rewards:poster"):
        pages[name] = client.get(reverse(name))
    pages["card"] = client.post(reverse("rewards:reveal_card", args=[grant.grant_no]))
    pages["report"] = client.get(reverse("rewards:report_card", args=[grant.grant_no]))
    pages["405"] = client.get(reverse("rewards:reveal_card", args=[grant.grant_no]))

    assert pages["rewards:home"].status_code == 200 and "<svg" in pages["rewards:home"].text
    assert pages["card"].status_code == 200 and pages["405"].status_code == 405
    for address, response in pages.items():
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, address
    rules = policy(pages["rewards:home"])
    assert {name: rules[name] for name in STRICT} == STRICT
    # the QR code is inline SVG (no image request); the poster is drawn from a blob: to data:
    assert rules["img-src"] == "'self' data: blob:"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_the_admin_allows_inline_styles_but_never_inline_scripts(client, admin_user):
    client.force_login(admin_user)
    for address in ("/admin/", "/admin/login/", "/admin/cardpool/cardkind/"):
        response = client.get(address)
        assert response["Content-Security-Policy"] == ADMIN_CONTENT_SECURITY_POLICY, address
    rules = policy(response)
    assert rules["script-src"] == "'self'" and rules["style-src"] == "'self' 'unsafe-inline'"
    assert rules["frame-ancestors"] == "'none'" and rules["object-src"] == "'none'"
    # a look-alike address outside the admin gets the strict one
    assert client.get("/administrator/")["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_a_policy_a_view_sets_itself_is_kept():
    from django.http import HttpResponse
    from django.test import RequestFactory

    from core.middleware import content_security_policy

    def view(request):
        response = HttpResponse("x")
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    response = content_security_policy(view)(RequestFactory().get("/me/"))
    assert response["Content-Security-Policy"] == "default-src 'none'"


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)


def templates(folder: str) -> list[Path]:
    found = sorted((ROOT / folder).rglob("*.html"))
    assert found, folder
    return found


@pytest.mark.parametrize("folder", ["jinja2", "templates"])
def test_no_template_has_an_inline_script_an_event_handler_or_a_javascript_url(folder):
    for path in templates(folder):
        source = path.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JAVASCRIPT_URL):
            match = pattern.search(source)
            assert match is None, f"{path.relative_to(ROOT)}: {match and match.group(0)!r}"


def test_no_customer_template_has_an_inline_style():
    for path in templates("jinja2"):
        match = INLINE_STYLE.search(path.read_text())
        assert match is None, f"{path.relative_to(ROOT)}: {match and match.group(0)!r}"


def test_the_500_page_stands_alone_with_its_own_stylesheet():
    from django.contrib.staticfiles import finders
    from django.template.loader import render_to_string

    page = render_to_string("500.html")
    assert '<link rel="stylesheet" href="/static/site/error.css">' in page
    assert finders.find("site/error.css")
