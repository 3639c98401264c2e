"""Where the project's PostgreSQL comes from.

PostgreSQL is the only supported database: allocation and polling rely on row locks
(``SELECT ... FOR UPDATE SKIP LOCKED``) that SQLite does not have. The settings read
``DATABASE_URL`` and nothing else; in development the entry points start the embedded server
first (``referral_site.embedded_postgres``), so a fresh machine needs nothing but Python.
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
    return config


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
