"""Pages in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser)."""

import os
import shutil

import pytest

from rewards.services import grant_reward
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
if not os.path.exists(CHROMIUM):
    if os.environ.get("REQUIRE_BROWSER"):
        raise RuntimeError(
            "REQUIRE_BROWSER is set but Debian's chromium is not installed (make browser)."
        )
    pytest.skip("Debian's chromium is not installed (make browser)", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the tests' ORM calls are still
    # synchronous. Set only while this module runs: other tests' child processes (check
    # --deploy among them) must not inherit it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_an_invitee_corrects_a_typo_and_is_sent_on(page, live_server, tmp_path):
    CampaignFactory()
    inviter = CustomerFactory()
    page.goto(f"{live_server.url}/i/{inviter.invite_code}")
    page.fill("#id_phone", "159 0000 000")
    page.click("button[type=submit]")
    assert page.input_value("#id_phone") == "159 0000 000"
    assert "valid 11-digit" in page.inner_text(".errorlist")
    page.fill("#id_phone", "159 0000 0001")
    page.click("button[type=submit]")
    assert "open your account" in page.inner_text("h1")
    assert "phone=15900000001" in page.get_attribute("#open-account", "href")
    page.screenshot(path=str(tmp_path / "invited.png"))


def test_a_customer_logs_in_and_reveals_their_card(page, live_server):
    campaign = CampaignFactory(points=200)
    make_cards(campaign.card_kind, 1)
    customer = CustomerFactory(phone="13800138000")
    customer.user.username = "13800138000"
    customer.user.set_password("Winter-Sky-2026")
    customer.user.save()
    grant = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "13800138000")
    page.fill("#id_password", "Winter-Sky-2026")
    page.click("button[type=submit]")
    assert page.inner_text("#points-balance") == "200"
    assert grant.grant_no in page.inner_text("#grants")
    page.click("text=Show card")
    assert page.inner_text("#card-password").startswith("PW")


def test_staff_log_into_the_admin_and_see_stock(page, live_server, admin_user):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 3)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/cardpool/cardkind/")
    assert "JD20" in page.inner_text("#result_list")
