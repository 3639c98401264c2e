from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from .models import (
    Campaign,
    CampaignState,
    Customer,
    Invitation,
    OpeningEvent,
    PhoneVerification,
)


def running_campaigns(now=None) -> QuerySet[Campaign]:
    return Campaign.objects.running(now or timezone.now())


def current_campaign(now=None) -> Campaign | None:
    """The campaign running now; when several run, the one that started last."""
    return running_campaigns(now).order_by("-starts_at", "-id").first()


def campaign_state(campaign: Campaign, now=None) -> CampaignState:
    return campaign.state(now or timezone.now())


def customer_by_invite_code(code: str) -> Customer | None:
    return Customer.objects.filter(invite_code=code.strip().upper()).first()


def customer_of(user) -> Customer | None:
    """The customer record of a logged-in site user; None for staff and anonymous users."""
    if not user.is_authenticated:
        return None
    return Customer.objects.filter(user=user).first()


def invitation_by_id(invitation_id) -> Invitation | None:
    """The invitation a visitor's session points at (the page after verification)."""
    if not isinstance(invitation_id, int):
        return None
    return Invitation.objects.filter(pk=invitation_id).first()


def phone_verification(verification_id, inviter: Customer | None) -> PhoneVerification | None:
    """The code a visitor's session is waiting for: for this inviter's page, or (``None``) for
    sign-up. A session pointing elsewhere finds nothing."""
    if not isinstance(verification_id, int):
        return None
    return PhoneVerification.objects.filter(pk=verification_id, inviter=inviter).first()


EVENT_TO_DECISION = """
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY wait), max(wait)
FROM (SELECT EXTRACT(EPOCH FROM (i.decided_at - e.received_at)) AS wait
      FROM {events} e JOIN {invitations} i ON i.id = ANY (e.invitation_ids)
      WHERE e.received_at >= %s AND i.decided_at >= e.received_at) waits
"""


def event_to_lookup_seconds(since) -> dict:
    """Median and longest wait from an accepted account-opening event (received since ``since``)
    to the lookup that decided one of its invitations; empty when none was decided yet."""
    sql = EVENT_TO_DECISION.format(
        events=OpeningEvent._meta.db_table, invitations=Invitation._meta.db_table
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [since])
        median, longest = cursor.fetchone()
    return {} if median is None else {"0.5": median, "1": longest}


# From each invitation's friend (a customer by the invited number), follow who they invited, up
# to RING_DEPTH steps; a ring closes when one of them invited the first inviter's number back.
_RINGS = """
WITH RECURSIVE walk (invitation_id, customer_id, target_phone, depth) AS (
    SELECT i.id, friend.id, inviter.phone, 1
    FROM invitations_invitation i
    JOIN invitations_customer friend ON friend.phone = i.invitee_phone
    JOIN invitations_customer inviter ON inviter.id = i.inviter_id
    WHERE i.id = ANY(%(ids)s)
  UNION
    SELECT w.invitation_id, next.id, w.target_phone, w.depth + 1
    FROM walk w
    JOIN invitations_invitation i ON i.inviter_id = w.customer_id
    JOIN invitations_customer next ON next.phone = i.invitee_phone
    WHERE w.depth < %(depth)s
)
SELECT DISTINCT w.invitation_id
FROM walk w JOIN invitations_invitation back ON back.inviter_id = w.customer_id
WHERE back.invitee_phone = w.target_phone
"""
RING_DEPTH = 3  # loops of up to four people: A -> B -> C -> D -> A


def invitations_in_rings(ids: list[int]) -> set[int]:
    """Those of the invitations whose friend's own invitations lead back to their inviter
    (A invites B and B invites A, or a longer loop), in any campaign and state: one statement."""
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(_RINGS, {"ids": list(ids), "depth": RING_DEPTH})
        return {invitation_id for (invitation_id,) in cursor.fetchall()}
