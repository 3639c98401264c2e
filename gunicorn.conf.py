"""gunicorn's settings (read from the working directory): ``make serve`` or
``gunicorn referral_site.wsgi``. Everything a deployer changes comes from the environment."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Pages are short database reads; card imports move to the worker cluster (issue #13).
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Trust X-Forwarded-* only from our own proxy (its address, comma separated), never from clients.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No control socket (gunicorn 25 would make one under the home folder, outside the checkout):
# the demo and production stop gunicorn by its signals.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# Request lines only: no query strings with phone numbers or codes in the access log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
