"""Personal data as people other than its owner see it. Shared by every app and the admin."""

# Staff with it see phone numbers whole (lists, exports); everybody else sees them masked.
FULL_PHONE_PERMISSION = "invitations.view_full_phone"


def mask_phone(phone: str) -> str:
    """``13800138000`` -> ``138****8000``: what anyone but its owner (and staff allowed to see
    phones) is shown of a number. Anything that is not 11 characters (an erased number's digest
    included) is masked whole, at most 11 stars."""
    if len(phone) != 11:
        return "*" * min(len(phone), 11)
    return f"{phone[:3]}****{phone[-4:]}"


# Columns that hold what staff are shown masked or never: phone numbers (a customer's user name is
# theirs), card numbers and their digest, secrets. The admin's lists never sort by them
# (``core.admin_tools.StrictListMixin``); the tests try every lookup on each.
PRIVATE_FIELDS = frozenset(
    {
        "phone",
        "invitee_phone",
        "external_account_id",
        "username",
        "password",
        "number_digest",
        "number_encrypted",
        "password_encrypted",
        "code_digest",
    }
)
