"""The benchmark's own database, on the same server the project uses (embedded or DATABASE_URL),
dropped and created fresh each run so no figure depends on leftovers."""

import os
from pathlib import Path

import environ
import psycopg

from devtools import embedded_postgres
from referral_site.database import url_for

NAME = "referral_bench"
ROOT = Path(__file__).resolve().parent.parent


def server_url() -> str:
    url = os.environ.get("DATABASE_URL") or embedded_postgres.start(embedded_postgres.data_dir())
    return url


def with_name(url: str, name: str) -> str:
    """The same server, another database."""
    return url_for({**environ.Env.db_url_config(url), "NAME": name})


def libpq(url: str) -> str:
    """psycopg's connection string for one of our URLs."""
    config = environ.Env.db_url_config(url)
    host = config.get("HOST") or config.get("OPTIONS", {}).get("host", "")
    parts = [f"dbname={config['NAME']}", f"user={config['USER']}", f"host={host}"]
    if config.get("PORT"):
        parts.append(f"port={config['PORT']}")
    if config.get("PASSWORD"):
        parts.append(f"password={config['PASSWORD']}")
    return " ".join(parts)


def fresh_database() -> str:
    """Drop and create the benchmark database; return its URL."""
    base = server_url()
    with psycopg.connect(libpq(with_name(base, "postgres")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{NAME}"')
    return with_name(base, NAME)
