import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from invitations.models import Customer
from referral_site.compiled import CompiledQuery
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_compiled_query_answers_like_the_queryset_for_each_value_and_compiles_once():
    first, second = CustomerFactory(), CustomerFactory()
    phone = CompiledQuery(
        lambda pk: Customer.objects.filter(pk=pk).values_list("phone"), -9_000_000_001
    )
    assert phone.rows(first.pk) == [(first.phone,)]
    assert phone.rows(second.pk) == [(second.phone,)]
    assert phone.rows(-1) == []
    # the same SQL each time: only the values change
    with CaptureQueriesContext(connection) as queries:
        phone.rows(first.pk)
        phone.rows(second.pk)
    assert queries[0]["sql"].replace(str(first.pk), "?") == queries[1]["sql"].replace(
        str(second.pk), "?"
    )


def test_a_locking_query_keeps_its_lock_clause():
    customer = CustomerFactory()
    lock = CompiledQuery(
        lambda pk: Customer.objects.select_for_update().filter(pk=pk).values_list("pk"),
        -9_000_000_001,
    )
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert lock.rows(customer.pk) == [(customer.pk,)]
    assert "FOR UPDATE" in queries[0]["sql"]


def test_a_placeholder_that_is_not_one_parameter_is_refused():
    twice = CompiledQuery(
        lambda pk: Customer.objects.filter(pk=pk, user_id=pk).values_list("pk"), -9_000_000_001
    )
    with pytest.raises(ValueError, match="is in 2 parameters"):
        twice.rows(1)
    missing = CompiledQuery(lambda pk: Customer.objects.values_list("pk"), -9_000_000_001)
    with pytest.raises(ValueError, match="is in 0 parameters"):
        missing.rows(1)


def test_any_sends_a_list_as_one_parameter_and_compiles_once_for_every_length():
    customers = [CustomerFactory() for _ in range(3)]
    phones = CompiledQuery(
        lambda pks: Customer.objects.filter(pk__any=pks).order_by("pk").values_list("phone"),
        [-9_000_000_001],
    )
    assert phones.rows([customers[0].pk]) == [(customers[0].phone,)]
    assert phones.rows([c.pk for c in customers]) == [(c.phone,) for c in customers]
    assert phones.rows([]) == []
    users = Customer.objects.filter(user_id__any=[customers[1].user_id]).values_list("pk")
    assert list(users) == [(customers[1].pk,)]  # relations too
