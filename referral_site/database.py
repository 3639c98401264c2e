"""Where the project's PostgreSQL comes from.

PostgreSQL is the only supported database: allocation and polling rely on row locks
(``SELECT ... FOR UPDATE SKIP LOCKED``) that SQLite does not have. The settings read
``DATABASE_URL`` and nothing else; in development the entry points start the embedded server
first (``devtools.embedded_postgres``), so a fresh machine needs nothing but Python.
"""

import os
from urllib.parse import quote

import environ
from django.core.exceptions import ImproperlyConfigured

SQLITE_REFUSED = (
    "SQLite is not supported: this project relies on PostgreSQL row locks "
    "(SELECT ... FOR UPDATE SKIP LOCKED) to never hand one card to two people. "
    "Unset DATABASE_URL to use the embedded PostgreSQL, or point it at a PostgreSQL server."
)
NO_URL = (
    "DATABASE_URL is not set. In development `python manage.py ...`, `make demo` and `make test` "
    "start the embedded PostgreSQL themselves and set it; anything else must be given "
    "DATABASE_URL=postgres://user:password@host:5432/name."
)
NOT_POSTGRES = "DATABASE_URL must be a PostgreSQL URL (postgres://...), got scheme {scheme!r}."
BAD_TIMEOUT = "{name} must be a whole number {unit}, from {low} to {high}; got {value!r}."

# The web entry point (referral_site.wsgi) sets this in its environment before the settings are
# read: its connections get DB_STATEMENT_TIMEOUT_MS by default, other processes (the worker
# cluster, management commands) none unless told.
WEB_PROCESS_MARKER = "REFERRAL_WEB_PROCESS"
WEB_STATEMENT_TIMEOUT_MS = 15_000


class UnsupportedDatabase(Exception):
    pass


def database_config(env: environ.Env) -> dict:
    """Django's ``DATABASES['default']`` from ``DATABASE_URL``."""
    url = env.str("DATABASE_URL", default="")
    if not url:
        raise ImproperlyConfigured(NO_URL)
    scheme = url.split(":", 1)[0].lower()
    if scheme.startswith("sqlite"):
        raise UnsupportedDatabase(SQLITE_REFUSED)
    if scheme not in {"postgres", "postgresql", "pgsql", "postgis"}:
        raise UnsupportedDatabase(NOT_POSTGRES.format(scheme=scheme))
    config = environ.Env.db_url_config(url)
    config["ENGINE"] = "django.db.backends.postgresql"
    config["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    # Parameters bound by the server, and statements a connection runs again and again
    # prepared after DB_PREPARE_THRESHOLD runs (psycopg), instead of values spliced into SQL
    # text by the client each time: the grant path's statements are planned once per
    # connection (docs/benchmarks.md, section 1). Behind a pooler in transaction mode use one
    # that tracks prepared statements (PgBouncer 1.21+ with max_prepared_statements), or set
    # DB_PREPARE_THRESHOLD=0 to prepare nothing.
    options = config.setdefault("OPTIONS", {})
    options["server_side_binding"] = env.bool("DB_SERVER_SIDE_BINDING", default=True)
    threshold = env.int("DB_PREPARE_THRESHOLD", default=5)
    options["prepare_threshold"] = threshold if threshold > 0 else None
    # A database host that accepts nothing and answers nothing: the whole connection attempt
    # (TCP, TLS, start-up, authentication) gives up after DB_CONNECT_TIMEOUT seconds (psycopg
    # enforces it, a silent server after the TCP accept included) instead of psycopg's 130 s.
    options["connect_timeout"] = _bounded(env, "DB_CONNECT_TIMEOUT", 3, 1, 60, "of seconds")
    # A statement running away on the server is cancelled by the server: in web processes
    # after DB_STATEMENT_TIMEOUT_MS (default 15 s, under gunicorn's 30 s), so a page answers
    # with an error instead of its worker being killed; elsewhere no limit unless set.
    web = os.environ.get(WEB_PROCESS_MARKER) == "1"
    default = WEB_STATEMENT_TIMEOUT_MS if web else 0
    timeout = _bounded(env, "DB_STATEMENT_TIMEOUT_MS", default, 0, 86_400_000, "of milliseconds")
    if timeout:
        options["options"] = f"-c statement_timeout={timeout}"
    return config


def _bounded(env: environ.Env, name: str, default: int, low: int, high: int, unit: str) -> int:
    """A whole number from the environment within [low, high], or a refusal naming it."""
    raw = env.str(name, default=str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ImproperlyConfigured(
            BAD_TIMEOUT.format(name=name, unit=unit, low=low, high=high, value=raw)
        )
    return value


def url_for(settings_dict: dict) -> str:
    """A ``DATABASE_URL`` that reaches the database described by a Django settings dict.

    Used to hand the current (for example the test) database to child processes.
    """
    host = settings_dict.get("HOST") or settings_dict.get("OPTIONS", {}).get("host", "")
    user = quote(settings_dict.get("USER") or "postgres")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}" if password else user
    name = settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgres://{auth}@/{name}?host={quote(host)}"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{name}"


def child_environment(settings_dict: dict) -> dict:
    """The environment for a child process that must use the same database as this one."""
    return {**os.environ, "DATABASE_URL": url_for(settings_dict)}
