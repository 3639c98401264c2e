"""The invite link as a QR code and as a share poster, drawn here (SVG, no outside service)."""

import functools
from xml.sax.saxutils import escape

import segno


@functools.lru_cache(maxsize=4096)
def qr_svg(url: str, *, scale: int = 5) -> str:
    """An inline ``<svg>`` of ``url`` as a QR code (error correction M: survives a smudged
    screen); safe to embed as is: segno writes only numbers and fixed attributes. Kept per
    process (a customer's link does not change; drawing it took half of /me/'s time)."""
    return segno.make(url, error="m").svg_inline(scale=scale, border=2, dark="#1d2433")


POSTER = """<svg xmlns="http://www.w3.org/2000/svg" width="600" height="900" viewBox="0 0 600 900">
<rect width="600" height="900" fill="#c8102e"/>
<rect x="30" y="30" width="540" height="840" rx="24" fill="#fff"/>
<text x="300" y="120" font-size="40" font-weight="700" text-anchor="middle" fill="#c8102e" \
font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif">{title}</text>
<text x="300" y="180" font-size="26" text-anchor="middle" fill="#1d2433" \
font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif">{subtitle}</text>
<g transform="translate({qr_x} 230)">{qr}</g>
<text x="300" y="{hint_y}" font-size="24" text-anchor="middle" fill="#5b6475" \
font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif">{hint}</text>
<text x="300" y="{url_y}" font-size="18" text-anchor="middle" fill="#5b6475" \
font-family="monospace">{url}</text>
</svg>"""


def poster_svg(*, url: str, title: str, subtitle: str, hint: str) -> str:
    """A 600x900 poster to save and send in a chat app: the campaign's title, who invites
    (already masked by the caller), the QR code of the link and the link itself."""
    qr = segno.make(url, error="m")
    scale = 12 if qr.symbol_size(scale=1, border=2)[0] <= 33 else 9
    size = qr.symbol_size(scale=scale, border=2)[0]
    return POSTER.format(
        title=escape(title[:40]),
        subtitle=escape(subtitle[:60]),
        qr_x=(600 - size) // 2,
        qr=qr.svg_inline(scale=scale, border=2, dark="#1d2433"),
        hint=escape(hint),
        hint_y=230 + size + 50,
        url=escape(url),
        url_y=230 + size + 90,
    )
