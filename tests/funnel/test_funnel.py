"""The campaign funnel for marketing and operations (#32): counted by the cluster, drawn as SVG
on the server, every chart's numbers as CSV."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fraud.models import Sighting
from funnel.models import FunnelDay, FunnelSummary
from funnel.services import refresh_funnels
from invitations import ladder
from invitations.models import Invitation
from rewards.services import grant_reward
from tests.factories import (
    CampaignFactory,
    CardKindFactory,
    CustomerFactory,
    InvitationFactory,
    UserFactory,
    make_cards,
    qualified_invitation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    jd20 = CardKindFactory()
    jd50 = CardKindFactory(code="JD50", name="JD 50", face_value=Decimal("50.00"))
    make_cards(jd20, 10)
    make_cards(jd50, 10, prefix="F")
    return CampaignFactory(
        name="<b>春季</b>",
        card_kind=jd20,
        points=100,
        point_value=Decimal("0.01"),
        friend_card_kind=jd50,
        ladder=ladder.parse("3 JD50 500", {"JD50": jd50}),
        budget=Decimal("1000"),
        min_deposit=Decimal("1000"),
    )


def story(campaign):
    """Five visits, four numbers verified, three accounts opened (one funded), three inviters'
    rewards (places 1 to 3) with their friends'."""
    inviter = CustomerFactory()
    for n in range(5):
        Sighting.objects.create(
            step="link_visit",
            inviter_id=inviter.pk,
            campaign_id=campaign.pk,
            seen_at=timezone.now(),
            address=f"{n}",
        )
    opened = [qualified_invitation(campaign=campaign, inviter=inviter) for _ in range(3)]
    InvitationFactory(campaign=campaign, inviter=inviter)  # verified, not opened
    Invitation.objects.filter(pk=opened[0].pk).update(
        funded_at=timezone.now(), first_deposit=Decimal("1000")
    )
    for invitation in opened:
        grant_reward(invitation)


def test_the_cluster_counts_each_step_by_day_and_the_summary(campaign):
    story(campaign)

    assert refresh_funnels() == 1
    assert refresh_funnels() == 1  # counted again: replaced, not doubled

    [day] = FunnelDay.objects.all()
    assert (day.visits, day.verified, day.opened, day.funded, day.rewarded) == (5, 4, 3, 1, 3)
    # inviters 20+1, 20+1, 50+5; friends 3 x 50
    assert day.cost == Decimal("247.00")
    summary = FunnelSummary.objects.get()
    assert (summary.grants, summary.friends_rewarded, summary.held_for_fraud) == (6, 3, 0)
    assert summary.ladder == [[1, 2], [3, 1]]
    assert summary.spent == Decimal("247.00") and summary.stock == 14


def test_a_campaign_long_over_is_not_counted(campaign):
    campaign.starts_at = timezone.now() - timedelta(days=60)
    campaign.ends_at = timezone.now() - timedelta(days=8)
    campaign.save()
    assert refresh_funnels() == 0


def test_the_page_draws_the_charts_and_says_the_figures(admin_client, campaign):
    story(campaign)
    refresh_funnels()
    url = reverse("admin:funnel_campaign", args=[campaign.pk])

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(url)

    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("<svg") >= 3 and "<b>春季</b>" not in html  # the name escaped
    assert "&lt;b&gt;春季&lt;/b&gt;" in html
    assert "82.33" in html  # cost per opened account: 247 / 3
    assert "753.00" in html  # budget left
    # the page reads the cluster's counts, not the invitations (the admin's own statements
    # aside: session, user, permissions)
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert "invitations_invitation" not in tables and "rewards_grant" not in tables
    listing = admin_client.get(reverse("admin:funnel_funnelsummary_changelist"))
    assert url in listing.content.decode()


@pytest.mark.parametrize(
    ("table", "first_line", "row"),
    [
        ("steps", "环节,数量,占上一环节比例（%）", "已开户,3,75.0"),
        (
            "days",
            "日期,邀请链接访问,手机号已验证,已开户,已入金,已奖励邀请人,成本（元）",
            ",5,4,3,1,3,247.00",
        ),
        ("ladder", "自第几位好友,奖励数", "3,1"),
    ],
)
def test_each_charts_numbers_download_as_csv(admin_client, campaign, table, first_line, row):
    story(campaign)
    refresh_funnels()
    url = reverse("admin:funnel_campaign", args=[campaign.pk])
    response = admin_client.get(url, {"csv": table})
    text = response.content.decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert text.splitlines()[0] == first_line and row in text


def test_a_wrong_table_or_campaign_or_staff_without_the_permission_gets_nothing(
    admin_client, client, campaign
):
    url = reverse("admin:funnel_campaign", args=[campaign.pk])
    assert admin_client.get(url, {"csv": "../etc"}).status_code == 404
    assert admin_client.get(reverse("admin:funnel_campaign", args=[999999])).status_code == 404
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get(url).status_code in (403, 404)
    staff.user_permissions.add(Permission.objects.get(codename="view_funnelsummary"))
    assert client.get(url).status_code == 200  # not counted yet: said so


def test_a_days_visits_stay_once_their_sightings_are_deleted_and_no_deposit_no_funded_step(
    admin_client, campaign
):
    story(campaign)
    refresh_funnels()
    Sighting.objects.filter(step="link_visit").delete()  # FRAUD_SIGNALS_KEEP_DAYS later
    refresh_funnels()
    assert FunnelDay.objects.get().visits == 5

    campaign.min_deposit = None
    campaign.save()
    url = reverse("admin:funnel_campaign", args=[campaign.pk])
    header = admin_client.get(url, {"csv": "days"}).content.decode("utf-8-sig").splitlines()[0]
    assert "已入金" not in header and "已开户" in header


def test_campaigns_running_at_once_count_the_visits_of_their_own_links(campaign, client):
    from tests.factories import CampaignFactory as Factory

    later = Factory(name="夏季", starts_at=campaign.starts_at + timedelta(minutes=1))
    inviter = CustomerFactory()
    landing = reverse("invitations:landing", args=[inviter.invite_code])
    assert client.get(landing).status_code == 200  # the link shows the campaign started last
    assert Sighting.objects.get(step="link_visit").campaign_id == later.pk
    # no campaign shown (none ran, or recorded before visits named theirs): nobody's visit
    Sighting.objects.create(step="link_visit", inviter_id=inviter.pk, seen_at=timezone.now())

    refresh_funnels()

    assert dict(FunnelDay.objects.values_list("campaign__name", "visits")) == {"夏季": 1}


def test_a_bars_count_and_share_stay_inside_the_chart():
    import re

    from funnel.charts import WIDTH, _text_width, funnel

    svg = funnel([("link visits", 1234, None), ("phones verified", 1500, 121.6)], "t")
    [(x, text)] = re.findall(r'<text x="([0-9.]+)" y="[0-9.]+">([^<]*%)</text>', svg)
    assert text == "1,500 · 122%" and float(x) + _text_width(text) <= WIDTH
