"""What each kind of message says, in the recipient's language, as short as one SMS (70
characters in Chinese, link included, for a short site address). Rendered when shown or sent,
from the message's ``params``; several messages sent together become one text."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Message

Kind = Message.Kind


def _friends_words(kind: str, params: dict) -> str | None:
    """The words for the invited friend's own reward (``params["side"] == "friend"``; no
    ``card``: points only)."""
    if kind == Kind.REWARD_ISSUED and not params.get("card") and params.get("points"):
        return _(
            "You opened an account through a friend's invitation: your welcome reward arrived, "
            "%(points)s points."
        )
    if kind == Kind.REWARD_ISSUED and params.get("points"):
        return _(
            "You opened an account through a friend's invitation: your welcome reward arrived, "
            "%(card)s and %(points)s points."
        )
    if kind == Kind.REWARD_ISSUED:
        return _(
            "You opened an account through a friend's invitation: your welcome reward arrived, "
            "%(card)s."
        )
    if kind == Kind.REWARD_WAITING:
        return _("Your welcome reward, %(card)s, is sent as soon as it is in stock.")
    if kind == Kind.REWARD_HELD:
        return _("Your welcome reward is being checked, we will tell you when it is done.")
    return None


def _words(kind: str, params: dict) -> str:
    friends = _friends_words(kind, params) if params.get("side") == "friend" else None
    if friends:
        words = friends
    elif kind == Kind.REWARD_ISSUED and params.get("points"):
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
    elif kind == Kind.ANOMALY:
        words = "%(severity)s: %(rule)s"
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


def alert_email(messages: list[Message], language: str) -> tuple[str, str]:
    """The subject and body of one e-mail to the reviewers carrying ``messages`` (anomalies:
    their ``params`` hold the severity and rule named in the staff's language, the anomaly's
    own message and the link to it on the review desk). The critical ones come first, and the
    subject names the first."""
    messages = sorted(messages, key=lambda message: message.params.get("level") != "critical")
    with translation.override(language):
        parts = [
            _("%(message)s\n\nReview it: %(url)s\n")
            % {"message": message.params["text"], "url": message.params["url"]}
            for message in messages
        ]
        subject = _("[referral rewards] %(severity)s: %(rule)s") % messages[0].params
        if len(messages) == 1:
            return subject, parts[0]
        more = ngettext("(and %(count)d more)", "(and %(count)d more)", len(messages) - 1)
        heads = [_words(message.kind, message.params) for message in messages]
        body = "\n".join(f"{head}\n{part}" for head, part in zip(heads, parts, strict=True))
        return f"{subject} {more % {'count': len(messages) - 1}}", body
