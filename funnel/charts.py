"""The funnel page's charts, drawn on the server as SVG (no script, no library, no CDN): they
scale to the screen's width (``viewBox``), and say their numbers in text as well as in shapes.
Every text is escaped here; the result is safe markup."""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

COLOURS = ("#2f6fb2", "#3d9970", "#e08a00", "#b04a8a", "#c0392b")
# With 15-unit text: about 14 px on a 360 px phone (its 330 px of page), 16 px at the page's
# widest (the chart's 24rem)
WIDTH = 360


def _svg(height: int, body: str, title: str) -> SafeString:
    return mark_safe(  # noqa: S308  (every text in ``body`` was escaped where it was written)
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'preserveAspectRatio="xMinYMin meet" font-family="system-ui, sans-serif" '
        f'font-size="15"><title>{escape(title)}</title>{body}</svg>'
    )


def _text_width(text: str) -> int:
    """About how wide ``text`` is in 15-unit type: a Chinese character is square, a Latin
    letter about half as wide."""
    return sum(15 if ord(character) >= 0x2E80 else 8 for character in text)


def funnel(steps: list[tuple[str, int, float | None]], title: str) -> SafeString:
    """Horizontal bars, one per step (its label, count and share of the step before, or None),
    as long as its count; each says its count and its share."""
    top = max([value for _, value, _ in steps] + [1])
    row = 34
    counts = [
        f"{value:,}" + ("" if share is None else f" · {share:.0f}%") for _, value, share in steps
    ]
    label_width = min(max([_text_width(label) for label, _, _ in steps] + [0]) + 8, WIDTH // 2)
    room = max(WIDTH - label_width - max(_text_width(text) for text in [*counts, ""]) - 8, 0)
    parts = []
    for index, ((label, value, _), count) in enumerate(zip(steps, counts, strict=True)):
        y = index * row + 6
        length = room * value / top
        parts.append(
            f'<text x="0" y="{y + 17}">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="24" '
            f'fill="{COLOURS[index % len(COLOURS)]}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 17}">{count}</text>'
        )
    return _svg(len(steps) * row + 8, "".join(parts), title)


def lines(days: list, series: list[tuple[str, list[int]]], title: str) -> SafeString:
    """One line a series over the days, a legend above; the first and last day under the
    axis, the largest count beside it."""
    rows = (len(series) + 1) // 2  # the legend, two a row
    height, left = 240 + 20 * rows, 44
    top, bottom = 20 * rows + 24, 212 + 20 * rows
    highest = max([value for _, values in series for value in values] + [1])
    span = max(len(days) - 1, 1)
    parts = [
        f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - 4}" y2="{bottom}" stroke="#888"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{highest:,}</text>',
        f'<text x="{left - 6}" y="{bottom}" text-anchor="end">0</text>',
    ]
    if days:
        parts.append(f'<text x="{left}" y="{bottom + 18}">{escape(str(days[0]))}</text>')
    if len(days) > 1:
        parts.append(
            f'<text x="{WIDTH - 4}" y="{bottom + 18}" text-anchor="end">'
            f"{escape(str(days[-1]))}</text>"
        )
    for index, (label, values) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        points = " ".join(
            f"{left + (WIDTH - 4 - left) * n / span:.1f},"
            f"{bottom - (bottom - top) * value / highest:.1f}"
            for n, value in enumerate(values)
        )
        x, y = (index % 2) * 180, 6 + (index // 2) * 20
        parts.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{y + 12}">{escape(label)}</text>'
        )
        if len(values) == 1:
            cx, cy = points.split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
        elif values:
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
    return _svg(height, "".join(parts), title)


def bars(items: list[tuple[str, int]], title: str) -> SafeString:
    """Vertical bars with their counts above and their labels under."""
    height, bottom, top = 200, 170, 24
    highest = max([value for _, value in items] + [1])
    slot = WIDTH / max(len(items), 1)
    parts = []
    for index, (label, value) in enumerate(items):
        tall = (bottom - top) * value / highest
        x = index * slot + slot * 0.2
        middle = index * slot + slot / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{bottom - tall:.1f}" width="{slot * 0.6:.1f}" '
            f'height="{tall:.1f}" fill="{COLOURS[index % len(COLOURS)]}"/>'
            f'<text x="{middle:.1f}" y="{bottom - tall - 4:.1f}" text-anchor="middle">'
            f"{value:,}</text>"
            f'<text x="{middle:.1f}" y="{bottom + 18}" text-anchor="middle">{escape(label)}</text>'
        )
    return _svg(height, "".join(parts), title)
