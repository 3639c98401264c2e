"""Migration invitations 0013 rewrites the phones stored before it in ASCII digits (a customer's
user name with them), refuses to merge twins under a unique rule, naming them, and its check
constraints then refuse any other spelling; backwards, the constraints go."""

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from invitations.models import Customer
from tests.factories import UserFactory
from tests.migrations import historical_model, migrate, old_campaign, old_customer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("latest_migrations_after"),
]

BEFORE = [("invitations", "0012_invitations_of_inviter_in_page_order")]
AFTER = [("invitations", "0013_phones_are_ascii")]
CONSTRAINTS = {
    "customer_phone_is_ascii",
    "invitation_phone_is_ascii",
    "verification_phone_is_ascii",
}


def constraints() -> dict[str, bool]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, convalidated FROM pg_constraint WHERE conname = ANY(%s)",
            [list(CONSTRAINTS)],
        )
        return dict(cursor.fetchall())


FULL_WIDTH_15900000001 = "15" + "".join(chr(0xFF10 + int(d)) for d in "900000001")


def old(model_name: str, **fields):
    """A row written as the code before the migration wrote it (today's model would name
    columns added since)."""
    return historical_model("invitations", model_name, BEFORE).objects.create(**fields)


def old_invitation(phone: str, campaign=None):
    now = timezone.now()
    return old(
        "Invitation",
        campaign_id=(campaign or old_campaign(BEFORE)).pk,
        inviter_id=old_customer(BEFORE).pk,
        invitee_phone=phone,
        qualify_by=now + timedelta(days=30),
        next_check_at=now,
    )


def customer(phone: str, username: str):
    return old_customer(BEFORE, phone=phone, user=UserFactory(username=username))


def test_stored_twins_are_rewritten_in_ascii_with_the_user_names(capsys):
    migrate(BEFORE)
    assert constraints() == {}
    # Django wrote a full-width user name in ASCII (NFKC), an Arabic-Indic one as it came
    full_width = customer("13９１２３４５６７８", "13912345678")
    arabic = customer("15٩١٢٣٤٥٦٧٨", "15٩١٢٣٤٥٦٧٨")
    staff = UserFactory(username="13700000000")  # a user name that is a number, not a customer
    invitation = old_invitation("15۹۰۰۰۰۰۰۰۱")
    verification = old(
        "PhoneVerification", phone="13८००१३८०००", code_digest="x", expires_at=invitation.qualify_by
    )

    migrate(AFTER)

    assert constraints() == dict.fromkeys(CONSTRAINTS, True)
    for row, phone in [(full_width, "13912345678"), (arabic, "15912345678")]:
        row.refresh_from_db()
        row.user.refresh_from_db()
        assert row.phone == row.user.username == phone
    staff.refresh_from_db()
    assert staff.username == "13700000000"
    invitation.refresh_from_db()
    verification.refresh_from_db()
    assert (invitation.invitee_phone, verification.phone) == ("15900000001", "13800138000")
    assert "2 customers (1 user names), 1 invitations, 1 phone verifications" in (
        capsys.readouterr().out
    )
    with pytest.raises(IntegrityError, match="customer_phone_is_ascii"), transaction.atomic():
        Customer.objects.filter(pk=arabic.pk).update(phone="15٩١٢٣٤٥٦٧٨")

    migrate(BEFORE)  # backwards: the constraints go, the numbers stay in ASCII
    assert constraints() == {}
    arabic.refresh_from_db()
    assert arabic.phone == "15912345678"
    migrate(AFTER)
    assert constraints() == dict.fromkeys(CONSTRAINTS, True)


def test_twins_under_a_unique_rule_stop_the_migration_naming_them_and_nothing_changes():
    migrate(BEFORE)
    campaign = old_campaign(BEFORE)
    ascii_customer = customer("13912345678", "13912345678")
    twin_customer = customer("13９１２３４５６７８", "twin")
    lone_twin = customer("15٩١٢٣٤٥٦٧٨", "lone")
    garbage = customer("1380013800O", "garbage")  # a letter O: no number at all
    first = old_invitation("15900000001", campaign)
    second = old_invitation(FULL_WIDTH_15900000001, campaign)
    other_campaign = old_invitation(FULL_WIDTH_15900000001)  # not a clash

    with pytest.raises(Exception, match="nothing was changed") as stopped:
        migrate(AFTER)
    message = str(stopped.value)
    assert f"customers [{twin_customer.pk}]" in message
    assert f"invitations [{second.pk}]" in message
    assert f"customers [{garbage.pk}] have a phone that is no number" in message
    named = {int(number) for number in re.findall(r"\d+", message)}
    assert {ascii_customer.pk, first.pk, other_campaign.pk}.isdisjoint(named)
    lone_twin.refresh_from_db()
    other_campaign.refresh_from_db()
    assert lone_twin.phone == "15٩١٢٣٤٥٦٧٨"  # nothing rewritten
    assert other_campaign.invitee_phone == FULL_WIDTH_15900000001

    # people decide which row is real; then the migration runs again from the start
    second.delete()
    # in SQL: Django's delete would look for related rows with columns of later migrations
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM invitations_customer WHERE id = %s", [twin_customer.pk])
        cursor.execute("DELETE FROM auth_user WHERE id = %s", [twin_customer.user_id])
    Customer.objects.filter(pk=garbage.pk).update(phone="13800138000")
    migrate(AFTER)
    assert constraints() == dict.fromkeys(CONSTRAINTS, True)
    lone_twin.refresh_from_db()
    other_campaign.refresh_from_db()
    assert (lone_twin.phone, other_campaign.invitee_phone) == ("15912345678", "15900000001")
