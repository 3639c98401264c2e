from core.schedules import Every

SCHEDULES = [
    # The campaigns' funnels counted for the staff's funnel page.
    Every("funnel.refresh_funnels", "funnel.tasks.refresh_funnels", "FUNNEL_REFRESH_MINUTES"),
]
