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


_old_phones = iter(range(13600000000, 13699999999))


def old_customer(targets, *, phone: str | None = None, user=None):
    """A customer as the code at ``targets`` wrote it (the current model names columns added
    since, as ``erased_at``), with a user of its own unless ``user`` is given."""
    import secrets

    from tests.factories import UserFactory

    return historical_model("invitations", "Customer", targets).objects.create(
        user_id=(user or UserFactory()).pk,
        phone=phone or str(next(_old_phones)),
        invite_code=secrets.token_hex(6).upper(),
    )


def old_campaign(targets, name: str = "old campaign"):
    """A running campaign as the code at ``targets`` wrote it (the current model names columns
    added since, as ``budget``)."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import CardKindFactory

    now = timezone.now()
    return historical_model("invitations", "Campaign", targets).objects.create(
        name=name,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
        card_kind_id=CardKindFactory().pk,
    )
