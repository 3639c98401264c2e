"""Personal data as people other than its owner see it. Shared by every app and the admin."""


def mask_phone(phone: str) -> str:
    """``13800138000`` -> ``138****8000``: what anyone but its owner (and staff allowed to see
    phones) is shown of a number. Anything that is not 11 characters is masked whole."""
    if len(phone) != 11:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"
