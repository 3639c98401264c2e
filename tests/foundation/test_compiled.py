import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.compiled import CompiledList, CompiledQuery
from invitations.models import Customer
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


def test_a_compiled_list_pages_like_the_queryset_with_its_names_and_count():
    from django.core.paginator import Paginator
    from django.db.models import F

    from invitations.models import Invitation
    from tests.factories import CampaignFactory

    campaign = CampaignFactory()
    mine, other = CustomerFactory(), CustomerFactory()
    for n in range(45):
        Invitation.objects.create(
            campaign=campaign,
            inviter=mine if n % 3 else other,
            invitee_phone=f"159{n:08d}",
            qualify_by=campaign.ends_at,
            next_check_at=campaign.starts_at,
        )

    def rows(inviter_id):
        return (
            Invitation.objects.filter(inviter_id=inviter_id)
            .order_by("-id")
            .values("invitee_phone", days=F("campaign__qualification_days"))
        )

    listed = CompiledList(rows, lambda inviter_id: Invitation.objects.filter(inviter_id=inviter_id))
    expected = list(rows(mine.pk))
    assert listed.count(mine.pk) == len(expected) == 30
    pages = Paginator(listed.of(mine.pk), 20)

    def dicts(found) -> list[dict]:
        return [row._asdict() for row in found]

    assert [dicts(pages.page(n).object_list) for n in (1, 2)] == [expected[:20], expected[20:]]
    assert pages.page(2).object_list[0].days == campaign.qualification_days
    # another owner through the same statements: only the values change
    others = list(rows(other.pk))
    with CaptureQueriesContext(connection) as queries:
        assert dicts(listed.rows(other.pk, 0, 100)) == others
        listed.rows(mine.pk, 20, 20)
    first, second = (query["sql"] for query in queries)
    assert (
        first.replace(f"= {other.pk} ", "= ? ").split("LIMIT")[0]
        == second.replace(f"= {mine.pk} ", "= ? ").split("LIMIT")[0]
    )


def test_a_prepared_statement_planned_for_any_value_still_reads_a_partial_index():
    # The grant path asks, on every grant, whether older grants of the kind wait for stock. A
    # statement run often is prepared; PostgreSQL then plans it for any value of its
    # parameters, and "status = $1" cannot use the index of waiting grants: every grant read.
    from rewards.models import Grant
    from rewards.services.issuing import _OTHERS_WAITING

    waiting = CompiledQuery(
        lambda kind_id: Grant.objects.filter(
            status=Grant.Status.PENDING_STOCK, card_kind_id=kind_id
        ).values_list("pk")[:1],
        -9_000_000_001,
    )
    waiting.rows(1)  # compiled
    parameters = [f"${n}" for n in range(1, len(waiting._params) + 1)]
    statement = waiting._sql.replace("%%", "%") % tuple(parameters)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"PREPARE waiting AS {statement}")
        cursor.execute(f"EXPLAIN EXECUTE waiting({', '.join(['1'] * len(parameters))})")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE waiting")
    assert "grant_waiting_by_kind" in plan, plan
    assert _OTHERS_WAITING.rows(1) == []  # the grant path's own, written the same way


def test_a_field_s_own_choices_are_written_in_and_any_other_value_stays_a_parameter():
    from rewards.models import Grant

    def sql(queryset) -> tuple[str, tuple]:
        return queryset.query.sql_with_params()

    statement, params = sql(Grant.objects.filter(status=Grant.Status.PENDING_STOCK))
    assert "= 'pending_stock'" in statement and "pending_stock" not in params
    statement, params = sql(Grant.objects.filter(status__in=["issued", "held"]))
    assert "IN ('held', 'issued')" in statement and params == ()
    statement, params = sql(Grant.objects.filter(status="x' OR 1=1 --"))  # not a choice
    assert "x' OR" not in statement and params == ("x' OR 1=1 --",)
    statement, params = sql(Grant.objects.filter(grant_no="R0001"))  # a field without choices
    assert params == ("R0001",)
    assert list(Grant.objects.filter(status__in=["issued", "held"])) == []  # and it runs
