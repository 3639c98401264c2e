"""The one-time codes the test SMS sender (notifications.sms.OutboxSender) sent."""

import re

from notifications import sms


def last_code(phone: str | None = None) -> str:
    """The code in the last text message, checking it went to ``phone`` when given."""
    to, message = sms.outbox[-1]
    if phone is not None:
        assert to == phone
    return re.search(r"\d{6}", message).group(0)
