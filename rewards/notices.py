"""What an inviter is told about their rewards: the messages written (``notifications.notify``)
in the transaction that changes the grant, so a change rolled back says nothing and a
committed one is told. The words are the notifications app's; this module only says which
message and its values (never a card number or password)."""

from cardpool.models import CardKind
from invitations.models import Customer
from notifications.models import Message
from notifications.services import Notice, notify

from .models import Grant

KIND_BY_STATUS = {
    Grant.Status.ISSUED: Message.Kind.REWARD_ISSUED,
    Grant.Status.PENDING_STOCK: Message.Kind.REWARD_WAITING,
    Grant.Status.HELD: Message.Kind.REWARD_HELD,
    Grant.Status.VOID: Message.Kind.REWARD_VOIDED,
}


def grants_changed(grants: list[Grant]) -> None:
    """Tell each grant's inviter what its status now means for them (two reads, one write,
    however many grants)."""
    if not grants:
        return
    people = {
        pk: (user_id, phone)
        for pk, user_id, phone in Customer.objects.filter(
            pk__in={g.inviter_id for g in grants}
        ).values_list("pk", "user_id", "phone")
    }
    names = dict(
        CardKind.objects.filter(pk__in={g.card_kind_id for g in grants}).values_list("pk", "name")
    )
    notify(
        [
            Notice(
                recipient_id=people[grant.inviter_id][0],
                kind=KIND_BY_STATUS[grant.status],
                params={
                    "card": names.get(grant.card_kind_id),  # None: points only
                    "points": grant.points,
                    "side": grant.side,
                },
                phone=people[grant.inviter_id][1],
            )
            for grant in grants
        ]
    )


def cards_expiring(grants: list[Grant]) -> None:
    """Remind each grant's inviter that its card, never opened, expires soon (``grants`` with
    their card, card kind and inviter)."""
    notify(
        [
            Notice(
                recipient_id=grant.inviter.user_id,
                kind=Message.Kind.CARD_EXPIRING,
                params={"card": grant.card_kind.name, "date": grant.card.valid_until.isoformat()},
                phone=grant.inviter.phone,
            )
            for grant in grants
        ]
    )
