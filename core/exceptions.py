"""The base of every refusal a service raises, and the one check of a staff action's reason."""

from django.utils.translation import gettext_lazy as _

REASON_REQUIRED = _("A reason is required.")


class DomainError(Exception):
    """A refusal fit to show the person who asked: ``message`` (a lazy translation, with
    ``{name}`` fields) formatted with the keyword arguments, which also stay on the error as
    attributes. Without arguments the message stays lazy: ``str(error)`` speaks the language
    active where it is shown."""

    message = ""

    def __init__(self, **fields):
        self.__dict__.update(fields)
        super().__init__(self.message.format(**fields) if fields else self.message)


class ReasonRequired(DomainError):
    message = REASON_REQUIRED


def required_reason(reason: str | None) -> str:
    """The one check of every staff action's reason: stripped, and not empty. Raises
    ``ReasonRequired``."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    return reason
