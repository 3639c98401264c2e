"""Exceptions of the card pool. Messages are constants so tests and callers can match them."""

from django.utils.translation import gettext_lazy as _

NO_CARD_AVAILABLE = _("No card of kind {kind} is available (unexpired for at least {days} days).")
CARD_NOT_IN_STATUS = _("Card {card} is {status}; this action needs a card that is {expected}.")
REASON_REQUIRED = _("A reason is required.")
KIND_SWITCHED_OFF = _(
    "Card kind {kind} is switched off: no card of it is handed out and no batch of it is "
    "imported. Switch it on first (Card kinds, action “Switch on”)."
)


class CardPoolError(Exception):
    pass


class NoCardAvailable(CardPoolError):
    def __init__(self, kind_code: str, days: int):
        super().__init__(NO_CARD_AVAILABLE.format(kind=kind_code, days=days))
        self.kind_code = kind_code


class CardNotInStatus(CardPoolError):
    def __init__(self, card, expected: str):
        super().__init__(
            CARD_NOT_IN_STATUS.format(card=card.pk, status=card.status, expected=expected)
        )


class KindSwitchedOff(CardPoolError):
    def __init__(self, kind_code: str):
        super().__init__(KIND_SWITCHED_OFF.format(kind=kind_code))
        self.kind_code = kind_code


class ReasonRequired(CardPoolError):
    def __init__(self):
        super().__init__(REASON_REQUIRED)


def required_reason(reason: str | None) -> str:
    """The one check of every staff action's reason: stripped, and not empty. Raises
    ``ReasonRequired``."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    return reason


class CardImportRejected(CardPoolError):
    """The file was refused as a whole; ``errors`` lists every problem with its row number."""

    def __init__(self, errors: list):
        self.errors = errors
        lines = "\n".join(str(error) for error in errors[:50])
        more = "\n" + _("... and %(count)s more") % {"count": len(errors) - 50}
        header = _("The file was not imported (%(count)s problems):") % {"count": len(errors)}
        super().__init__(f"{header}\n{lines}{more if len(errors) > 50 else ''}")
