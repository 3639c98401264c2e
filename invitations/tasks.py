"""django-q2 entry points."""

from .services import poll_invitations as run_poll_cycle
from .services.verification import purge_phone_verifications as purge


def poll_invitations() -> dict:
    cycle = run_poll_cycle()
    return {
        "cycle": cycle.pk,
        "claimed": cycle.claimed,
        "qualified": cycle.qualified,
        "awaiting_deposit": cycle.awaiting_deposit,
        "errors": cycle.errors,
    }


def purge_phone_verifications() -> int:
    return purge()


def purge_opening_events() -> int:
    from .services.opening_events import purge_opening_events as purge_events

    return purge_events()


def plan_polling() -> int:
    from .services.planning import make_poll_plans

    return make_poll_plans()


def erase_unopened_phones() -> int:
    from .services.retention import erase_unopened_phones as erase

    return erase()
