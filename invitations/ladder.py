"""A campaign's ladder: the terms an inviter's later friends earn, by the order in which they
qualify (``Campaign.ladder``, a list of steps ``{"from": n, "card_kind": id, "points": p}``).

The n-th friend of an inviter to qualify in a campaign takes the step with the greatest
``from`` at most n; before the first step, the campaign's own card kind and points. The place
n is decided once, under the inviter's lock, when the grant is made, and stored on the grant
(``rewards.services.granting``): a grant voided later keeps its place, so a later friend is not
moved down a step (a voided reward is a person's decision about that friend, not a refund of the
step; the inviter's next friend takes the next place).

Staff write a ladder as lines of text, ``<from> <card kind code> <points>``; ``parse`` turns
them into steps, with a message naming the line for anything wrong, and ``as_text`` back.
"""

import json
from dataclasses import dataclass

from django.utils.translation import gettext as _

MAX_STEPS = 20


@dataclass(frozen=True)
class Step:
    start: int  # the n-th qualified friend, from which the step applies
    card_kind_id: int
    points: int


class LadderError(ValueError):
    """A ladder that cannot be used, with a message for staff."""


def steps(ladder: list | str) -> list[Step]:
    """The stored ladder's steps, in order (an empty list: no ladder); ``ladder`` as the ORM
    reads it, or as JSON text (a compiled statement's rows: ``core.compiled``)."""
    if isinstance(ladder, str):
        ladder = json.loads(ladder)
    return [Step(int(s["from"]), int(s["card_kind"]), int(s["points"])) for s in ladder or []]


def step_at(ladder: list | str, place: int) -> Step | None:
    """The step the ``place``-th qualified friend earns, or None (the campaign's own terms)."""
    found = None
    for step in steps(ladder):
        if step.start <= place:
            found = step
    return found


def next_step(ladder: list | str, place: int) -> Step | None:
    """The first step after the ``place``-th friend (how far an inviter is from it), or None."""
    return next((step for step in steps(ladder) if step.start > place), None)


def parse(text: str, kinds_by_code: dict) -> list[dict]:
    """Staff's lines (``3 JD50 500``) as the stored ladder; ``kinds_by_code``: the card kinds
    that may be named, by code. Raises ``LadderError`` naming the first wrong line."""
    ladder = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.replace(",", " ").split()
        if not words:
            continue
        if len(words) != 3:
            raise LadderError(
                _("Line %(line)s: write three things, “from which friend, card kind, points”.")
                % {"line": number}
            )
        start, code, points = words
        if not start.isascii() or not start.isdigit() or int(start) < 2 or int(start) > 10_000:
            raise LadderError(
                _("Line %(line)s: “%(value)s” is not a friend's number from 2 to 10,000.")
                % {"line": number, "value": start[:20]}
            )
        if not points.isascii() or not points.isdigit() or int(points) > 1_000_000:
            raise LadderError(
                _("Line %(line)s: “%(value)s” is not a number of points from 0 to 1,000,000.")
                % {"line": number, "value": points[:20]}
            )
        kind = kinds_by_code.get(code.upper())
        if kind is None:
            raise LadderError(
                _("Line %(line)s: there is no card kind “%(code)s”.")
                % {"line": number, "code": code[:40]}
            )
        if not kind.is_active:
            raise LadderError(
                _("Line %(line)s: card kind %(code)s is switched off.")
                % {"line": number, "code": kind.code}
            )
        if ladder and int(start) <= ladder[-1]["from"]:
            raise LadderError(
                _("Line %(line)s: steps go up: friend %(start)s comes after %(previous)s.")
                % {"line": number, "start": int(start), "previous": ladder[-1]["from"]}
            )
        ladder.append({"from": int(start), "card_kind": kind.pk, "points": int(points)})
    if len(ladder) > MAX_STEPS:
        raise LadderError(_("A ladder has at most %(count)s steps.") % {"count": MAX_STEPS})
    return ladder


def as_text(ladder: list, codes_by_id: dict) -> str:
    """The stored ladder as staff write it (``codes_by_id``: card kind codes by id)."""
    return "\n".join(
        f"{step.start} {codes_by_id.get(step.card_kind_id, step.card_kind_id)} {step.points}"
        for step in steps(ladder)
    )
