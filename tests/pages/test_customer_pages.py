import pytest
from django.urls import reverse

from invitations.exceptions import DUPLICATE_INVITATION
from invitations.models import Customer, Invitation
from invitations.phones import INVALID_PHONE
from rewards.models import Anomaly, GrantEvent
from rewards.services import grant_reward
from tests.factories import CampaignFactory, CustomerFactory, make_cards, qualified_invitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    campaign = CampaignFactory(points=200)
    make_cards(campaign.card_kind, 5)
    return campaign


def test_the_landing_page_keeps_bad_input_and_says_why(client, campaign):
    inviter = CustomerFactory()
    url = reverse("invitations:landing", args=[inviter.invite_code])
    page = client.post(url, {"phone": "138 0013 800"}).content.decode()
    assert INVALID_PHONE in page
    assert 'value="138 0013 800"' in page
    assert Invitation.objects.count() == 0


def test_the_landing_page_records_the_invitation_and_sends_the_invitee_on(
    client, campaign, settings
):
    settings.ACCOUNT_OPENING_SIGNUP_URL = "https://open.example/start"
    inviter = CustomerFactory()
    response = client.post(
        reverse("invitations:landing", args=[inviter.invite_code]) + "?ch=wechat",
        {"phone": "+86 159 0000 0001"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.inviter, invitation.invitee_phone, invitation.channel) == (
        inviter,
        "15900000001",
        "wechat",
    )
    page = client.get(response.url).content.decode()
    assert "https://open.example/start?phone=15900000001" in page

    again = client.post(
        reverse("invitations:landing", args=[inviter.invite_code]), {"phone": "15900000001"}
    )
    assert DUPLICATE_INVITATION in again.content.decode()


def test_an_unknown_invite_code_is_not_found(client, campaign):
    assert client.get(reverse("invitations:landing", args=["NOSUCHCODE"])).status_code == 404


def test_signup_logs_the_customer_in(client):
    response = client.post(
        reverse("invitations:signup"),
        {
            "phone": "138-0013-8000",
            "password": "Winter-Sky-2026",
            "password_again": "Winter-Sky-2026",
        },
    )
    assert response.status_code == 302 and response.url == reverse("rewards:my_rewards")
    assert Customer.objects.get().phone == "13800138000"
    assert client.get(reverse("rewards:my_rewards")).status_code == 200


def test_a_customer_sees_reveals_and_reports_only_their_own_rewards(client, campaign):
    mine = grant_reward(qualified_invitation(campaign=campaign))
    theirs = grant_reward(qualified_invitation(campaign=campaign))
    client.force_login(mine.inviter.user)

    page = client.get(reverse("rewards:my_rewards")).content.decode()
    assert mine.grant_no in page and theirs.grant_no not in page
    assert '<p class="big" id="points-balance">200</p>' in page

    assert client.post(reverse("rewards:reveal_card", args=[theirs.grant_no])).status_code == 404
    assert client.post(reverse("rewards:report_card", args=[theirs.grant_no])).status_code == 404
    assert not GrantEvent.objects.filter(grant=theirs, action__in=["revealed", "reported"]).exists()

    card = client.post(reverse("rewards:reveal_card", args=[mine.grant_no]))
    assert "no-store" in card["Cache-Control"]
    assert "PW0000" in card.content.decode()
    mine.refresh_from_db()
    assert mine.first_revealed_at is not None
    assert (
        GrantEvent.objects.filter(grant=mine, action="revealed", actor=mine.inviter.user).count()
        == 1
    )

    client.post(reverse("rewards:report_card", args=[mine.grant_no]), {"note": "already activated"})
    anomaly = Anomaly.objects.get(kind="card_reported")
    assert (anomaly.severity, anomaly.subject, anomaly.grant) == ("critical", mine.grant_no, mine)


def test_customer_pages_need_a_login_and_a_customer(client, admin_user):
    assert client.get(reverse("rewards:my_rewards")).status_code == 302
    client.force_login(admin_user)
    assert client.get(reverse("rewards:my_rewards")).status_code == 404
