import pytest

from tests.factories import CardKindFactory


@pytest.fixture
def card_kind(db):
    return CardKindFactory()


@pytest.fixture
def sim(db):
    """A simulator with a generous rate, for functional tests (rate tests start their own)."""
    from tests.simulator import simulator

    with simulator("--rate", "1000", "--timeout-seconds", "3") as running:
        yield running


@pytest.fixture
def upstream(settings, sim):
    """Point the project's client at the test simulator, with short timeouts."""
    settings.ACCOUNT_OPENING_URL = sim.url
    settings.ACCOUNT_OPENING_RATE = 1000
    settings.ACCOUNT_OPENING_READ_TIMEOUT = 0.5
    settings.ACCOUNT_OPENING_RETRIES = 1
    settings.ACCOUNT_OPENING_TOTAL_TIMEOUT = 2
    settings.ACCOUNT_OPENING_MAX_RETRY_AFTER_SECONDS = 1
    return sim


@pytest.fixture
def latest_migrations_after():
    """Leave the database at the latest migrations whatever the test did: going back unapplies
    the other apps' migrations that depend on those, which the tests after it need."""
    from tests.migrations import migrate

    yield
    migrate()


@pytest.fixture
def outbox():
    """The SMS texts sent (the console sender's list), empty before and after the test."""
    from notifications import sms

    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()
