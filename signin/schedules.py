from core.schedules import Every

SCHEDULES = [
    # Hourly: the ids of hand-off tokens past their expiry are forgotten (a replay of one is
    # refused by its expiry by then).
    Every("signin.purge_used_handoffs", "signin.tasks.purge_used_handoffs", schedule_type="H"),
]
