"""Staff lists over tables of millions: the rows written by core.admin_rows are Django's, byte
for byte, on every list of the project; a large list's count is estimated and its pages stop
where an index stops reading cheaply; a small list's count stays exact."""

import re

import pytest
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from core.admin_rows import django_rows, fast_rows
from core.middleware import current_user
from core.paginators import LargeTablePaginator
from invitations.models import Invitation
from rewards.models import Grant
from tests.factories import CampaignFactory, CardKindFactory, CustomerFactory, make_cards
from tests.foundation.test_admin_lookups import our_admins
from tests.rewards.test_review_desk import _states

pytestmark = pytest.mark.django_db


def _changelist(model_admin, user, query: str = ""):
    request = RequestFactory().get(f"/admin/x/?{query}")
    request.user = user
    request.session = {}
    changelist = model_admin.get_changelist_instance(request)
    changelist.formset = None  # as changelist_view sets it for a list that edits nothing
    return changelist


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_list_writes_the_rows_django_writes(admin_user, language):
    _states()  # a row in each list with actions, events, messages, points entries
    lists_with_rows = set()
    token = current_user.set(admin_user)
    try:
        with translation.override(language):
            for model, model_admin in our_admins().items():
                changelist = _changelist(model_admin, admin_user)
                rows = fast_rows(changelist)
                assert rows is not None, model
                assert rows == django_rows(changelist), model
                if rows:
                    lists_with_rows.add(model._meta.model_name)
    finally:
        current_user.reset(token)
    # the comparison read real rows of the lists staff use most, not only empty tables
    assert {"grant", "card", "invitation", "anomaly", "customer", "campaign", "message"} <= (
        lists_with_rows
    )
    assert len(lists_with_rows) >= 15, sorted(lists_with_rows)


def test_a_masked_phone_is_written_as_django_would_for_staff_without_the_permission(db):
    _states()
    staff = User.objects.create_user("clerk", is_staff=True)
    model_admin = admin.site._registry[Grant]
    token = current_user.set(staff)
    try:
        changelist = _changelist(model_admin, staff)
        rows = fast_rows(changelist)
    finally:
        current_user.reset(token)
    assert rows and rows == django_rows(changelist)
    assert "****" in rows[0]


def test_the_row_checkbox_is_djangos(admin_user):
    grant = _states()[("grant", "void_selected")]
    ours = admin.site._registry[Grant].action_checkbox(grant)
    django = admin.ModelAdmin.action_checkbox(admin.site._registry[Grant], grant)
    assert ours == django
    assert helpers.ACTION_CHECKBOX_NAME in ours


def _invitations(count: int):
    campaign = CampaignFactory()
    inviter = CustomerFactory()
    Invitation.objects.bulk_create(
        Invitation(
            campaign=campaign,
            inviter=inviter,
            invitee_phone=f"139{index:08d}",
            qualify_by=campaign.ends_at,
            next_check_at=campaign.ends_at,
        )
        for index in range(count)
    )


def test_a_large_list_is_counted_by_estimate_and_paged_only_as_deep_as_is_cheap(
    admin_client, monkeypatch
):
    monkeypatch.setattr(LargeTablePaginator, "exact_up_to", 30)
    _invitations(120)
    make_cards(CardKindFactory(), 120)
    url = reverse("admin:invitations_invitation_changelist")
    response = admin_client.get(url, headers={"accept-language": "en"})
    assert response.status_code == 200
    paginator = response.context["cl"].paginator
    assert paginator.estimated
    assert paginator.count >= 31  # never fewer than the rows counted
    assert paginator.num_pages == 1  # 30 rows at 50 a page
    assert "about" in response.content.decode()
    assert "only the first 30 are paged" in response.content.decode()
    cards = admin_client.get(
        reverse("admin:cardpool_card_changelist"), headers={"accept-language": "en"}
    ).content.decode()
    assert "only the first 30 are paged" in cards  # the planner's guess, not a count
    assert 'class="action-counter"' in cards  # the list still acts on the rows picked...
    assert not re.search(r"Select all [0-9]", cards)  # ... never every row of an uncounted list
    # a page past the cheap ones is not served: Django's "the list was reset" answer
    response = admin_client.get(url, {"p": "3"})
    assert response.status_code == 302 and "e=1" in response["Location"]


def test_a_small_list_is_counted_exactly(admin_client):
    _invitations(120)
    make_cards(CardKindFactory(), 120)
    response = admin_client.get(
        reverse("admin:invitations_invitation_changelist"), headers={"accept-language": "en"}
    )
    paginator = response.context["cl"].paginator
    assert not paginator.estimated
    assert paginator.count == 120
    assert paginator.num_pages == 3
    paged = response.content.decode().split('<p class="paginator">')[1].split("</p>")[0]
    assert "120 " in paged and "about" not in paged
    cards = admin_client.get(
        reverse("admin:cardpool_card_changelist"), headers={"accept-language": "en"}
    ).content.decode()
    assert "Select all 120 cards" in cards  # counted: an action may take them all


def test_the_first_page_of_a_status_s_cards_reads_no_card_of_another_status(admin_user):
    from django.db import connection

    from cardpool.models import Card

    # the pool is drawn oldest first: the cards drawn are those of the lowest ids
    cards = make_cards(CardKindFactory(), 2000)
    Card.objects.filter(pk__in=[card.pk for card in cards[:1000]]).update(
        status="assigned", assigned_at=timezone.now()
    )
    changelist = _changelist(admin.site._registry[Card], admin_user, "status__exact=available")
    sql, params = changelist.queryset[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cardpool_card")
        cursor.execute("SET LOCAL enable_seqscan = off")  # as at a million cards
        cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    skipped = [int(n) for n in re.findall(r"Rows Removed by Filter: (\d+)", plan)]
    assert sum(skipped) == 0, plan
