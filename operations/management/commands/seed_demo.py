"""Demo data: a staff admin, card kinds and cards, a running campaign, customers with
invitations in every state, and simulator accounts. Idempotent: run it again and nothing doubles.

The story it sets up: the campaign counts a friend on a first deposit of 1,000 yuan within 7
days of opening; five friends opened accounts, four of them deposited. One of the four proved
their number from the customer's own phone (a fraud signal): their rewards are held for a
reviewer. Its card kind is nearly out of stock (2 cards for the other 3), so one reward waits and
the stock-out shows on the review desk until the visitor imports the restock file written next
to the database (``demo-restock-JD20.csv``). The campaign rewards both sides (each friend a JD50
card) and pays by a ladder (from the 6th friend on, a JD50 card and 500 points)."""

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from cardpool.models import CardBatch, CardKind
from cardpool.services import import_cards
from fraud.clients import digest
from fraud.models import Sighting
from invitations.models import Campaign, Customer
from invitations.services import create_invitation, register_customer

ADMIN_USER, ADMIN_PASSWORD = "admin", "demo-admin-2026"
CUSTOMER_PHONE, CUSTOMER_PASSWORD = "13800138000", "demo-customer-2026"
SIMULATOR_ACCOUNTS = "demo-accounts.json"
RESTOCK_FILE = "demo-restock-JD20.csv"
STARTING_STOCK = {"JD20": 2, "JD50": 300}  # JD20, the campaign's kind, nearly empty
RESTOCK = 200


def demo_cards(prefix: str, count: int) -> bytes:
    valid_until = (timezone.localdate() + timedelta(days=365)).isoformat()
    lines = ["卡号,卡密,有效期"] + [
        f"{prefix}{index:012d},{prefix[:2]}-{index:04d}-XK{index * 7919 % 10000:04d},{valid_until}"
        for index in range(count)
    ]
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def _sightings(customer: Customer, phone: str, campaign_id: int) -> None:
    """Twenty visits of the customer's invite link (the funnel's first step), and a fraud
    signal: the fourth friend proved their number from the customer's own phone (the browser
    the customer uses for /me/), so their rewards, both sides, are held for a reviewer."""
    device = digest("device", f"demo-device-{customer.pk}")
    if Sighting.objects.filter(inviter_id=customer.pk, device=device).exists():
        return
    now = timezone.now()
    visits = [
        Sighting(
            step="link_visit",
            inviter_id=customer.pk,
            campaign_id=campaign_id,
            device=digest("device", f"demo-visitor-{n}"),
            address=digest("address", f"demo-visitor-{n}"),
            seen_at=now - timedelta(minutes=n),
        )
        for n in range(20)
    ]
    Sighting.objects.bulk_create(
        [
            *visits,
            Sighting(step="inviter_page", inviter_id=customer.pk, device=device, seen_at=now),
            Sighting(
                step="phone_verified",
                inviter_id=customer.pk,
                phone=digest("phone", phone),
                device=device,
                seen_at=now,
            ),
        ]
    )


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and write the simulator's accounts file."

    # Not one transaction: the card import is a use case of its own (durable). Every step is
    # idempotent, so a run cut short is completed by the next one.
    def handle(self, *args, **options):
        call_command("setup_groups", verbosity=0)
        user_model = get_user_model()
        if not user_model.objects.filter(username=ADMIN_USER).exists():
            admin = user_model.objects.create_superuser(
                ADMIN_USER, "admin@example.com", ADMIN_PASSWORD
            )
            # a reviewer: anomaly emails reach it (printed by the worker: console backend)
            admin.groups.add(Group.objects.get(name="Reviewers"))
        jd20, _ = CardKind.objects.get_or_create(
            code="JD20",
            defaults={"name": "京东E卡 20元", "face_value": 20, "low_stock_threshold": 20},
        )
        jd50, _ = CardKind.objects.get_or_create(
            code="JD50",
            defaults={"name": "京东E卡 50元", "face_value": 50, "low_stock_threshold": 10},
        )
        for kind, prefix, count in (
            (jd20, "JD20", STARTING_STOCK["JD20"]),
            (jd50, "JD50", STARTING_STOCK["JD50"]),
        ):
            file_name = f"demo-{kind.code}.csv"
            if CardBatch.objects.filter(file_name=file_name).exists():
                continue  # imported on an earlier run (importing again would leave a refusal)
            import_cards(
                kind=kind,
                file_name=file_name,
                content=demo_cards(prefix, count),
                supplier="Demo supplier",
            )
        restock = Path(settings.DATA_DIR) / RESTOCK_FILE
        restock.parent.mkdir(parents=True, exist_ok=True)
        restock.write_bytes(demo_cards("JD2R", RESTOCK))
        now = timezone.now()
        campaign, _ = Campaign.objects.get_or_create(
            name="邀请好友开户有礼 · 2026 冬季",
            defaults={
                "starts_at": now - timedelta(days=3),
                "ends_at": now + timedelta(days=60),
                "qualification_days": 30,
                "card_kind": jd20,
                "points": 200,
                "max_rewards_per_inviter": 10,
                # both sides: the friend gets a JD50 card; the inviter's 6th friend on, a JD50
                # card and 500 points (the demo's customer has five friends who open: one to go)
                "friend_card_kind": jd50,
                "ladder": [{"from": 6, "card_kind": jd50.pk, "points": 500}],
                # a friend counts once their first deposit of 1,000 yuan arrives, within 7 days
                "min_deposit": Decimal("1000.00"),
                "deposit_days": 7,
                "budget": 2000,  # yuan: cards at face value, points at 1 fen each
                "point_value": Decimal("0.01"),
                "rules": (
                    "好友须使用受邀手机号开户，每位好友计一份奖励；每人最多 10 份。"
                    "好友开户并于 7 日内首次入金满 1000 元方计入；好友本人亦得 50 元京东卡；"
                    "自第 6 位好友起，每位好友奖励 50 元京东卡及 500 积分。"
                    "礼品卡有效期以卡面为准，积分不可兑换现金。"
                ),
            },
        )
        customer = Customer.objects.filter(phone=CUSTOMER_PHONE).first() or register_customer(
            CUSTOMER_PHONE, CUSTOMER_PASSWORD
        )
        friends = [f"1390000{index:04d}" for index in range(1, 9)]
        for index, phone in enumerate(friends):
            if not customer.invitations.filter(invitee_phone=phone).exists():
                invitation = create_invitation(
                    customer,
                    phone,
                    channel=["wechat", "link", "app", "qr"][index % 4],
                    campaign=campaign,
                )
                invitation.next_check_at = now  # check at the first poll
                invitation.save(update_fields=["next_check_at"])
        _sightings(customer, friends[3], campaign.pk)
        channels = ["app", "h5", "wechat", "one_click", "branch"]
        invited_at = dict(customer.invitations.values_list("invitee_phone", "invited_at"))
        # Opened after each invitation (a second, then a minute apart): an account opened before
        # the invitation is an existing customer's, which is why friend #1 used to earn nothing.
        accounts = [
            {
                "phone": phone,
                "account_id": f"DEMO{index:04d}",
                "channel": channels[index % 5],
                "opened_at": (invited_at[phone] + timedelta(minutes=index, seconds=1)).isoformat(),
            }
            for index, phone in enumerate(friends[:5])
        ]
        # Four made their first deposit right after opening; the fifth has not yet (deposit on
        # the simulator's /deposit page: the reward follows).
        for index, account in enumerate(accounts[:4]):
            account["first_deposit_at"] = account["opened_at"]
            account["first_deposit_amount"] = f"{1000 + 500 * index}.00"
        # One friend already had an account long before being invited: earns nothing.
        accounts.append(
            {
                "phone": friends[5],
                "account_id": "DEMO-OLD",
                "channel": "branch",
                "opened_at": (now - timedelta(days=700)).isoformat(),
            }
        )
        path = Path(settings.DATA_DIR) / SIMULATOR_ACCOUNTS
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(accounts, indent=1), encoding="utf-8")
        if CardBatch.objects.filter(file_name=RESTOCK_FILE).exists():
            stock = f"The JD20 restock ({RESTOCK_FILE}) is imported already."
        else:
            stock = (
                f"JD20 holds {STARTING_STOCK['JD20']} cards for 3 rewards: import {restock} "
                "(admin: 卡批次 (Card batches) -> 导入卡密文件 (Import a card file)) to issue "
                "the one that will wait."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready. Admin: {ADMIN_USER} / {ADMIN_PASSWORD}; "
                f"customer: {CUSTOMER_PHONE} / {CUSTOMER_PASSWORD}; "
                f"invite link /i/{customer.invite_code}; simulator accounts in {path}. {stock}"
            )
        )
