"""django-q2 entry points."""


def purge_used_handoffs() -> int:
    from .services import purge_used_handoffs as purge

    return purge()
