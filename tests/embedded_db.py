"""pytest plugin (``-p tests.embedded_db`` in pyproject.toml): the test run's explicit step that
starts the embedded PostgreSQL when DATABASE_URL is unset, before pytest-django sets Django up.
The server stops when the run exits."""

import pytest

from devtools import embedded_postgres


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    embedded_postgres.use_if_unset()
