"""What a file can get wrong that no single row shows: cards that will never be handed out, and
number and password columns swapped. Warnings, not refusals: staff read them on the preview
before they confirm (the command prints them), and the import stays theirs to decide.

A swap is seen against the kind's earlier imports: each import keeps the most common shape of
its numbers and of its passwords (length and character classes, nothing of the values)."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.utils.translation import gettext as _

from ..models import CardUpload
from ..selectors import allocation_horizon

NEVER_ALLOCATABLE = "never_allocatable"
SHAPES_FROM_ROWS = 10_000  # the shapes are learned from the first rows: a file has one layout
SWAPPED = "swapped"


def shape(value: str) -> str:
    """``"16:digits"``, ``"12:digits+letters"``: a value's length and character classes."""
    classes = [
        name
        for name, test in (
            ("digits", str.isdigit),
            ("letters", str.isalpha),
            ("symbols", lambda c: not c.isalnum()),
        )
        if any(test(c) for c in value)
    ]
    return f"{len(value)}:{'+'.join(classes)}"


def shape_text(stored: str) -> str:
    """A shape as staff read it: "16 characters: digits"."""
    length, _sep, classes = stored.partition(":")
    names = {"digits": _("digits"), "letters": _("letters"), "symbols": _("symbols")}
    shown = _(", ").join(names.get(name, name) for name in classes.split("+") if name)
    return _("%(length)s characters: %(classes)s") % {"length": length, "classes": shown}


def masked_password(password: str) -> str:
    """Enough of a password's shape for a swap to be seen, nothing to use: its first and last
    characters and a dot for each between (all dots under 6 characters); shown with its
    ``shape``."""
    if len(password) < 6:
        return "•" * len(password)
    return f"{password[0]}{'•' * (len(password) - 2)}{password[-1]}"


def sample_rows(upload: CardUpload) -> list[dict]:
    """The upload's masked sample, each password with its shape in the reader's language."""
    return [
        {**row, "card_password_shape": shape_text(row["card_password_shape"])}
        if row.get("card_password_shape")
        else row
        for row in upload.sample
    ]


@dataclass
class Shapes:
    """Counted while a file is read."""

    numbers: Counter = field(default_factory=Counter)
    passwords: Counter = field(default_factory=Counter)
    rows: int = 0
    expiring_before_horizon: int = 0
    horizon: date = field(default_factory=allocation_horizon)

    def add(self, number: str, password: str, valid_until: date) -> None:
        if self.rows < SHAPES_FROM_ROWS:
            self.numbers[shape(number)] += 1
            self.passwords[shape(password)] += 1
        self.rows += 1
        if valid_until < self.horizon:
            self.expiring_before_horizon += 1

    def kept(self) -> dict:
        """What the upload keeps: the most common shape of each column."""
        if not self.rows:
            return {}
        return {
            "number": self.numbers.most_common(1)[0][0],
            "password": self.passwords.most_common(1)[0][0],
        }


def warnings_for(upload: CardUpload, shapes: Shapes) -> list[dict]:
    """The warnings of a checked upload, as data (``upload_warnings`` words them)."""
    warnings = []
    if shapes.expiring_before_horizon:
        warnings.append(
            {
                "code": NEVER_ALLOCATABLE,
                "count": shapes.expiring_before_horizon,
                "total": shapes.rows,
                "before": shapes.horizon.isoformat(),
                "days": settings.CARD_MIN_VALIDITY_DAYS,
            }
        )
    now = shapes.kept()
    earlier = (
        CardUpload.objects.filter(kind=upload.kind, status=CardUpload.Status.IMPORTED)
        .exclude(shapes={})
        .order_by("-created_at")
        .values("shapes", "batch_id")
        .first()
    )
    if now and earlier and now["number"] != now["password"]:
        before = earlier["shapes"]
        if (now["number"], now["password"]) == (before.get("password"), before.get("number")):
            warnings.append(
                {
                    "code": SWAPPED,
                    "number": now["number"],
                    "password": now["password"],
                    "batch": earlier["batch_id"],
                }
            )
    return warnings


def upload_warnings(upload: CardUpload) -> list[str]:
    """The upload's warnings in the reader's language."""
    texts = []
    for warning in upload.warnings:
        if warning["code"] == NEVER_ALLOCATABLE:
            share = round(100 * warning["count"] / max(warning["total"], 1))
            texts.append(
                _(
                    "%(count)s of %(total)s cards (%(share)s%%) expire before %(before)s and "
                    "can never be handed out: a card is handed out only while it stays valid "
                    "for %(days)s more days."
                )
                % {**warning, "share": share}
            )
        elif warning["code"] == SWAPPED:
            texts.append(
                _(
                    "The card numbers look like this kind's earlier passwords and the passwords "
                    "like its earlier numbers (numbers here: %(number)s; passwords here: "
                    "%(password)s; batch #%(batch)s had them the other way round). Are the "
                    "columns swapped?"
                )
                % {
                    "number": shape_text(warning["number"]),
                    "password": shape_text(warning["password"]),
                    "batch": warning["batch"],
                }
            )
    return texts
