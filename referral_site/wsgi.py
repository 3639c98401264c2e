"""The web application for gunicorn. Production settings unless told otherwise: a deployer who
forgets DJANGO_SETTINGS_MODULE gets a refusal naming the missing secret, not development keys
silently encrypting real cards. The demo (run_demo) sets the development settings itself.

This is the web entry point: its database connections get the web's statement timeout
(``DB_STATEMENT_TIMEOUT_MS``, referral_site.database), which the worker cluster does not."""

import os

from django.core.wsgi import get_wsgi_application

from referral_site.database import WEB_PROCESS_MARKER

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_site.settings.production")
os.environ[WEB_PROCESS_MARKER] = "1"
application = get_wsgi_application()
