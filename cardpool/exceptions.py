"""Exceptions of the card pool. Messages are constants so tests and callers can match them."""

from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError

CARD_NOT_IN_STATUS = _("Card {card} is {status}; this action needs a card that is {expected}.")
KIND_SWITCHED_OFF = _(
    "Card kind {kind} is switched off: no card of it is handed out and no batch of it is "
    "imported. Switch it on first (Card kinds, action “Switch on”)."
)


class CardPoolError(DomainError):
    pass


class CardNotInStatus(CardPoolError):
    message = CARD_NOT_IN_STATUS

    def __init__(self, card, expected: str):
        super().__init__(card=card.pk, status=card.status, expected=expected)


class KindSwitchedOff(CardPoolError):
    message = KIND_SWITCHED_OFF

    def __init__(self, kind_code: str):
        super().__init__(kind=kind_code)
        self.kind_code = kind_code


class CardImportRejected(CardPoolError):
    """The file was refused as a whole; ``errors`` lists every problem with its row number."""

    message = "{summary}"

    def __init__(self, errors: list):
        lines = "\n".join(str(error) for error in errors[:50])
        more = "\n" + _("... and %(count)s more") % {"count": len(errors) - 50}
        header = _("The file was not imported (%(count)s problems):") % {"count": len(errors)}
        super().__init__(summary=f"{header}\n{lines}{more if len(errors) > 50 else ''}")
        self.errors = errors
