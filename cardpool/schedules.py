from core.schedules import Every

SCHEDULES = [
    # Hourly: cards past their date leave the stock.
    Every("cardpool.expire_cards", "cardpool.tasks.expire_cards_task", schedule_type="H"),
    # Every 15 minutes: what unfinished uploads past their expiry hold is deleted.
    Every("cardpool.purge_expired_uploads", "cardpool.tasks.purge_expired_uploads_task", 15),
    # Every minute: the pool's stock counted once for the staff's pages (CardCount).
    Every("cardpool.count_cards", "cardpool.tasks.count_cards_task", 1),
]
