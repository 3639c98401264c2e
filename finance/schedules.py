from core.schedules import Every

SCHEDULES = [
    # Daily: export files older than EXPORT_KEEP_DAYS go (they hold personal data).
    Every("finance.remove_old_exports", "finance.tasks.remove_old_exports", schedule_type="D"),
]
