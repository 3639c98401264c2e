from core.schedules import Every

SCHEDULES = [
    # Daily: sightings past FRAUD_SIGNALS_KEEP_DAYS are deleted (PIPL: kept no longer than needed).
    Every("fraud.purge_sightings", "fraud.tasks.purge_sightings", schedule_type="D"),
]
