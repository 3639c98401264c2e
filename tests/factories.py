from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from cardpool import secrets
from cardpool.models import Card, CardBatch, CardKind


class CardKindFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CardKind
        django_get_or_create = ("code",)

    code = "JD20"
    name = "JD e-card 20 yuan"
    face_value = Decimal("20.00")
    low_stock_threshold = 10


class CardBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CardBatch

    kind = factory.SubFactory(CardKindFactory)
    file_name = factory.Sequence(lambda n: f"batch-{n}.csv")
    content_sha256 = factory.Sequence(lambda n: f"{n:064x}")
    row_count = 0


def make_cards(
    kind: CardKind, count: int, *, valid_days: int = 365, prefix: str = "C"
) -> list[Card]:
    """``count`` available cards of ``kind`` in a new batch, inserted in one statement."""
    batch = CardBatchFactory(kind=kind, row_count=count)
    valid_until = timezone.localdate() + timedelta(days=valid_days)
    cards = []
    for index in range(count):
        number = f"{prefix}{batch.pk:04d}{index:08d}"
        cards.append(
            Card(
                kind=kind,
                batch=batch,
                number_encrypted=secrets.encrypt(number),
                password_encrypted=secrets.encrypt(f"PW{index:06d}"),
                number_digest=secrets.number_digest(number),
                number_last4=number[-4:],
                valid_until=valid_until,
            )
        )
    return Card.objects.bulk_create(cards)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "auth.User"

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "invitations.Customer"

    user = factory.SubFactory(UserFactory)
    phone = factory.Sequence(lambda n: f"137{n:08d}")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "invitations.Campaign"

    name = factory.Sequence(lambda n: f"Campaign {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    qualification_days = 30
    card_kind = factory.SubFactory(CardKindFactory)
    points = 100
    max_rewards_per_inviter = 10


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "invitations.Invitation"

    campaign = factory.SubFactory(CampaignFactory)
    inviter = factory.SubFactory(CustomerFactory)
    invitee_phone = factory.Sequence(lambda n: f"159{n:08d}")
    qualify_by = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    next_check_at = factory.LazyFunction(lambda: timezone.now() - timedelta(seconds=1))


def qualified_invitation(**kwargs):
    """An invitation the poller has just qualified."""
    from invitations.models import Invitation

    defaults = {
        "status": Invitation.Status.QUALIFIED,
        # after the invitation (whose invited_at is stamped when it is saved, a moment later):
        # an account opened before it would be an existing customer's (invariant 4)
        "account_opened_at": timezone.now() + timedelta(seconds=1),
        "external_account_id": factory.Sequence(lambda n: f"ACC{n}"),
    }
    return InvitationFactory(**{**defaults, **kwargs})


def issued_grants_of(customer, count: int, *, points: int = 200) -> list:
    """``count`` grants issued to ``customer`` in a new campaign, through the grant path."""
    from rewards.services import grant_reward

    campaign = CampaignFactory(points=points)
    make_cards(campaign.card_kind, count)
    return [
        grant_reward(qualified_invitation(campaign=campaign, inviter=customer))
        for _ in range(count)
    ]


def insert_grant_again(grant, **changes) -> list:
    """What the grant paths write for ``grant``'s invitation once more, without their checks
    (``rewards.batch_writes``): the old sweep's second grant after a void."""
    from rewards.batch_writes import insert_grants
    from rewards.numbers import next_grant_no

    row = {
        "grant_no": next_grant_no(),
        "invitation_id": grant.invitation_id,
        "inviter_id": grant.inviter_id,
        "campaign_id": grant.campaign_id,
        "card_id": None,
        "card_kind_id": grant.card_kind_id,
        "face_value": grant.face_value,
        "points": grant.points,
        "cap": grant.cap,
        "status": "pending_stock",
        "hold_reason": "",
    }
    return insert_grants([{**row, **changes}])
