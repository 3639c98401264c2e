from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordedEvent(models.Model):
    """Who (a person, or a process named by ``actor_label``: ``core.actors.SystemActor``), when
    and why. Every event model of every app is one; append-only in the database (invariant 11).
    Events are written by each app's ``events`` module through ``record``."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("System actor, if any."),
        verbose_name=_("actor label"),
    )
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @classmethod
    def record(cls, action: str, *, save: bool = True, **fields):
        """The event, saved (``save=False``: unsaved, for a service that writes many in one
        statement)."""
        event = cls(action=action, **fields)
        if save:
            event.save(force_insert=True)
        return event


def append_only_tables() -> list[str]:
    """The history the database keeps from being rewritten (invariant 11): every event table
    (a ``RecordedEvent``) and every model that says ``append_only = True`` (the points ledger).
    The one list: the trigger check and the tests derive theirs from it."""
    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, RecordedEvent) or getattr(model, "append_only", False)
    )


class RateLimit(models.Model):
    """Shared across every process and machine: the next moment a request to an outside service
    may be sent (``core.rate_limit``: the account-opening service, the message gateways)."""

    name = models.CharField(max_length=50, primary_key=True, verbose_name=_("name"))
    next_free_at = models.DateTimeField(verbose_name=_("next free at"))

    class Meta:
        verbose_name = _("rate limit")
        verbose_name_plural = _("rate limits")

    def __str__(self) -> str:
        return self.name
