"""Running migrations backwards and forwards in a test (``django_db(transaction=True)``)."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets=None) -> None:
    """To ``targets``, or to the latest migrations of every app."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def historical_model(app_label: str, model_name: str, targets):
    """The model as it was at ``targets``: what a test writes at an older migration, where the
    current model would name columns that do not exist yet."""
    state = MigrationExecutor(connection).loader.project_state(targets)
    return state.apps.get_model(app_label, model_name)
