"""The ASGI application: production settings unless told otherwise, as in wsgi.py, and a web
entry point like it (the web's statement timeout, referral_site.database)."""

import os

from django.core.asgi import get_asgi_application

from referral_site.database import WEB_PROCESS_MARKER

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_site.settings.production")
os.environ[WEB_PROCESS_MARKER] = "1"
application = get_asgi_application()
