from core.schedules import Every

SCHEDULES = [
    # Every POLL_INTERVAL_MINUTES (2 by default, as the upstream's old job ran). Runs may overlap
    # (a slow run and the next tick, or two clusters): claims and leases make it harmless.
    Every(
        "invitations.poll_invitations",
        "invitations.tasks.poll_invitations",
        "POLL_INTERVAL_MINUTES",
    ),
    # Every POLL_PLAN_MINUTES (10): how often to look up each campaign's invitations of each age,
    # learned from its openings (services.planning).
    Every("invitations.plan_polling", "invitations.tasks.plan_polling", "POLL_PLAN_MINUTES"),
    # Hourly: account-opening events and their counts older than a day are deleted.
    Every(
        "invitations.purge_opening_events",
        "invitations.tasks.purge_opening_events",
        schedule_type="H",
    ),
    # Daily: the numbers of invitees who never opened an account are erased (a keyed digest)
    # INVITEE_PHONE_RETENTION_DAYS after the invitation's window closed.
    Every(
        "invitations.erase_unopened_phones",
        "invitations.tasks.erase_unopened_phones",
        schedule_type="D",
    ),
    # Daily: phone codes past PHONE_VERIFICATION_RETENTION_DAYS are deleted.
    Every(
        "invitations.purge_phone_verifications",
        "invitations.tasks.purge_phone_verifications",
        schedule_type="D",
    ),
]


def ensure_poll_schedule(schedule_model) -> None:
    """Called by migration invitations/0002 (landed before data migrations stopped importing
    live code): keep its signature and what it creates unchanged."""
    [poll] = [every for every in SCHEDULES if every.name == "invitations.poll_invitations"]
    schedule_model.objects.update_or_create(name=poll.name, defaults=poll.fields())
