"""What each kind of message says, in the recipient's language, as short as one SMS (70
characters in Chinese, link included, for a short site address). Rendered when shown or sent,
from the message's ``params``; several messages sent together become one text."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Message

Kind = Message.Kind


def _words(kind: str, params: dict) -> str:
    if kind == Kind.REWARD_ISSUED and params.get("points"):
        words = _(
            "Your friend opened an account: your reward arrived, %(card)s and %(points)s points."
        )
    elif kind == Kind.REWARD_ISSUED:
        words = _("Your friend opened an account: your reward arrived, %(card)s.")
    elif kind == Kind.REWARD_WAITING:
        words = _(
            "Your friend opened an account: your reward, %(card)s, is sent as soon as it is in "
            "stock."
        )
    elif kind == Kind.REWARD_HELD:
        words = _(
            "Your friend opened an account: your reward is being checked, we will tell you "
            "when it is done."
        )
    elif kind == Kind.REWARD_VOIDED:
        words = _("A reward of yours was cancelled. See why in My rewards.")
    elif kind == Kind.CARD_EXPIRING:
        words = _("Your %(card)s expires on %(date)s and is not opened yet: see My rewards.")
    else:
        raise ValueError(f"no words for the message kind {kind!r}")
    if "%(" not in words:
        return words
    try:
        return words % params
    except (KeyError, TypeError):  # a message emptied when its person was erased
        return _("(erased)")


def text(kind: str, params: dict, language: str) -> str:
    """One message's words (the inbox)."""
    with translation.override(language):
        return _words(kind, params)


def link() -> str:
    return settings.SITE_URL.rstrip("/") + "/me/messages/"


def outgoing(messages: list[Message], language: str) -> str:
    """The text of one SMS or push carrying ``messages`` (one, or a burst merged), with the
    link to the inbox."""
    with translation.override(language):
        if len(messages) == 1:
            words = _words(messages[0].kind, messages[0].params)
        elif all(message.kind == Kind.REWARD_ISSUED for message in messages):
            words = ngettext(
                "%(count)d reward arrived.", "%(count)d rewards arrived.", len(messages)
            ) % {"count": len(messages)}
        else:
            words = ngettext(
                "You have %(count)d new message.",
                "You have %(count)d new messages.",
                len(messages),
            ) % {"count": len(messages)}
        return f"{words} {link()}"


def title(language: str) -> str:
    with translation.override(language):
        return _("Invite a friend")
