"""The number of unread messages, for the navigation of every customer page."""

from .services import unread_count


def unread_messages(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_messages": unread_count(user.pk)}
