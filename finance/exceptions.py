from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError


class ExportRefused(DomainError):
    """An export that cannot be asked for, or handed over: the words say why."""

    PERIOD_REVERSED = _("The period ends before it starts.")
    PERIOD_TOO_LONG = _("An export covers at most {days} days.")
    NOT_YOURS = _("Only the person who asked for an export downloads it.")
    NO_LONGER_ALLOWED = _("This export shows full phone numbers, which you may no longer see.")
    NOT_READY = _("This export is not ready.")

    def __init__(self, message, **fields):
        self.message = message
        super().__init__(**fields)
