"""Staff lists are filtered only as they offer and sorted only by what they may show: a lookup in
the query string (``?invitee_phone__startswith=139``) or a sort on a phone column would narrow
a masked number digit by digit (security issue, item 3)."""

from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import connection
from django.db.models import CharField
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from cardpool.models import CardEvent
from core.privacy import PRIVATE_FIELDS
from invitations.models import Campaign, Customer, Invitation
from invitations.services.campaigns import set_customer_flagged
from rewards.models import Anomaly, Grant
from rewards.services import grant_reward, reveal_grant_card
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db

PHONES = ["13912345678", "13812345670"]  # created in this order: by pk and by phone differ
LOOKUPS = sorted(CharField.get_lookups())  # exact, iexact, contains, ..., regex, range, any
OUR_APPS = {"cardpool", "invitations", "notifications", "operations", "rewards", "signin"}


def our_admins():
    """Every list staff use: the project's apps' and the users' (a customer's user name is
    their phone). Third-party lists (groups, django-q2, axes) are superusers' only."""
    return {
        model: model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in OUR_APPS or model is User
    }


def private_paths(model, *, depth: int = 3, prefix: str = "", seen=()):
    """Every lookup path from ``model`` to a phone, card number, card digest or other secret
    column: its own, through forward relations two hops away (``inviter__user__username`` from
    a grant) and through a reverse relation first (``customer__phone`` from a user)."""
    seen = (*seen, model)
    for field in model._meta.get_fields():
        if not field.is_relation:
            if field.name in PRIVATE_FIELDS:
                yield prefix + field.name
            continue
        related = field.related_model
        reverse_relation = field.auto_created and not field.concrete
        if related is None or related in seen or depth <= 1 or (reverse_relation and prefix):
            continue
        yield from private_paths(
            related, depth=depth - 1, prefix=f"{prefix}{field.name}__", seen=seen
        )


def changelists():
    return [
        pytest.param(model, id=model._meta.label)
        for model in our_admins()
        if list(private_paths(model))
    ]


@pytest.fixture
def data():
    """Two customers (user names are their phones), each rewarded with a card, a reveal, a flag
    (events whose actor or subject is a customer), an anomaly about a grant."""
    campaign = CampaignFactory()
    make_cards(campaign.card_kind, 2)
    grants = []
    for phone in PHONES:
        customer = CustomerFactory(phone=phone, user__username=phone)
        grant = grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
        reveal_grant_card(grant, customer)
        set_customer_flagged(customer, is_flagged=True, reason="check", actor=customer.user)
        grants.append(grant)
    Anomaly.objects.create(
        kind="card_reported", subject=f"grant:{grants[0].pk}", severity="warning", message="m"
    )
    return grants


@pytest.fixture(params=["reviewer", "superuser"])
def staff(request, client):
    """A reviewer (every list, the users' too) without the permission to see full numbers, or
    a superuser (who has it): the lists refuse the same parameters for both."""
    if request.param == "superuser":
        user = User.objects.create_superuser("root", password="x")
    else:
        call_command("setup_groups", verbosity=0)
        user = User.objects.create_user("reviewer", password="x", is_staff=True)
        user.groups.add(Group.objects.get(name="Reviewers"))
        user.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
        user.user_permissions.add(Permission.objects.get(codename="add_card"))  # uploads
        user.user_permissions.remove(Permission.objects.get(codename="view_full_phone"))
        assert not User.objects.get(pk=user.pk).has_perm("invitations.view_full_phone")
    client.force_login(user)
    return user


def url_of(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def values(model, path: str, lookup: str) -> tuple[str, str]:
    """A value the lookup matches on one row (from the row's real value) and one it matches on
    none: a list that answered both the same way filtered nothing."""
    real = str(
        model._default_manager.exclude(**{f"{path}__isnull": True})
        .values_list(path, flat=True)
        .first()
        or "13912345678"
    )
    return {
        "exact": (real, "x"),
        "iexact": (real.lower(), "x"),
        "in": (f"{real},x", "x,y"),
        "any": (real, "x"),
        "contains": (real[2:5], "~~~"),
        "icontains": (real[2:5], "~~~"),
        "startswith": (real[:3], "~~~"),
        "istartswith": (real[:3], "~~~"),
        "endswith": (real[-4:], "~~~"),
        "iendswith": (real[-4:], "~~~"),
        "regex": (f"^{real[:3]}", "^~"),
        "iregex": (f"^{real[:3]}", "^~"),
        "gt": (real[:3], "~"),
        "gte": (real[:3], "~"),
        "lt": ("~", real[:1]),
        "lte": ("~", real[:1]),
        "range": (f"{real[:1]},~", "~,~"),
        "isnull": ("0", "1"),
    }.get(lookup, (real, "x"))


def refused(response) -> bool:
    """Django's answers to a lookup it does not apply: 400 (DisallowedModelAdminLookup) or the
    redirect to ``?e=1`` (IncorrectLookupParameters). Never a list."""
    if isinstance(response, Exception):
        return False
    return response.status_code == 400 or (
        response.status_code == 302 and response.url.endswith("?e=1")
    )


def get(client, url, query=None):
    """The list's answer, or the exception it raised (a 500 in production)."""
    try:
        return client.get(url, query or {})
    except Exception as error:  # reported as the test's failure
        return error


def shown(response) -> str:
    if isinstance(response, Exception):
        return f"raised {type(response).__name__}"
    if response.status_code != 200:
        return str(response.status_code)
    return f"200 with {response.context['cl'].result_count} rows"


@pytest.mark.parametrize("model", changelists())
def test_no_lookup_on_a_phone_card_number_or_digest_is_applied(client, staff, data, model):
    """Every lookup Django registers on a CharField (and the project's ``any``), on every
    private column of the list's model and of the models it reaches: refused, whatever the
    value, for a reviewer without the full-number permission and for a superuser."""
    paths = sorted(private_paths(model))
    assert paths
    applied = []
    for path in paths:
        for lookup in LOOKUPS:
            hit, miss = values(model, path, lookup)
            key = f"{path}__{lookup}"
            answer = get(client, url_of(model), {key: hit})
            if not refused(answer):  # and what a value matching nothing gives, to compare
                other = get(client, url_of(model), {key: miss})
                applied.append(f"?{key}=: {shown(answer)} / {shown(other)}")
        answer = get(client, url_of(model), {path: values(model, path, "exact")[0]})
        if not refused(answer):
            applied.append(f"?{path}=: {shown(answer)}")
    assert not applied, f"{model._meta.label} applied {len(applied)}:\n" + "\n".join(applied)


HOSTILE = [
    {"invitee_phone__startswith": "139"},
    {"inviter__phone__gt": "139"},
    {"invitation__invitee_phone__startswith": "139"},
    {"card__number_digest__startswith": "a"},
    {"status__exact": "issued", "inviter__phone__startswith": "139"},  # beside a real filter
    {"status__exact__startswith": "iss"},  # a filter's parameter with a lookup added
    {"STATUS__exact": "issued"},
    {"invitee_phone__startswith__": "139"},
    {"invitee_phone__startswith": ["139", "138"]},  # repeated
    {"invitee_phone__regex": "(" * 5000},  # a regex PostgreSQL refuses
    {"inviter": "1"},  # a plain foreign key, no lookup
    {"pk__in": "1,2"},
    {"\x00": "x"},
    {"电话": "139"},
]


@pytest.mark.parametrize("query", HOSTILE, ids=lambda query: "&".join(query)[:40])
def test_hostile_query_strings_change_nothing(client, staff, data, query):
    for model in (Invitation, Grant, CardEvent, Campaign):
        response = get(client, f"{url_of(model)}?{urlencode(query, doseq=True)}")
        assert refused(response), (model._meta.label, query, shown(response))


def test_a_refused_parameter_gets_a_message_and_is_logged(client, staff, data, caplog):
    """A 400 that says which parameter was refused and how to filter instead, with a link to
    the whole list; nothing of the rows, and a line in the security log."""
    url = url_of(Invitation)
    with translation.override("zh-hans"):
        expected = translation.gettext("Show the whole list")
    for key in ("invitee_phone__startswith", "inviter__phone__startswith"):  # ours, Django's
        response = client.get(url, {key: "139"}, headers={"accept-language": "zh-hans"})
        page = response.content.decode()
        assert response.status_code == 400
        assert f"“{key}”" in page and f'href="{url}"' in page and expected in page
        assert not any(phone in page for phone in PHONES)
        assert data[0].invitation.invitee_phone not in page
        assert any(key in record.getMessage() for record in caplog.records), key


@pytest.mark.parametrize(
    ("model", "field"),
    [(Customer, "phone"), (Invitation, "invitee_phone"), (User, "username"), (Customer, "user")],
)
def test_a_popup_never_returns_a_private_column(client, staff, data, model, field):
    """``?_to_field=`` would put the column's raw value in each row of a popup list: Django
    refuses a field no relation points at (kept here so a relation to one fails loudly)."""
    response = client.get(url_of(model), {"_to_field": field, "_popup": "1"})
    assert response.status_code == 400
    assert not any(phone in response.content.decode() for phone in PHONES)


def test_the_private_search_token_is_refused_where_there_is_no_private_search(client, staff):
    assert refused(client.get(url_of(Campaign), {"found": "a-token"}))
    assert client.get(url_of(Grant), {"found": "a-token"}).status_code == 200  # finds nothing


@pytest.mark.parametrize(
    "model", [pytest.param(model, id=model._meta.label) for model in our_admins()]
)
def test_no_list_is_sorted_by_a_private_column(client, staff, data, model):
    """``?o=N`` indexes the list's columns: no index (nor the default order) sorts by a phone,
    a user name, a card number or digest, whatever the direction or combination."""
    columns = len(client.get(url_of(model)).context["cl"].list_display)
    orders = ["", *(f"{sign}{index}" for index in range(columns) for sign in ("", "-"))]
    orders.append(".".join(str(index) for index in range(columns)))
    for order in orders:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url_of(model), {"o": order} if order else {})
        assert response.status_code == 200, (model._meta.label, order)
        for query in queries:
            _, _, ordering = query["sql"].partition(" ORDER BY ")
            for name in PRIVATE_FIELDS:
                assert f'"{name}"' not in ordering, (model._meta.label, order, query["sql"])


def test_a_private_column_added_to_a_list_is_never_sorted_by(client, staff, data, monkeypatch):
    """The guard is general: a phone column, a path to a user name, a relation whose model is
    ordered by user name, a default order by phone: none of them sorts the list."""
    customers = admin.site._registry[Customer]
    columns = ["__str__", "phone", "user__username", "user", "invite_code"]
    monkeypatch.setattr(customers, "list_display", columns)
    monkeypatch.setattr(customers, "ordering", ["phone"])
    monkeypatch.setattr(User._meta, "ordering", ["username"])
    url = url_of(Customer)
    first = len(client.get(url).context["cl"].list_display) - len(columns)  # the checkbox
    for order in ["", *(f"{sign}{first + index}" for index in range(4) for sign in ("", "-"))]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"o": order} if order else {})
        rows = [customer.pk for customer in response.context["cl"].result_list]
        assert rows == sorted(rows, reverse=True), order  # newest first, whatever was asked
        for query in queries:
            ordering = query["sql"].partition(" ORDER BY ")[2]
            assert '"phone"' not in ordering and '"username"' not in ordering, (order, ordering)
    sortable = client.get(url).context["cl"].sortable_by
    assert list(sortable) == ["__str__", "invite_code"]
    invite_code = client.get(url, {"o": f"{first + 4}"}).context["cl"].result_list
    assert [c.invite_code for c in invite_code] == sorted(c.invite_code for c in invite_code)


def test_the_users_list_is_not_sorted_by_user_name_either_way(client, staff, data):
    """The behaviour behind the SQL check: the two customers' rows come in the same order
    whichever way the user-name column is asked to sort."""
    url = url_of(User)
    column = client.get(url).context["cl"].list_display.index("username_shown")
    rows = [
        [user.pk for user in client.get(url, {"o": order}).context["cl"].result_list]
        for order in (f"{column}", f"-{column}")
    ]
    assert rows[0] == rows[1]


def test_the_filters_the_lists_offer_still_apply(client, staff, data):
    """Every choice of every filter in every list, followed as the sidebar links it, and the
    review desk's links: a list, filtered."""
    for model in our_admins():
        page = client.get(url_of(model))
        assert page.status_code == 200, model._meta.label
        assert client.get(url_of(model), {"_facets": "1"}).status_code == 200
        for spec in page.context["cl"].filter_specs:
            for choice in spec.choices(page.context["cl"]):
                followed = client.get(url_of(model) + choice["query_string"])
                assert followed.status_code == 200, (model._meta.label, choice["query_string"])
    held = client.get(url_of(Grant), {"status__exact": "issued"})
    assert held.status_code == 200 and held.context["cl"].result_count == 2
    none = client.get(url_of(Grant), {"status__exact": "held"})
    assert none.status_code == 200 and none.context["cl"].result_count == 0


def test_a_date_hierarchy_keeps_its_own_parameters_only(client, staff, data, monkeypatch):
    """No list has one today; the rule lets one through as Django builds it, nothing more
    (the grants' list filters by ``created_at``: ``issued_at`` is not offered otherwise)."""
    grants = admin.site._registry[Grant]
    monkeypatch.setattr(grants, "date_hierarchy", "issued_at")
    year = data[0].issued_at.year
    assert client.get(url_of(Grant), {"issued_at__year": year}).context["cl"].result_count == 2
    for query in (
        {"issued_at__gte": "2000-01-01"},
        {"issued_at__year": year, "issued_at__lt": "2000-01-01"},
        {"issued_at__month": 1},
    ):
        assert refused(client.get(url_of(Grant), query)), query


def test_a_search_by_phone_is_an_exact_match_on_the_full_number(client, staff, data):
    """In the users' list too (a customer's user name is their phone): part of a number finds
    nobody, in the address or through the private search; the whole number finds its owner."""
    url = url_of(User)
    search = reverse("admin:auth_user_private_search")
    for part in ("139", "1391234", "12345678", "1391234567"):
        assert client.get(url, {"q": part}).context["cl"].result_count == 0, part
        found = client.post(search, {"term": part})
        assert client.get(found.url).context["cl"].result_count == 0, part
    assert client.get(url, {"q": PHONES[0]}).context["cl"].result_count == 1
    found = client.post(search, {"term": "139 1234 5678"})
    assert client.get(found.url).context["cl"].result_count == 1


def test_every_staff_list_is_strict_and_searches_private_columns_exactly():
    """The rule is in one base class; a list added without it, a filter on a private column
    (its sidebar would list the values) or a search by part of one fails here."""
    from core.admin_tools import StrictListMixin

    for model, model_admin in our_admins().items():
        label = model._meta.label
        assert isinstance(model_admin, StrictListMixin), label
        for item in model_admin.list_filter:
            name = item if isinstance(item, str) else item[0] if isinstance(item, tuple) else ""
            assert not set(name.split("__")) & PRIVATE_FIELDS, (label, item)
        for field in model_admin.search_fields:
            if set(field.lstrip("=^@").split("__")) & PRIVATE_FIELDS:
                assert field.startswith("=") or field.endswith("__exact"), (label, field)
