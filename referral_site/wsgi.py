"""The web application for gunicorn. Production settings unless told otherwise: a deployer who
forgets DJANGO_SETTINGS_MODULE gets a refusal naming the missing secret, not development keys
silently encrypting real cards. The demo (run_demo) sets the development settings itself."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_site.settings.production")
application = get_wsgi_application()
