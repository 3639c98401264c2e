"""The ASGI application: production settings unless told otherwise, as in wsgi.py."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referral_site.settings.production")
application = get_asgi_application()
