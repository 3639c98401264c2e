"""Running migrations backwards and forwards in a test (``django_db(transaction=True)``)."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets=None) -> None:
    """To ``targets``, or to the latest migrations of every app."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
