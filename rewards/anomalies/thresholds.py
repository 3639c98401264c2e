"""The anomaly rules' thresholds, one table with the product's defaults. A deployment changes any
with one variable, ``ANOMALY_THRESHOLDS="grant_spike_factor=4,channel_burst_count=6"``; an
unknown name or a value of the wrong type stops the start-up. Plain Python: the settings read
it before any model exists."""

DEFAULT_THRESHOLDS = {
    "cards_expiring_days": 7,  # available cards expiring within these days (warning)
    "stock_min_days_left": 7.0,  # stock lasting fewer days at the last week's pace (warning)
    "max_qualifications_per_inviter_per_day": 20,  # one inviter's qualifications in 24 h
    "grant_spike_factor": 3.0,  # grants in the last hour above factor x the 7-day hourly mean
    "grant_spike_min": 20,  # ... and at least this many
    "channel_burst_count": 5,  # that many of one inviter's invitees opening through one channel
    "channel_burst_minutes": 10,  # ... within these minutes
    "poll_stalled_intervals": 3,  # the poller stalled after that many intervals without a cycle
    "upstream_error_rate": 0.2,  # upstream failing: error share over 15 minutes
    "upstream_min_lookups": 10,  # ... over at least this many lookups
    "pending_past_window_hours": 24,  # pending invitations this long past their window
    "grant_wait_hours": 24,  # grants waiting for stock or review this long
    "message_backlog_minutes": 15,  # a message due for SMS or push and not sent this long
    "budget_warning_share": 0.8,  # a campaign's budget this much spent (warning; spent: another)
}


def parse_thresholds(text: str) -> dict:
    """The defaults with the overrides ``name=value`` (comma-separated) applied, each of its
    default's type. Raises ``ValueError`` naming what is wrong."""
    thresholds = dict(DEFAULT_THRESHOLDS)
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = entry.partition("=")
        default = DEFAULT_THRESHOLDS.get(name.strip())
        try:
            if default is None:
                raise ValueError
            thresholds[name.strip()] = type(default)(value.strip())
        except ValueError:
            raise ValueError(
                f"ANOMALY_THRESHOLDS: {entry!r} is not name=value with a name among "
                f"{', '.join(sorted(DEFAULT_THRESHOLDS))} and a number"
            ) from None
        if thresholds[name.strip()] < 0:
            raise ValueError(f"ANOMALY_THRESHOLDS: {entry!r} is negative")
    return thresholds
