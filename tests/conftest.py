import pytest

from tests.factories import CardKindFactory


@pytest.fixture
def card_kind(db):
    return CardKindFactory()
