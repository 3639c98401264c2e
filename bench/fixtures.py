"""Bulk data made with SQL (generate_series), fast enough for a million rows."""

from datetime import timedelta

from django.utils import timezone

from cardpool import secrets
from cardpool.models import CardBatch, CardKind
from invitations.models import Campaign, Customer

from .common import execute

_counter = {"kind": 0}


def card_kind(prefix: str = "BK") -> CardKind:
    _counter["kind"] += 1
    code = f"{prefix}{_counter['kind']}"
    return CardKind.objects.create(code=code, name=code, face_value=20)


def cards(kind: CardKind, count: int) -> None:
    """``count`` available cards. Secrets are one real Fernet token repeated (same size as real
    ones); the digest is unique per row, as the constraint requires."""
    batch = CardBatch.objects.create(
        kind=kind,
        file_name=f"bench-{kind.code}",
        content_sha256=f"{kind.code}-{count}-{timezone.now().timestamp()}",
        row_count=count,
    )
    token = secrets.encrypt("BENCH-CARD-0000000000")
    execute(
        """
        INSERT INTO cardpool_card (kind_id, batch_id, number_encrypted, password_encrypted, number_digest,
                                   number_last4, valid_until, status, created_at, updated_at)
        SELECT %s, %s, %s, %s, md5(%s || g::text) || md5(g::text), lpad((g %% 10000)::text, 4, '0'),
               current_date + 365 + (g %% 200), 'available', now(), now()
        FROM generate_series(1, %s) g
        """,
        [kind.pk, batch.pk, token, token, kind.code, count],
    )


def campaign(kind: CardKind, cap: int = 1_000_000) -> Campaign:
    now = timezone.now()
    return Campaign.objects.create(
        name=f"bench {kind.code}",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=60),
        card_kind=kind,
        points=10,
        max_rewards_per_inviter=cap,
    )


def customers(count: int, prefix: str) -> None:
    """``count`` customers with users, phones ``1{prefix}xxxxxxx``."""
    execute(
        """
        INSERT INTO auth_user (username, password, is_superuser, first_name, last_name, email, is_staff, is_active, date_joined)
        SELECT %s || g, '!', false, '', '', '', false, true, now() FROM generate_series(1, %s) g
        """,
        [f"bench{prefix}-", count],
    )
    execute(
        """
        INSERT INTO invitations_customer (user_id, phone, invite_code, is_flagged_for_review, created_at)
        SELECT u.id, '1' || %s || lpad(split_part(u.username, '-', 2), 7, '0'), upper(substr(md5(u.username), 1, 12)), false, now()
        FROM auth_user u WHERE u.username LIKE %s
        """,
        [prefix, f"bench{prefix}-%"],
    )


def invitations(
    campaign_obj: Campaign,
    count: int,
    *,
    status: str,
    inviter_prefix: str | None = None,
    phone_prefix: str = "50",
    due: bool = True,
    one_inviter: Customer | None = None,
) -> None:
    """``count`` invitations of ``status``; each its own inviter (from ``customers``) unless
    ``one_inviter`` is given."""
    opened = "now()" if status == "qualified" else "NULL"
    # one account counts once anywhere (invariant 3): the campaign's id keeps calls apart
    account = f"'ACC{campaign_obj.pk}-' || g" if status == "qualified" else "NULL"
    next_check = "now() - interval '1 second'" if due else "now() + interval '1 day'"
    inviter = (
        "%s"
        if one_inviter
        else "(SELECT id FROM invitations_customer WHERE phone = '1' || %s || lpad(g::text, 7, '0'))"
    )
    execute(
        f"""
        INSERT INTO invitations_invitation (campaign_id, inviter_id, invitee_phone, channel, status, rejection_reason,
            invited_at, qualify_by, external_account_id, account_opened_at, account_channel, next_check_at,
            attempts, last_error)
        SELECT %s, {inviter}, '1' || %s || lpad(g::text, 8, '0'), 'link', %s, '', now() - interval '1 hour',
               now() + interval '30 days', {account}, {opened}, '', {next_check}, 0, ''
        FROM generate_series(1, %s) g
        """,
        [
            campaign_obj.pk,
            one_inviter.pk if one_inviter else inviter_prefix,
            phone_prefix,
            status,
            count,
        ],
    )


def qualified_of_own_inviters(count: int, prefix: str, code: str, spare: int) -> Campaign:
    """A campaign of a new card kind ``code`` (``count`` + ``spare`` cards) with ``count``
    qualified invitations, each of its own inviter (phones ``1{prefix}xxxxxxx``): no cap, no
    hold in the way of the grant path."""
    kind = card_kind(code)
    cards(kind, count + spare)
    campaign_obj = campaign(kind)
    customers(count, prefix)
    invitations(
        campaign_obj, count, status="qualified", inviter_prefix=prefix, phone_prefix=prefix[-2:]
    )
    return campaign_obj


def issued_grants(kind: CardKind, campaign_obj: Campaign, count: int, prefix: str) -> None:
    """Issue ``count`` grants (numbers ``{prefix}...``) to the campaign's qualified invitations,
    oldest first, each with one of the kind's cards, which become assigned."""
    execute(
        """
        WITH picked AS (
            SELECT id, row_number() OVER (ORDER BY id) n FROM cardpool_card WHERE kind_id = %s ORDER BY id LIMIT %s
        ), invs AS (
            SELECT id, inviter_id, row_number() OVER (ORDER BY id) n FROM invitations_invitation
            WHERE campaign_id = %s AND status = 'qualified'
        )
        INSERT INTO rewards_grant (grant_no, invitation_id, inviter_id, campaign_id, card_id, card_kind_id, face_value, points, cap, status, origin, hold_reason,
                                   created_at, issued_at, void_reason)
        SELECT %s || lpad(i.n::text, 11, '0'), i.id, i.inviter_id, %s, p.id, %s,
               (SELECT face_value FROM cardpool_cardkind WHERE id = %s), 10,
               (SELECT max_rewards_per_inviter FROM invitations_campaign WHERE id = %s), 'issued', 'automatic', '', now(), now(), ''
        FROM invs i JOIN picked p ON p.n = i.n
        """,
        [
            kind.pk,
            count,
            campaign_obj.pk,
            prefix,
            campaign_obj.pk,
            kind.pk,
            kind.pk,
            campaign_obj.pk,
        ],
    )
    execute(
        "UPDATE cardpool_card SET status = 'assigned', assigned_at = now() "
        "WHERE id IN (SELECT card_id FROM rewards_grant WHERE campaign_id = %s)",
        [campaign_obj.pk],
    )


def rewarded_book(
    code: str,
    *,
    card_count: int,
    customer_count: int,
    invitation_count: int,
    grant_count: int,
    customer_digits: str,
    invitee_digits: str,
) -> Campaign:
    """A campaign of ``code`` (a card kind of ``card_count`` cards) whose customers (phones
    ``1{customer_digits}xxxxxxx``) share the invitations (phones ``1{invitee_digits}`` and 9
    digits) round-robin, the first ``grant_count`` qualified and rewarded (a grant with a card
    and a points entry each), the rest pending. Grant numbers are ``RG`` and digits, as the
    customer's pages link them."""
    kind = card_kind(code)
    campaign_obj = campaign(kind)
    execute("SET synchronous_commit = off")
    cards(kind, card_count)
    customers(customer_count, customer_digits)
    execute("ANALYZE")  # fresh millions of rows: without statistics the planner picks nested loops
    execute(
        """
        INSERT INTO invitations_invitation (campaign_id, inviter_id, invitee_phone, channel, status, rejection_reason,
            invited_at, qualify_by, external_account_id, account_opened_at, account_channel, next_check_at,
            attempts, last_error)
        SELECT %(campaign)s, c.id, '1' || %(invitee)s || lpad(g::text, 9, '0'),
               'link', CASE WHEN g <= %(grants)s THEN 'qualified' ELSE 'pending' END, '',
               now() - (g %% 10000) * interval '1 minute', now() + interval '29 days',
               CASE WHEN g <= %(grants)s THEN %(code)s || 'ACC' || g END,
               CASE WHEN g <= %(grants)s THEN now() END, '', now() + interval '1 hour', 1, ''
        FROM generate_series(1, %(invitations)s) g
        JOIN invitations_customer c
          ON c.phone = '1' || %(customer)s || lpad((1 + g %% %(customers)s)::text, 7, '0')
        """,
        {
            "campaign": campaign_obj.pk,
            "invitee": invitee_digits,
            "customer": customer_digits,
            "grants": grant_count,
            "code": code,
            "invitations": invitation_count,
            "customers": customer_count,
        },
    )
    execute("ANALYZE")
    issued_grants(kind, campaign_obj, grant_count, f"RG{customer_digits}")
    execute(
        """
        INSERT INTO rewards_pointsentry (customer_id, amount, kind, grant_id, note, created_at)
        SELECT inviter_id, points, 'reward', id, '', created_at FROM rewards_grant WHERE campaign_id = %s
        """,
        [campaign_obj.pk],
    )
    execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load in production
    return campaign_obj
