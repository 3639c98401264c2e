"""Where the project's PostgreSQL comes from.

PostgreSQL is the only supported database: allocation and polling rely on row locks
(``SELECT ... FOR UPDATE SKIP LOCKED``) that SQLite does not have. With ``DATABASE_URL`` unset the
project runs its own PostgreSQL through the ``pgserver`` package, under a data folder in the
checkout, so a fresh machine needs nothing but Python.
"""

import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote

import environ

SQLITE_REFUSED = (
    "SQLite is not supported: this project relies on PostgreSQL row locks "
    "(SELECT ... FOR UPDATE SKIP LOCKED) to never hand one card to two people. "
    "Unset DATABASE_URL to use the embedded PostgreSQL, or point it at a PostgreSQL server."
)
NOT_POSTGRES = "DATABASE_URL must be a PostgreSQL URL (postgres://...), got scheme {scheme!r}."


# pgserver narrates every start and stop at INFO; only its problems matter here.
logging.getLogger("pgserver").setLevel(logging.WARNING)


class UnsupportedDatabase(Exception):
    pass


def embedded_database_url(data_dir: Path, name: str = "referral") -> str:
    """Start (or join) the embedded PostgreSQL under ``data_dir`` and return a URL for ``name``.

    pgserver keeps one server per data folder and counts the processes using it; the last one
    to exit stops it cleanly. The database is created on first use.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (always the case under CI); harmless.
        warnings.simplefilter("ignore")
        import pgserver

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_users(data_dir)
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    # ``name`` is this module's constant, never user input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')
    return f"postgres://postgres@/{name}?host={quote(str(socket_dir))}"


def _forget_dead_users(data_dir: Path) -> None:
    """pgserver stops the server when its last user exits, counting users in a pid list; a user
    killed with SIGKILL never leaves it, and the server would then never stop. Drop dead pids."""
    import psutil
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    pids = DiskList(data_dir / ".handle_pids.json")
    with PostgresServer._lock:
        alive = [pid for pid in pids.get() if psutil.pid_exists(pid)]
        if data_dir.exists() and alive != pids.get():
            pids.put(alive)


def database_config(env: environ.Env, data_dir: Path) -> dict:
    """Django's ``DATABASES['default']`` from ``DATABASE_URL``, or from the embedded server."""
    url = env.str("DATABASE_URL", default="")
    if not url:
        url = embedded_database_url(data_dir)
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
