from core.schedules import Every

SCHEDULES = [
    # Every 5 minutes: grants waiting for stock are issued soon after a batch is imported (the
    # import's own hand-off is the fast path; this is the safety net).
    Every("rewards.fulfil_pending_grants", "rewards.tasks.fulfil_pending_grants", 5),
    # Every 15 minutes: qualified invitations left without a grant are granted in batches;
    # nothing to do is one query.
    Every("rewards.grant_missed_rewards", "rewards.tasks.grant_missed_rewards", 15),
    # Every ANOMALY_INTERVAL_MINUTES (5 by default): a failure is seen within minutes, not days.
    Every("rewards.detect_anomalies", "rewards.tasks.detect_anomalies", "ANOMALY_INTERVAL_MINUTES"),
    # Hourly: customers are reminded of unopened cards expiring within CARD_REMINDER_DAYS (once
    # each; held until morning in quiet hours).
    Every(
        "rewards.remind_unopened_cards", "rewards.tasks.remind_unopened_cards", schedule_type="H"
    ),
    # Daily: the full reconciliation, stored for the dashboard.
    Every("rewards.reconcile", "rewards.tasks.reconcile", schedule_type="D"),
]
