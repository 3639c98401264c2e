from core.schedules import Every

SCHEDULES = [
    # Every minute: messages past their burst window go out by SMS or push.
    Every("notifications.deliver_messages", "notifications.tasks.deliver_messages", 1),
]
