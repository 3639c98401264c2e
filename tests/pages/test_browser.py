"""Pages in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser)."""

import os
import re
import shutil
from pathlib import Path

import pytest

from rewards.services import grant_reward
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation
from tests.pages.codes import last_code

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


# Screenshots are kept (CI can publish the folder) and looked at by people, not thrown away.
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOT_DIR", Path(__file__).parents[2] / "artifacts/screenshots")
)
WIDTHS = [360, 1280]


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def page(browser, request):
    context = browser.new_context(
        viewport={"width": request.param, "height": 800},
        locale="zh-CN",
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    page.width = request.param
    # whatever a test does, Chromium must refuse nothing under the Content-Security-Policy
    refused = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and refused.append(message.text),
    )
    yield page
    context.close()
    assert refused == [], refused


def look(page, name: str) -> None:
    """Save a full-page screenshot and check the page fits the screen: nothing wider than the
    viewport (a phone would scroll sideways)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{page.width}.png"
    page.screenshot(path=str(path), full_page=True)
    with path.open("rb") as png:
        header = png.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(header[16:20], "big") == page.width
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= page.width, f"{name} is {scroll_width}px wide at {page.width}px"


def wait_for(page, expression: str, timeout: float = 30_000) -> None:
    """Playwright's ``wait_for_function`` evaluates its predicate with ``eval`` in the page,
    which the Content-Security-Policy forbids (no 'unsafe-eval'); ``evaluate`` is not the
    page's script, so poll with it."""
    import time

    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} ms: {expression}"
        page.wait_for_timeout(100)


def test_an_invitee_corrects_a_typo_proves_the_number_and_is_sent_on(page, live_server, outbox):
    CampaignFactory()
    inviter = CustomerFactory(phone="13700000000")
    page.goto(f"{live_server.url}/i/{inviter.invite_code}")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert "137****0000" in page.inner_text("h1")
    look(page, "landing")
    page.fill("#id_phone", "159 0000 000")
    page.click("button[type=submit]")
    assert page.input_value("#id_phone") == "159 0000 000"
    assert "11 位" in page.inner_text(".errorlist")
    look(page, "landing-error")
    page.fill("#id_phone", "159 0000 0001")
    page.click("button[type=submit]")
    assert "请勾选同意" in page.inner_text("main")  # the box is never ticked for them
    assert page.input_value("#id_phone") == "159 0000 0001"
    page.check("#id_consent")
    page.click("button[type=submit]")
    assert "159****0001" in page.inner_text("main")
    assert page.get_attribute("#id_code", "inputmode") == "numeric"
    look(page, "verify")
    # the resend button waits, counting down the seconds (site.js)
    assert page.is_disabled("#resend")
    first = int(re.search(r"(\d+) 秒后", page.inner_text("#resend")).group(1))
    wait_for(
        page,
        f"parseInt(document.querySelector('#resend').textContent.match(/\\d+/)) < {first}",
        timeout=5_000,
    )
    code = last_code("15900000001")
    page.fill("#id_code", code)
    page.click("button.primary")
    assert "您已接受 137****0000 的邀请" in page.inner_text("h1")
    assert page.get_attribute("#open-account", "href").endswith("/open-account")
    look(page, "invited")

    # "I'll do it later": back to the link a few minutes on, no new code, where they left off
    texts = len(outbox)
    page.goto(f"{live_server.url}/i/{inviter.invite_code}")
    page.fill("#id_phone", "15900000001")
    page.check("#id_consent")
    page.click("button[type=submit]")
    assert "欢迎回来：您已接受 137****0000 的邀请" in page.inner_text("h1")
    assert page.is_visible("#open-account") and len(outbox) == texts
    look(page, "invited-again")


def test_a_customer_signs_in_by_code_shares_reveals_reports_and_switches_language(
    page, live_server, outbox
):
    campaign = CampaignFactory(points=200, name="邀请好友开户有礼")
    make_cards(campaign.card_kind, 2)
    customer = CustomerFactory(phone="13800138000")
    customer.user.username = "13800138000"
    customer.user.set_password("Winter-Sky-2026")
    customer.user.save()
    grant = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))

    # signed in as customers are: the number, then the code texted to it (no password)
    page.goto(f"{live_server.url}/me/")
    assert "/login/code" in page.url
    assert page.get_attribute("#id_phone", "inputmode") == "tel"
    look(page, "login")
    page.fill("#id_phone", "138 0013 8000")
    page.click("button.primary")
    page.fill("#id_code", last_code("13800138000"))
    look(page, "login-code")
    page.click("button.primary")

    # home: copy the link, open the QR code
    invite_url = page.inner_text("#invite-url")
    assert invite_url.endswith(f"/i/{customer.invite_code}")
    page.click("[data-copy='#invite-url']")
    wait_for(page, "document.querySelector(\"[data-copy='#invite-url']\").textContent === '已复制'")
    assert page.evaluate("navigator.clipboard.readText()") == invite_url
    page.click("#qr-code summary")
    assert page.locator("#qr-code svg.segno").is_visible()
    page.click("#poster")  # drawn as a PNG to save with a long press
    wait_for(page, "document.querySelector('#poster-preview img').src.startsWith('data:image/png')")
    look(page, "home")

    # rewards: show the card, then report a problem and see its state
    page.click("nav.site >> text=我的奖励")
    assert grant.grant_no in page.inner_text("#grants")
    look(page, "rewards")
    page.click(f"#grant-{grant.grant_no} button.primary")
    assert page.inner_text("#card-password").startswith("PW")
    look(page, "card")
    page.click("text=返回我的奖励")
    assert "PW" not in page.inner_text("#grants")
    page.click(f"#grant-{grant.grant_no} >> text=卡有问题？")
    page.click("label[for=id_problem_0]")  # the label selects its choice
    assert page.is_checked("input[value=activated]")
    page.fill("#id_note", "提示已被使用")
    look(page, "report")
    page.click("button.primary >> text=提交反馈")
    assert "已反馈，核查中" in page.inner_text(f"#grant-{grant.grant_no}")
    look(page, "reported")

    page.click("nav.site >> text=我的积分")
    assert page.inner_text("#points-balance") == "200"
    look(page, "points")

    # English on request, kept from page to page
    page.select_option("#language", "en")
    page.click("#language-switch button")
    assert page.get_attribute("html", "lang") == "en"
    assert "My learning points" in page.inner_text("h1")
    page.click("nav.site >> text=My invitations")
    assert "Your invite link" in page.inner_text("main")
    look(page, "home-en")


def test_errors_are_pages_of_the_site(page, live_server):
    page.goto(f"{live_server.url}/i/AB%00CD")
    assert "页面不存在" in page.inner_text("h1")
    look(page, "not-found")


@pytest.mark.parametrize("page", [1280], indirect=True, ids=["1280px"])
def test_staff_log_into_the_admin_and_see_stock(page, live_server, admin_user):
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 3)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/cardpool/cardkind/")
    assert "JD20" in page.inner_text("#result_list")


@pytest.mark.parametrize("page", [1280], indirect=True, ids=["1280px"])
def test_a_card_manager_uploads_watches_the_check_confirms_and_gets_the_batch(
    page, live_server, admin_user
):
    """The whole import in the admin, with a real worker cluster doing the check and the
    import in the background, and a file large enough to watch the progress bar move."""
    import subprocess
    import sys

    from cardpool.models import Card
    from tests.cardpool.files import csv_bytes, good_rows
    from tests.factories import CardKindFactory
    from tests.processes import ROOT, worker_environment

    CardKindFactory(code="JD50", name="JD 50", face_value=50)
    content = csv_bytes(good_rows(100_000, "BIG"))
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=worker_environment(Q_WORKERS=1),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page.goto(f"{live_server.url}/admin/login/?next=/admin/cardpool/cardbatch/import/")
        page.fill("#id_username", admin_user.username)
        page.fill("#id_password", "password")
        page.click("input[type=submit]")
        page.select_option("#id_kind", label="JD50（50.00 元）")
        page.fill("#id_supplier", "ACME")
        page.set_input_files(
            "#id_file", files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": content}]
        )
        look(page, "admin-upload")
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/cardpool/cardupload/*/change/")
        # the bar moves without a reload, then the page shows the checked file
        wait_for(
            page,
            "(() => { const bar = document.getElementById('upload-progress');"
            " return bar && bar.value > 0 && bar.value < 100; })()",
            timeout=120_000,
        )
        look(page, "admin-upload-progress")
        page.wait_for_selector("#confirm-import", timeout=120_000)
        assert "••••0001" in page.inner_text("#upload-sample")
        assert "BIG0000000001" not in page.content()
        look(page, "admin-upload-checked")
        page.click("#confirm-import")
        page.wait_for_selector("p.success a", timeout=120_000)
        look(page, "admin-upload-imported")
        page.click("p.success a")
        assert "big.csv" in page.inner_text("#content")
    finally:
        cluster.send_signal(2)
        try:
            cluster.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cluster.kill()
    assert Card.objects.count() == 100_000


def test_the_simulators_open_account_page_fits_a_phone(browser):
    """The demo sends the invitee on to the simulator's page, on a phone: laid out for the
    phone's width (not a desktop's 980 px shrunk), its button on screen and big enough."""
    from tests.simulator import simulator

    phone = browser.new_context(viewport={"width": 360, "height": 800}, is_mobile=True)
    page = phone.new_page()
    page.width = 360
    try:
        with simulator() as sim:
            page.goto(f"{sim.url}/open-account?phone=15900000001")
            assert page.evaluate("window.innerWidth") == 360
            look(page, "simulator-open-account")
            box = page.locator("#open").bounding_box()
            assert box["x"] + box["width"] <= 360 and box["height"] >= 44
    finally:
        phone.close()
