"""Every stored phone is 11 ASCII digits starting with 1 (``invitations.phones``): a number
written in full-width or another script's digits (``13９...``, ``١٣٩...``) was taken for another
number by the uniqueness rules and the per-number limits.

1. The check constraints are added ``NOT VALID``: from then on every write is checked, and the
   tables (invitations is large) are locked only for an instant.
2. Rows written before are rewritten in ASCII digits (the mapping is frozen here, not imported:
   each Unicode decimal digit becomes its value). A customer's user name, when it is their
   number as typed, follows their phone, so they still log in. If a rewritten number collides
   with another row under a unique rule (two customers, two invitations in one campaign, two
   user names), or a row cannot be read as a number at all, nothing is changed and the
   migration stops naming the rows: people decide which one is real, not a migration.
   A code texted before, still unused, no longer matches (its digest has the old spelling):
   the invitee asks for another.
3. ``VALIDATE CONSTRAINT`` then reads the tables without blocking writes.

Reverse: the constraints are dropped; the rewritten numbers stay in ASCII (the same numbers).
"""

import re
import unicodedata
from collections import Counter

from django.db import migrations, models

STORED_PHONE = r"^1[0-9]{10}$"
_STORED = re.compile(r"1[0-9]{10}", re.ASCII)

# (table, column, constraint name, model, field)
CHECKED = [
    ("invitations_customer", "phone", "customer_phone_is_ascii", "customer", "phone"),
    (
        "invitations_invitation",
        "invitee_phone",
        "invitation_phone_is_ascii",
        "invitation",
        "invitee_phone",
    ),
    (
        "invitations_phoneverification",
        "phone",
        "verification_phone_is_ascii",
        "phoneverification",
        "phone",
    ),
]


def ascii_phone(value: str) -> str | None:
    """The number in ASCII digits, or None if ``value`` is not 11 decimal digits from 1."""
    digits = []
    for char in value:
        digit = unicodedata.decimal(char, None)
        if digit is None:
            return None
        digits.append(str(digit))
    text = "".join(digits)
    return text if _STORED.fullmatch(text) else None


class PhonesNotNormalized(Exception):
    pass


def _rewrites(model, field):
    """{pk: (old, new)} for the rows of ``model`` whose ``field`` is not stored ASCII, and the
    pks that cannot be read as a number."""
    rows = model.objects.exclude(**{f"{field}__regex": STORED_PHONE}).values_list("pk", field)
    rewrites, unreadable = {}, []
    for pk, old in rows.iterator():
        new = ascii_phone(old)
        if new is None:
            unreadable.append(pk)
        else:
            rewrites[pk] = (old, new)
    return rewrites, unreadable


def normalize_stored_phones(apps, schema_editor):
    Customer = apps.get_model("invitations", "Customer")
    Invitation = apps.get_model("invitations", "Invitation")
    PhoneVerification = apps.get_model("invitations", "PhoneVerification")
    User = Customer._meta.get_field("user").related_model
    problems = []

    customers, unreadable = _rewrites(Customer, "phone")
    if unreadable:
        problems.append(f"customers {sorted(unreadable)[:50]} have a phone that is no number")
    new_phones = Counter(new for _, new in customers.values())
    taken = set(
        Customer.objects.filter(phone__in=list(new_phones))
        .exclude(pk__in=list(customers))
        .values_list("phone", flat=True)
    )
    clashing = sorted(
        pk for pk, (_, new) in customers.items() if new in taken or new_phones[new] > 1
    )
    if clashing:
        problems.append(
            f"customers {clashing[:50]} have the number of another customer written in other digits"
        )
    # the user name follows the phone when it is the number as typed (or as Django's NFKC
    # normalization of user names wrote it)
    renames = {}
    for customer in Customer.objects.filter(pk__in=list(customers)).select_related("user"):
        old, new = customers[customer.pk]
        if customer.user.username in (old, unicodedata.normalize("NFKC", old)) and (
            customer.user.username != new
        ):
            renames[customer.user_id] = new
    users_taken = sorted(
        User.objects.filter(username__in=list(renames.values()))
        .exclude(pk__in=list(renames))
        .values_list("pk", flat=True)
    )
    if users_taken:
        problems.append(
            f"users {users_taken[:50]} have the user name a customer's number takes in ASCII"
        )

    invitations, unreadable = _rewrites(Invitation, "invitee_phone")
    if unreadable:
        problems.append(f"invitations {sorted(unreadable)[:50]} have a phone that is no number")
    campaigns = dict(
        Invitation.objects.filter(pk__in=list(invitations)).values_list("pk", "campaign_id")
    )
    keys = Counter((campaigns[pk], new) for pk, (_, new) in invitations.items())
    clashing = set()
    for pk, (_, new) in invitations.items():
        if keys[(campaigns[pk], new)] > 1:
            clashing.add(pk)
        elif (
            Invitation.objects.filter(campaign_id=campaigns[pk], invitee_phone=new)
            .exclude(pk=pk)
            .exists()
        ):
            clashing.add(pk)
    if clashing:
        problems.append(
            f"invitations {sorted(clashing)[:50]} invite, in the same campaign, a number"
            " already invited in other digits"
        )

    verifications, unreadable = _rewrites(PhoneVerification, "phone")
    if unreadable:
        problems.append(
            f"phone verifications {sorted(unreadable)[:50]} have a phone that is no number"
        )

    if problems:
        raise PhonesNotNormalized(
            "Stored phone numbers cannot all be written in ASCII digits; nothing was changed. "
            + "; ".join(problems)
            + ". Decide which rows are real (admin), fix or remove the others, then migrate again."
        )
    for model, field, rewrites in (
        (Customer, "phone", customers),
        (Invitation, "invitee_phone", invitations),
        (PhoneVerification, "phone", verifications),
    ):
        for pk, (_, new) in rewrites.items():
            model.objects.filter(pk=pk).update(**{field: new})
    for pk, new in renames.items():
        User.objects.filter(pk=pk).update(username=new)
    if customers or invitations or verifications:
        print(
            f"\n  Phones rewritten in ASCII digits: {len(customers)} customers"
            f" ({len(renames)} user names), {len(invitations)} invitations,"
            f" {len(verifications)} phone verifications."
        )


def _add_not_valid(table, column, name):
    return migrations.RunSQL(
        f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name};"
        f" ALTER TABLE {table} ADD CONSTRAINT {name}"
        f" CHECK ({column}::text ~ '{STORED_PHONE}') NOT VALID",
        f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}",
    )


class Migration(migrations.Migration):
    # Each step commits on its own: the tables are locked for an instant (step 1), and the
    # validation (step 3) does not block writes.
    atomic = False

    dependencies = [
        ("invitations", "0012_invitations_of_inviter_in_page_order"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddConstraint(
                    model_name=model,
                    constraint=models.CheckConstraint(
                        condition=models.Q((f"{field}__regex", STORED_PHONE)), name=name
                    ),
                )
                for _, _, name, model, field in CHECKED
            ],
            database_operations=[
                _add_not_valid(table, column, name) for table, column, name, _, _ in CHECKED
            ],
        ),
        migrations.RunPython(
            normalize_stored_phones, migrations.RunPython.noop, atomic=True, elidable=True
        ),
        *[
            migrations.RunSQL(
                f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}", migrations.RunSQL.noop
            )
            for table, _, name, _, _ in CHECKED
        ],
    ]
