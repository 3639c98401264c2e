"""Entering from the brokerage's app: a signed hand-off token (``/enter``), through the app's
stand-in (``devtools.app_handoff``) as a real process over HTTP, and every way a token can be
wrong."""

import logging
import sys
import time
from urllib.parse import urlparse

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth import get_user_model
from django.urls import reverse

from devtools import app_handoff
from devtools.processes import listening
from invitations.models import Customer
from signin.models import AppIdentity, SignInEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


@pytest.fixture(autouse=True)
def handoff_keys(settings):
    settings.APP_HANDOFF_PUBLIC_KEYS = app_handoff.PUBLIC_KEY
    settings.APP_HANDOFF_ISSUER = app_handoff.ISSUER
    settings.APP_HANDOFF_AUDIENCE = app_handoff.AUDIENCE


def the_app():
    """The app's stand-in over HTTP, opening ``http://testserver`` (the test client's site)."""
    command = [sys.executable, "-m", "devtools.app_handoff", "--port", "0"]
    return listening([*command, "--site", "http://testserver"])


def enter(client, token: str, next_url: str = "/me/"):
    return client.get(reverse("signin:enter"), {"token": token, "next": next_url})


def signed_in(client):
    return client.session.get("_auth_user_id")


def test_the_app_opens_the_pages_signed_in_with_a_fresh_session_and_the_token_leaves_the_url(
    client,
):
    client.get(reverse("login"))  # a session planted before
    client.session.save()
    planted = client.session.session_key
    with the_app() as app:
        opened = requests.get(
            f"{app}/open",
            params={"customer": "C1", "phone": PHONE, "next": "/me/rewards/"},
            allow_redirects=False,
            timeout=10,
        )
    assert opened.status_code == 302
    target = urlparse(opened.headers["Location"])
    assert target.path == "/enter"

    entered = client.get(f"{target.path}?{target.query}")
    assert entered.status_code == 302 and entered["Location"] == "/me/rewards/"
    assert entered["Referrer-Policy"] == "no-referrer" and "no-store" in entered["Cache-Control"]
    customer = Customer.objects.get(phone=PHONE)  # a new customer, without a password
    assert not customer.user.has_usable_password()
    assert signed_in(client) == str(customer.user_id)
    assert client.session.session_key != planted
    # ids and a time only: no phone, no token, no hash of a password
    assert set(client.session.keys()) <= {
        "_auth_user_id",
        "_auth_user_backend",
        "_auth_user_hash",
        "authenticated_at",
    }
    assert AppIdentity.objects.get().subject == "C1"
    assert client.get("/me/rewards/").status_code == 200

    # the same token again: refused, whoever sends it
    other = type(client)()
    assert other.get(f"{target.path}?{target.query}").status_code == 403


def test_an_existing_customer_is_the_same_person_afterwards(client):
    customer = CustomerFactory(phone=PHONE)
    assert enter(client, app_handoff.token("C7", PHONE)).status_code == 302
    assert signed_in(client) == str(customer.user_id)
    client.logout()
    assert enter(client, app_handoff.token("C7", PHONE)).status_code == 302
    assert AppIdentity.objects.count() == 1


def hs256_with_the_public_key() -> str:
    """The algorithm-confusion attack: an HMAC token keyed with our public key (PyJWT itself
    refuses to make one, so it is made by hand)."""
    import base64
    import hashlib
    import hmac
    import json

    def part(value) -> str:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "iss": app_handoff.ISSUER,
        "aud": app_handoff.AUDIENCE,
        "sub": "C1",
        "phone": PHONE,
        "iat": now,
        "exp": now + 30,
        "jti": "x1",
    }
    signed = part({"alg": "HS256", "typ": "JWT"}) + "." + part(claims)
    mac = hmac.new(app_handoff.PUBLIC_KEY.encode(), signed.encode(), hashlib.sha256).digest()
    return signed + "." + part(mac)


def other_key() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            lambda: app_handoff.token("C1", PHONE, issued_at=time.time() - 120), id="expired"
        ),
        pytest.param(lambda: app_handoff.token("C1", PHONE, lifetime=3600), id="lives-too-long"),
        pytest.param(
            lambda: app_handoff.token("C1", PHONE, issued_at=time.time() + 600), id="future"
        ),
        pytest.param(
            lambda: app_handoff.token("C1", PHONE, audience="another-site"), id="audience"
        ),
        pytest.param(lambda: app_handoff.token("C1", PHONE, issuer="someone-else"), id="issuer"),
        pytest.param(lambda: app_handoff.token("C1", PHONE, key=other_key()), id="signature"),
        pytest.param(hs256_with_the_public_key, id="hs256-keyed-with-the-public-key"),
        pytest.param(
            lambda: jwt.encode(
                {
                    "iss": app_handoff.ISSUER,
                    "aud": app_handoff.AUDIENCE,
                    "sub": "C1",
                    "phone": PHONE,
                    "iat": int(time.time()),
                    "exp": int(time.time()) + 30,
                    "jti": "x2",
                },
                None,
                algorithm="none",
            ),
            id="alg-none",
        ),
        pytest.param(lambda: app_handoff.token("C1", "not-a-phone"), id="bad-phone"),
        pytest.param(lambda: "garbage\x00" + "a" * 10_000, id="garbage"),
        pytest.param(lambda: "", id="empty"),
    ],
)
def test_a_bad_token_signs_nobody_in_and_makes_nobody(client, token):
    response = enter(client, token())
    assert response.status_code == 403
    assert "cannot sign you in" in response.content.decode() or "无法" in response.content.decode()
    assert signed_in(client) is None
    assert not Customer.objects.exists() and not AppIdentity.objects.exists()


def test_a_token_signed_by_either_key_of_a_rotation_is_taken(client, settings):
    new_private = other_key()
    new_public = (
        serialization.load_pem_private_key(new_private.encode(), None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings.APP_HANDOFF_PUBLIC_KEYS = new_public + app_handoff.PUBLIC_KEY
    assert enter(client, app_handoff.token("C1", PHONE, key=new_private)).status_code == 302
    client.logout()
    assert enter(client, app_handoff.token("C1", PHONE)).status_code == 302


def test_the_brokerages_customer_id_and_phone_stay_tied_and_a_mismatch_is_recorded(client):
    assert enter(client, app_handoff.token("C1", PHONE)).status_code == 302
    client.logout()
    # the known customer id with another phone
    assert enter(client, app_handoff.token("C1", "13911112222")).status_code == 403
    # another customer id with this phone
    assert enter(client, app_handoff.token("C2", PHONE)).status_code == 403
    assert signed_in(client) is None
    actions = sorted(SignInEvent.objects.values_list("action", flat=True))
    assert actions == ["phone_mismatch", "phone_of_another"]
    assert not Customer.objects.filter(phone="13911112222").exists()  # nothing made for it


def test_a_staff_account_is_never_entered_from_the_app(client):
    customer = CustomerFactory(phone=PHONE)
    get_user_model().objects.filter(pk=customer.user_id).update(is_staff=True)
    assert enter(client, app_handoff.token("C1", PHONE)).status_code == 403
    assert SignInEvent.objects.get().action == "staff_account"


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/me/", "javascript:alert(1)", "/\\evil"]
)
def test_next_goes_only_to_our_own_pages(client, next_url):
    response = enter(client, app_handoff.token("C1", PHONE), next_url)
    assert response.status_code == 302 and response["Location"] == reverse("rewards:home")


def test_no_token_no_phone_in_any_log_line(client, caplog):
    caplog.set_level(logging.DEBUG)
    good = app_handoff.token("C1", PHONE)
    enter(client, good)
    enter(type(client)(), good)  # replayed
    bad = app_handoff.token("C1", PHONE, audience="x")
    enter(type(client)(), bad)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "refused" in text
    for secret in (good, bad, PHONE):
        assert secret not in text


def test_without_a_key_configured_every_token_is_refused(client, settings):
    settings.APP_HANDOFF_PUBLIC_KEYS = ""
    assert enter(client, app_handoff.token("C1", PHONE)).status_code == 403


def test_a_rotation_from_one_algorithm_to_another_takes_tokens_signed_either_way(client, settings):
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_private = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    rsa_public = (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings.APP_HANDOFF_PUBLIC_KEYS = rsa_public + app_handoff.PUBLIC_KEY
    eddsa = app_handoff.token("C1", PHONE)
    assert enter(client, eddsa).status_code == 302
    client.logout()
    settings.APP_HANDOFF_PUBLIC_KEYS = app_handoff.PUBLIC_KEY + rsa_public
    rs256 = app_handoff.token("C1", PHONE, key=rsa_private, algorithm="RS256")
    assert enter(client, rs256).status_code == 302


def test_a_disabled_account_is_not_entered(client):
    customer = CustomerFactory(phone=PHONE)
    get_user_model().objects.filter(pk=customer.user_id).update(is_active=False)
    assert enter(client, app_handoff.token("C1", PHONE)).status_code == 403
