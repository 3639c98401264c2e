"""What each export holds: its columns (in the staff's language) and its rows, read in chunks
from a server-side cursor so that a million rows take no more memory than a few thousand. Never
a card's number or password (a card shows as its last four digits); phone numbers masked unless
the export was asked for by someone allowed to see them."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cardpool.models import Card, CardBatch
from core.privacy import mask_phone
from rewards.models import Grant, PointsEntry

from .models import Export

CHUNK = 5000


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """From the start of ``start`` to the end of ``end`` (inclusive), in the site's time zone
    (Beijing time)."""
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _phones(export: Export):
    """How this export shows a phone number: whole for someone allowed, masked otherwise."""
    return (lambda phone: phone) if export.full_phones else mask_phone


def _label(choices, value: str) -> str:
    """A choice's words in the active language (the staff's), or the stored value."""
    return str(choices(value).label) if value in choices.values else value


@dataclass(frozen=True)
class Source:
    columns: tuple
    rows: Callable[[Export], Iterator[tuple]]


def _grants(export: Export) -> Iterator[tuple]:
    start, end = period_bounds(export.period_start, export.period_end)
    phone = _phones(export)
    rows = (
        Grant.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by("created_at", "id")
        .values_list(
            "grant_no",
            "created_at",
            "issued_at",
            "status",
            "origin",
            "campaign__name",
            "card_kind__code",
            "face_value",
            "points",
            "side",
            "invitation__inviter__phone",
            "invitation__invitee_phone",
            "card__number_last4",
            "voided_at",
            "void_reason",
        )
    )
    for row in rows.iterator(chunk_size=CHUNK):
        (number, created, issued, status, origin, campaign, kind, face, points, side) = row[:10]
        inviter, invitee, last4, voided, why = row[10:]
        yield (
            number,
            _when(created),
            _when(issued),
            _label(Grant.Status, status),
            _label(Grant.Origin, origin),
            campaign,
            kind or "",
            face,
            points,
            _label(Grant.Side, side),
            phone(inviter),
            phone(invitee),
            f"****{last4}" if last4 else "",
            _when(voided),
            why,
        )


def _card_batches(export: Export) -> Iterator[tuple]:
    start, end = period_bounds(export.period_start, export.period_end)
    statuses = {name: Count("cards", filter=Q(cards__status=name)) for name in Card.Status.values}
    rows = (
        CardBatch.objects.filter(imported_at__gte=start, imported_at__lt=end)
        .order_by("imported_at", "id")
        .annotate(**statuses)
        .values_list(
            "pk", "kind__code", "supplier", "file_name", "imported_at", "row_count", *statuses
        )
    )
    for pk, kind, supplier, file_name, imported, count, *by_status in rows.iterator(CHUNK):
        yield (pk, kind, supplier, file_name, _when(imported), count, *by_status)


def _points(export: Export) -> Iterator[tuple]:
    start, end = period_bounds(export.period_start, export.period_end)
    phone = _phones(export)
    rows = (
        PointsEntry.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by("created_at", "id")
        .values_list("created_at", "customer__phone", "kind", "amount", "grant__grant_no", "note")
    )
    for created, customer, kind, amount, grant_no, note in rows.iterator(chunk_size=CHUNK):
        yield (
            _when(created),
            phone(customer),
            _label(PointsEntry.Kind, kind),
            amount,
            grant_no or "",
            note,
        )


SOURCES = {
    Export.Kind.GRANTS: Source(
        (
            _("grant number"),
            _("created at"),
            _("issued at"),
            _("status"),
            _("origin"),
            _("campaign"),
            _("card kind"),
            _("face value (yuan)"),
            _("points"),
            _("paid to"),
            _("inviter"),
            _("invitee"),
            _("card"),
            _("voided at"),
            _("void reason"),
        ),
        _grants,
    ),
    Export.Kind.CARD_BATCHES: Source(
        (
            _("batch"),
            _("card kind"),
            _("supplier"),
            _("file name"),
            _("imported at"),
            _("cards"),
            *(label for _value, label in Card.Status.choices),
        ),
        _card_batches,
    ),
    Export.Kind.POINTS: Source(
        (_("at"), _("customer"), _("kind"), _("points"), _("grant number"), _("note")), _points
    ),
}
