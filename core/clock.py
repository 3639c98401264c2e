"""The database's clock: every process that decides by time (the poller, detection,
reconciliation) reads one clock, whatever the machines' clocks say."""

from datetime import datetime

from django.db import connection


def database_now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]
