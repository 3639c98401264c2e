#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_site.settings.base")
    if not os.environ["DJANGO_SETTINGS_MODULE"].endswith(".production"):
        # Development: the embedded PostgreSQL when DATABASE_URL is unset (stops with the last
        # process using it). Production is always given DATABASE_URL.
        from devtools import embedded_postgres

        embedded_postgres.use_if_unset()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
