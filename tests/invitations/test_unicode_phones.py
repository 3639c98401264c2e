"""A number written in other digits (full-width ``１３８``, Arabic-Indic ``١٣٨``, Persian,
Devanagari, or mixed) is the same number as its ASCII twin at every boundary: uniqueness, the
inviter's own number, existing customers, the per-number limits, the login and its lockout,
staff's search and forms. What is not a number is refused with a message that says why, and the
database holds only 11 ASCII digits."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from account_opening.client import HttpAccountOpeningClient, InvalidUpstreamReply, parse_body
from devtools.simulator_process import simulator_process
from invitations.exceptions import CODE_SENT_RECENTLY, NOT_INVITABLE, TOO_MANY_CODES
from invitations.models import Customer, Invitation, PhoneVerification
from invitations.phones import INVALID_PHONE, PHONE_NOT_DIGITS, InvalidPhone, normalize_phone
from invitations.services import create_invitation
from notifications import sms
from tests.factories import CampaignFactory, CustomerFactory, InvitationFactory
from tests.pages.codes import last_code
from tests.processes import worker_environment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox")]

ZEROS = {
    "full-width": "\uff10",
    "arabic-indic": "\u0660",
    "persian": "\u06f0",
    "devanagari": "\u0966",
    "bengali": "\u09e6",
    "thai": "\u0e50",
    "mathematical bold": "\U0001d7ce",
}


def short(value) -> str:
    return ascii(value)[:24] if isinstance(value, str) else None


def written(phone: str, script: str) -> str:
    """``phone`` in another script's decimal digits."""
    zero = ord(ZEROS[script])
    return "".join(chr(zero + int(digit)) for digit in phone)


def twin(phone: str, script: str) -> str:
    """The twin the old check let through: the first two digits in ASCII, the rest not."""
    return phone[:2] + written(phone[2:], script)


# --- the one normalization --------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        *(written("13912345678", script) for script in ZEROS),
        "13" + written("912345678", "full-width"),  # mixed, as in the report
        "15" + written("912345678", "arabic-indic"),
        written("139", "persian") + "12345678",
        "１３９　１２３４　５６７８",  # ideographic spaces
        "１３９－１２３４－５６７８",  # full-width hyphens
        "139.1234.5678",
        "(139) 1234\u20115678",  # non-breaking hyphen
        "\u00a0139 1234 5678\u00a0",
        "＋８６ １３９ １２３４ ５６７８",
        "+86 " + written("13912345678", "arabic-indic"),
        "００８６" + written("13912345678", "full-width"),
        "\u202d139 1234 5678\u202c",  # how a contact card's copy wraps a number
        "\u200f\u0661\u0663\u0669\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u200f",
    ],
    ids=short,
)
def test_a_number_in_any_decimal_digits_is_its_ascii_twin(typed):
    expected = "15912345678" if typed.startswith("15") else "13912345678"
    assert normalize_phone(typed) == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("13912345\u00b278", PHONE_NOT_DIGITS),  # superscript two: a digit, not a decimal
        ("\u2460" * 11, PHONE_NOT_DIGITS),  # circled digits
        ("一三九一二三四五六七八", PHONE_NOT_DIGITS),  # Chinese numerals
        ("139\x001234\x005678", PHONE_NOT_DIGITS),
        ("139 1234 567O", PHONE_NOT_DIGITS),  # letter O
        ("139+12345678", PHONE_NOT_DIGITS),
        ("1" * 10_000, INVALID_PHONE),
        ("１" * 10_000, INVALID_PHONE),
        ("\u200f" * 10_000, INVALID_PHONE),
        (written("1391234567", "full-width"), INVALID_PHONE),  # ten digits
        (written("23912345678", "arabic-indic"), INVALID_PHONE),
        ("+1 415 555 0100", INVALID_PHONE),
        ("＋１ ４１５ ５５５ ０１００ ０", INVALID_PHONE),
        ("", INVALID_PHONE),
        ("\u3000\u200e", INVALID_PHONE),
    ],
    ids=short,
)
def test_what_is_not_a_mainland_mobile_number_is_refused_saying_why(typed, message):
    started = time.monotonic()
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone(typed)
    assert str(refused.value) == str(message)
    assert time.monotonic() - started < 0.05


# --- the invitee's landing page ----------------------------------------------------------------


@pytest.fixture
def campaign():
    return CampaignFactory(points=200)


@pytest.fixture
def inviter(campaign):
    return CustomerFactory(phone="13700000000")


def landing(inviter) -> str:
    return reverse("invitations:landing", args=[inviter.invite_code])


def verify(inviter) -> str:
    return reverse("invitations:verify", args=[inviter.invite_code])


def answer_after_code(client, inviter, typed: str, ascii_phone: str) -> str:
    """The page the holder of the number reads once the code proves it."""
    sent = client.post(landing(inviter), {"phone": typed, "consent": "on"})
    assert sent.status_code == 302 and sent.url == verify(inviter)
    page = client.post(verify(inviter), {"code": last_code()}, follow=True).content.decode()
    assert sms.outbox[-1][0] == ascii_phone  # the code went to the number itself, in ASCII
    return page


def test_a_twin_of_an_invited_number_is_the_same_invitee(inviter, campaign):
    create_invitation(CustomerFactory(), "13912345678")
    client = Client(REMOTE_ADDR="10.0.0.1")
    page = answer_after_code(client, inviter, twin("13912345678", "full-width"), "13912345678")
    assert "另一位好友先邀请了您" in page
    assert list(Invitation.objects.values_list("invitee_phone", flat=True)) == ["13912345678"]


@pytest.mark.parametrize("spell", [twin, written])
def test_the_inviter_cannot_invite_their_own_number_in_arabic_indic_digits(
    inviter, campaign, spell
):
    page = answer_after_code(Client(), inviter, spell(inviter.phone, "arabic-indic"), inviter.phone)
    assert str(NOT_INVITABLE) in page and not Invitation.objects.exists()


@pytest.mark.parametrize("spell", [twin, written])
def test_an_existing_customer_in_persian_digits_is_not_invited(inviter, campaign, spell):
    CustomerFactory(phone="15912345678")
    page = answer_after_code(Client(), inviter, spell("15912345678", "persian"), "15912345678")
    assert "您已是我们的客户" in page and not Invitation.objects.exists()


def test_an_invitation_made_from_other_digits_is_stored_in_ascii(client, inviter, campaign):
    client.post(
        landing(inviter), {"phone": "+86 " + written("15912345678", "devanagari"), "consent": "on"}
    )
    done = client.post(verify(inviter), {"code": last_code("15912345678")})
    assert done.status_code == 302
    assert Invitation.objects.get().invitee_phone == "15912345678"


def test_per_number_code_limits_count_every_spelling_as_one_number(inviter, campaign, settings):
    first = Client(REMOTE_ADDR="10.0.0.1")
    first.post(landing(inviter), {"phone": "15912345678", "consent": "on"})
    again = Client(REMOTE_ADDR="10.0.0.2").post(
        landing(inviter), {"phone": twin("15912345678", "full-width"), "consent": "on"}
    )
    assert str(CODE_SENT_RECENTLY).split("{")[0] in again.content.decode()

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "phone_code_resend": (1, 0)}
    scripts = ["full-width", "arabic-indic", "persian", "devanagari", "bengali", "thai"]
    for n, script in enumerate(scripts[: settings.RATE_LIMITS["phone_codes_per_number"][0] - 1]):
        client = Client(REMOTE_ADDR=f"10.0.1.{n}")
        sent = client.post(
            landing(inviter), {"phone": twin("15912345678", script), "consent": "on"}
        )
        assert sent.status_code == 302
    refused = Client(REMOTE_ADDR="10.0.2.1").post(
        landing(inviter), {"phone": twin("15912345678", "mathematical bold"), "consent": "on"}
    )
    assert str(TOO_MANY_CODES) in refused.content.decode()
    assert len(sms.outbox) == settings.RATE_LIMITS["phone_codes_per_number"][0]
    assert {to for to, _ in sms.outbox} == {"15912345678"}
    assert set(PhoneVerification.objects.values_list("phone", flat=True)) == {"15912345678"}


def test_a_code_typed_in_full_width_digits_is_the_code(client, inviter, campaign):
    client.post(landing(inviter), {"phone": "15912345678", "consent": "on"})
    code = last_code("15912345678")
    done = client.post(verify(inviter), {"code": written(code, "full-width")})
    assert done.status_code == 302 and Invitation.objects.count() == 1


# --- sign-up and login -------------------------------------------------------------------------

PASSWORD = "Winter-Sky-2026"


@pytest.fixture
def customer():
    customer = CustomerFactory(phone="13800138000")
    customer.user.username = "13800138000"
    customer.user.set_password(PASSWORD)
    customer.user.save()
    return customer


def code_login(client, phone: str):
    started = client.post(reverse("invitations:code_login"), {"phone": phone})
    assert started.status_code == 302, started.content.decode()
    return client.post(reverse("invitations:code_login_verify"), {"code": last_code()})


@pytest.mark.parametrize("spell", [twin, written])
@pytest.mark.parametrize("script", ["full-width", "arabic-indic"])
def test_a_customers_number_in_other_digits_signs_in_as_that_customer(customer, script, spell):
    # before (the password sign-up): full-width answered HTTP 500 after the code (Django wrote
    # the user name in ASCII, a duplicate), Arabic-Indic made a second account
    client = Client()
    done = code_login(client, spell("13800138000", script))
    assert Customer.objects.count() == 1 and User.objects.count() == 1
    assert done.status_code == 302 and client.session["_auth_user_id"] == str(customer.user_id)
    assert [to for to, _ in sms.outbox] == ["13800138000"]  # the code went to the number itself
    customer.user.refresh_from_db()
    assert customer.user.check_password(PASSWORD)  # untouched


def test_a_new_customer_signing_in_in_other_digits_is_stored_in_ascii(client):
    done = code_login(client, "＋８６ " + written("13800138000", "full-width"))
    assert done.status_code == 302 and done.url == reverse("rewards:home")
    customer = Customer.objects.get()
    assert customer.phone == customer.user.username == "13800138000"


@pytest.mark.parametrize("spell", [twin, written])
def test_login_in_other_digits_finds_the_customer(client, customer, spell):
    response = client.post(
        reverse("login"), {"username": spell("13800138000", "persian"), "password": PASSWORD}
    )
    assert response.status_code == 302 and response.url == reverse("rewards:home")


def test_failed_logins_in_other_digits_count_for_the_same_lockout(customer, settings):
    scripts = ["full-width", "arabic-indic", "persian", "devanagari", "bengali", "thai"]
    for n in range(settings.AXES_FAILURE_LIMIT):
        typed = twin("13800138000", scripts[n % len(scripts)])
        Client(REMOTE_ADDR=f"10.0.3.{n}").post(
            reverse("login"), {"username": typed, "password": "guess"}
        )
    locked = Client(REMOTE_ADDR="10.0.4.1").post(
        reverse("login"), {"username": "13800138000", "password": PASSWORD}
    )
    assert locked.status_code == 429


# --- staff: the admin's search and the attribution form ------------------------------------------


@pytest.fixture
def reviewer(client):
    call_command("setup_groups", verbosity=0)
    user = User.objects.create_user("reviewer", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Reviewers"))
    user.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    ("changelist", "typed"),
    [
        ("admin:invitations_customer_changelist", "１３８ １２３４ ５６７８"),
        ("admin:invitations_invitation_changelist", written("15912345678", "arabic-indic")),
        ("admin:invitations_invitation_changelist", twin("15912345678", "arabic-indic")),
        ("admin:invitations_invitation_changelist", "13８12345678"),  # the inviter's
        ("admin:auth_user_changelist", twin("13812345678", "persian")),
    ],
)
def test_the_admin_search_in_other_digits_finds_the_ascii_number(
    client, reviewer, changelist, typed
):
    inviter = CustomerFactory(phone="13812345678")
    inviter.user.username = "13812345678"
    inviter.user.save()
    InvitationFactory(inviter=inviter, invitee_phone="15912345678")
    found = client.post(
        reverse(changelist.replace("_changelist", "_private_search")), {"term": typed}
    )
    page = client.get(found.url)
    assert page.status_code == 200 and page.context["cl"].result_count == 1


def test_staff_attribute_with_numbers_in_other_digits(client, reviewer):
    campaign, inviter = CampaignFactory(), CustomerFactory(phone="13812345678")
    response = client.post(
        reverse("admin:invitations_invitation_attribute"),
        {
            "inviter_phone": twin("13812345678", "arabic-indic"),
            "invitee_phone": "１５９ １２３４ ５６７８",
            "campaign": campaign.pk,
            "signed_up_at": (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
            "reason": "customer service ticket 4411",
        },
    )
    assert response.status_code == 302, response.content.decode()
    invitation = Invitation.objects.get()
    assert (invitation.inviter, invitation.invitee_phone) == (inviter, "15912345678")


# --- the database, the simulator's files, the upstream's replies --------------------------------


@pytest.mark.parametrize(
    ("table", "column", "make"),
    [
        ("invitations_customer", "phone", lambda: CustomerFactory()),
        ("invitations_invitation", "invitee_phone", lambda: InvitationFactory()),
    ],
)
@pytest.mark.parametrize(
    "stored",
    [
        "１３８００１３８０００",
        written("13800138000", "arabic-indic"),
        "1380013800 ",
        "+8613800138",
    ],
)
def test_the_database_refuses_a_phone_not_in_ascii_digits(table, column, make, stored):
    row = make()
    with pytest.raises(IntegrityError, match="phone_is_ascii"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [stored, row.pk])


def test_the_database_refuses_a_code_row_for_a_phone_not_in_ascii_digits():
    with pytest.raises(IntegrityError, match="verification_phone_is_ascii"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO invitations_phoneverification"
                " (phone, channel, code_digest, created_at, expires_at, attempts)"
                " VALUES (%s, 'link', 'x', now(), now(), 0)",
                [written("13800138000", "full-width")],
            )


def test_the_simulator_refuses_an_accounts_file_with_numbers_in_other_digits(tmp_path: Path):
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "phone,account_id,opened_at,channel\n"
        f"{written('13800138000', 'full-width')},A1,2026-01-01T00:00:00+08:00,app\n",
        encoding="utf-8",
    )
    # the command, in its own process as it is run (it serves forever once the file is read)
    with (
        pytest.raises(RuntimeError, match="not 11 ASCII digits"),
        simulator_process("--accounts", str(accounts), env=worker_environment()),
    ):
        pass


@pytest.mark.parametrize(
    "replied", [written("13800138000", "full-width"), "+86 13800138000", "13800138000\u200f"]
)
def test_an_upstream_reply_about_the_number_in_other_digits_is_refused(replied):
    body = json.dumps({"phone": replied, "opened": False}).encode()
    with pytest.raises(InvalidUpstreamReply, match="another phone"):
        parse_body("13800138000", body)


class SuperscriptLength(BaseHTTPRequestHandler):
    """An upstream whose Content-Length is "²" (a digit to str.isdigit(), not to int())."""

    def do_GET(self):
        body = json.dumps({"phone": "13800138000", "opened": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "\u00b2")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format, *args):
        pass


@pytest.mark.django_db(transaction=True)  # the client never waits inside a transaction
def test_a_content_length_in_other_digits_is_no_crash_the_body_is_read_within_its_cap(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), SuperscriptLength)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.ACCOUNT_OPENING_RATE = 1000
        client = HttpAccountOpeningClient(f"http://127.0.0.1:{server.server_address[1]}")
        status = client.lookup("13800138000")
    finally:
        server.shutdown()
        server.server_close()
    assert (status.phone, status.is_opened) == ("13800138000", False)
