"""What the operations app records: personal-data requests staff carried out."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import RecordedEvent


class DataRequest(RecordedEvent):
    """A person's request about their data, carried out by staff with a reason: an export (the
    file is handed over, never kept) or an erasure. Kept without the number: its digest finds
    it again, the masked number is what staff see."""

    class Action(models.TextChoices):
        EXPORT = "export", _("export everything about a person")
        ERASE = "erase", _("erase a person")

    action = models.CharField(max_length=8, choices=Action.choices, verbose_name=_("action"))
    phone_digest = models.CharField(max_length=41, db_index=True, verbose_name=_("number digest"))
    phone_masked = models.CharField(max_length=11, verbose_name=_("number"))
    summary = models.JSONField(default=dict, verbose_name=_("what was done"))

    class Meta(RecordedEvent.Meta):
        verbose_name = _("personal data request")
        verbose_name_plural = _("personal data requests")
        permissions = [
            ("export_person", _("Can export everything about a person")),
            ("erase_person", _("Can erase a person")),
        ]
