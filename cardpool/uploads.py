"""Uploaded card files waiting between preview and confirmation.

They are kept on disk under ``DATA_DIR/uploads`` (not in the session: files can be megabytes),
named by a random token; the confirm step re-validates the content, so a file changed on disk is
simply validated again, never trusted.
"""

import secrets
from pathlib import Path

from django.conf import settings


def _folder() -> Path:
    folder = Path(settings.DATA_DIR) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stash(content: bytes) -> str:
    token = secrets.token_urlsafe(24)
    (_folder() / token).write_bytes(content)
    return token


def take(token: str) -> bytes | None:
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        return None
    path = _folder() / token
    return path.read_bytes() if path.exists() else None


def discard(token: str) -> None:
    (_folder() / token).unlink(missing_ok=True)
