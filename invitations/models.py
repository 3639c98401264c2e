import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import RecordedEvent

from . import yield_plan
from .phones import ERASED_PHONE, STORED_PHONE, mask_phone

INVITE_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud safely


def new_invite_code() -> str:
    # 10 characters from 32: 50 bits, unguessable by enumeration; unique by constraint.
    return "".join(secrets.choice(INVITE_CODE_ALPHABET) for _ in range(10))


class AccountChannel(models.TextChoices):
    """Where the upstream says an account was opened. The lookup never depends on it."""

    APP = "app", _("App")
    H5 = "h5", _("H5")
    WECHAT = "wechat", _("Wechat")
    ONE_CLICK = "one_click", _("one-click login")
    BRANCH = "branch", _("Branch")


class Customer(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("user")
    )
    phone = models.CharField(max_length=41, unique=True, verbose_name=_("phone"))
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Erased on the person's request: the number is a digest, the user disabled."),
        verbose_name=_("erased at"),
    )
    invite_code = models.CharField(
        max_length=16, unique=True, default=new_invite_code, verbose_name=_("invite code")
    )
    is_flagged_for_review = models.BooleanField(
        default=False,
        help_text=_("New grants for this inviter are held for review."),
        verbose_name=_("is flagged for review"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    checks_requested_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("asked to check friends at")
    )

    class Meta:
        verbose_name = _("customer")
        permissions = [("view_full_phone", _("Can see full phone numbers"))]
        verbose_name_plural = _("customers")
        constraints = [
            # one way to write a number (invitations.phones): 11 ASCII digits, never a twin in
            # full-width or another script's digits that uniqueness would take for another
            models.CheckConstraint(
                condition=Q(phone__regex=STORED_PHONE)
                | Q(phone__regex=ERASED_PHONE, erased_at__isnull=False),
                name="customer_phone_is_ascii_or_erased",
            ),
        ]

    def __str__(self) -> str:
        return mask_phone(self.phone)


class CampaignState(models.TextChoices):
    RUNNING = "running", _("running")
    PAUSED = "paused", _("paused")
    NOT_STARTED = "not_started", _("not started yet")
    OVER = "over", _("over")


class CampaignQuerySet(models.QuerySet):
    def running(self, now):
        """The one definition of "running", in SQL; ``Campaign.state`` is the same in Python."""
        return self.filter(starts_at__lte=now, ends_at__gt=now, is_paused=False)


class Campaign(models.Model):
    name = models.CharField(max_length=200, verbose_name=_("name"))
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    qualification_days = models.PositiveIntegerField(
        default=30,
        help_text=_("Days an invitee has to open an account after being invited."),
        verbose_name=_("qualification days"),
    )
    card_kind = models.ForeignKey(
        "cardpool.CardKind", on_delete=models.PROTECT, verbose_name=_("card kind")
    )
    points = models.PositiveIntegerField(
        default=0, help_text=_("Learning points per reward."), verbose_name=_("points")
    )
    max_rewards_per_inviter = models.PositiveIntegerField(
        default=10, verbose_name=_("max rewards per inviter")
    )
    # The ladder: later friends of one inviter paid on other terms. A list of steps, each
    # ``{"from": n, "card_kind": id, "points": p}`` (n >= 2, rising): the inviter's n-th friend to
    # qualify, and every later one up to the next step, earns that card kind and those points;
    # friends before the first step earn the terms above. ``ladder.py`` reads and checks it.
    ladder = models.JSONField(
        default=list,
        blank=True,
        help_text=_(
            "Other terms for an inviter's later friends, by the order in which they qualify."
        ),
        verbose_name=_("ladder"),
    )
    # The friend's own reward, on the same qualification: a card, points, or both (neither: the
    # friend earns nothing).
    friend_card_kind = models.ForeignKey(
        "cardpool.CardKind",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_(
            "The invited friend's card when their account qualifies. Empty: points only, or "
            "nothing."
        ),
        verbose_name=_("friend's card kind"),
    )
    friend_points = models.PositiveIntegerField(
        default=0,
        help_text=_("Points for the invited friend, with their card or alone."),
        verbose_name=_("friend's points"),
    )
    budget = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_(
            "Yuan the campaign may spend on rewards: cards at face value plus points at the "
            "value below, every reward issued, waiting for stock or held. Empty: no budget."
        ),
        verbose_name=_("budget (yuan)"),
    )
    daily_limit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_(
            "Yuan of rewards a day at most (Beijing time); a reward over it is granted the next "
            "day. Empty: no limit."
        ),
        verbose_name=_("daily limit (yuan)"),
    )
    # Qualification beyond the opening: a first deposit of at least ``min_deposit`` yuan within
    # ``deposit_days`` of the account's opening (invitations.services.polling.decide).
    min_deposit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_(
            "A friend qualifies only once their first deposit of at least this many yuan has "
            "arrived, within the days below of opening the account. Empty: opening is enough."
        ),
        verbose_name=_("first deposit required (yuan)"),
    )
    deposit_days = models.PositiveIntegerField(
        default=7,
        help_text=_("Days after the account's opening within which the first deposit must arrive."),
        verbose_name=_("days to deposit"),
    )
    point_value = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        default=0,
        validators=[MinValueValidator(0)],
        help_text=_("Yuan one point is worth, for the budget."),
        verbose_name=_("value of a point (yuan)"),
    )
    is_paused = models.BooleanField(default=False, verbose_name=_("is paused"))
    is_flagged_for_review = models.BooleanField(
        default=False,
        help_text=_("New grants of this campaign are held for review."),
        verbose_name=_("is flagged for review"),
    )
    rules = models.TextField(
        blank=True, help_text=_("Shown to invitees on the landing page."), verbose_name=_("rules")
    )

    # What a reward is earned on: changed on a started campaign only with a reason, recorded
    # with old and new values (``services.campaigns.change_campaign``).
    TERMS = (
        "starts_at",
        "ends_at",
        "qualification_days",
        "card_kind",
        "points",
        "max_rewards_per_inviter",
        "ladder",
        "friend_card_kind",
        "friend_points",
        "min_deposit",
        "deposit_days",
        "budget",
        "daily_limit",
        "point_value",
    )

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="campaign_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(qualification_days__gt=0), name="campaign_qualification_days_positive"
            ),
            models.CheckConstraint(
                condition=Q(deposit_days__gt=0)
                & (Q(min_deposit__isnull=True) | Q(min_deposit__gt=0)),
                name="campaign_deposit_rule_sound",
            ),
            models.CheckConstraint(
                condition=(Q(budget__isnull=True) | Q(budget__gte=0))
                & (Q(daily_limit__isnull=True) | Q(daily_limit__gte=0))
                & Q(point_value__gte=0),
                name="campaign_money_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def state(self, now) -> CampaignState:
        if self.is_paused:
            return CampaignState.PAUSED
        if now < self.starts_at:
            return CampaignState.NOT_STARTED
        if now >= self.ends_at:
            return CampaignState.OVER
        return CampaignState.RUNNING


class CampaignEvent(RecordedEvent):
    """Every pause, resume, flag and unflag of a campaign, and every change of a started
    campaign's terms (``details``: each changed term's old and new value), with who (a person or
    a process) and why."""

    class Action(models.TextChoices):
        PAUSED = "paused", _("Paused")
        RESUMED = "resumed", _("Resumed")
        FLAGGED = "flagged", _("flagged for review")
        UNFLAGGED = "unflagged", _("review flag removed")
        TERMS_CHANGED = "terms_changed", _("terms changed")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="events", verbose_name=_("campaign")
    )
    action = models.CharField(max_length=16, choices=Action.choices, verbose_name=_("action"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))

    class Meta(RecordedEvent.Meta):
        verbose_name = _("campaign event")
        verbose_name_plural = _("campaign events")

    def __str__(self) -> str:
        return f"{self.campaign} {self.get_action_display()}"

    @property
    def changes_shown(self) -> str:
        """A terms change as staff read it: "points: 200 → 500; card kind: ..."."""
        parts = []
        for name, (old, new) in self.details.get("changes", {}).items():
            label = _("face value") if name == "face_value" else Campaign._meta.get_field(name)
            label = getattr(label, "verbose_name", label)
            parts.append(f"{label}: {old} → {new}")
        return "; ".join(parts)


class CustomerEvent(RecordedEvent):
    """Every flag and unflag of a customer (their new grants are held while flagged)."""

    class Action(models.TextChoices):
        FLAGGED = "flagged", _("flagged for review")
        UNFLAGGED = "unflagged", _("review flag removed")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="events", verbose_name=_("customer")
    )
    action = models.CharField(max_length=16, choices=Action.choices, verbose_name=_("action"))

    class Meta(RecordedEvent.Meta):
        verbose_name = _("customer event")
        verbose_name_plural = _("customer events")

    def __str__(self) -> str:
        return f"{self.customer} {self.get_action_display()}"


CHECK_PRIORITIES = [
    (0, _("opening signal")),
    (1, _("young invitation")),
    (2, _("routine")),
]


class Invitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        QUALIFIED = "qualified", _("Qualified")
        INELIGIBLE_EXISTING_CUSTOMER = (
            "ineligible_existing_customer",
            _("Ineligible Existing Customer"),
        )
        EXPIRED = "expired", _("Expired")
        REJECTED = "rejected", _("Rejected")

    class Channel(models.TextChoices):
        """Where the invitee came from (how the link was shared)."""

        LINK = "link", _("Link")
        WECHAT = "wechat", _("Wechat")
        APP = "app", _("App")
        H5 = "h5", _("H5")
        QR = "qr", _("QR code")
        STAFF = "staff", _("attributed by staff")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="invitations", verbose_name=_("campaign")
    )
    inviter = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="invitations", verbose_name=_("inviter")
    )
    invitee_phone = models.CharField(max_length=41, verbose_name=_("invitee phone"))
    phone_erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("The invitee never opened an account: their number was replaced by a digest."),
        verbose_name=_("phone erased at"),
    )
    channel = models.CharField(
        max_length=16, choices=Channel.choices, default=Channel.LINK, verbose_name=_("channel")
    )
    status = models.CharField(
        max_length=32, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    rejection_reason = models.CharField(
        max_length=200, blank=True, verbose_name=_("rejection reason")
    )
    invited_at = models.DateTimeField(auto_now_add=True, verbose_name=_("invited at"))
    qualify_by = models.DateTimeField(
        help_text=_("The account must be opened before this time."), verbose_name=_("qualify by")
    )
    # NULL, not "", until known: the partial unique constraint counts an account once per campaign.
    external_account_id = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, verbose_name=_("external account id")
    )
    account_opened_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("account opened at")
    )
    account_channel = models.CharField(
        max_length=16, choices=AccountChannel.choices, blank=True, verbose_name=_("account channel")
    )
    # what the upstream said of the first deposit (a campaign may require one: Campaign.min_deposit)
    funded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("first deposit at"))
    first_deposit = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        verbose_name=_("first deposit (yuan)"),
    )
    decided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("decided at"))
    consented_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the invitee agreed to the use of their number (empty: staff attributed)."
        ),
        verbose_name=_("consented at"),
    )
    # polling
    next_check_at = models.DateTimeField(verbose_name=_("next check at"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    last_checked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last checked at"))
    # invitations.check_policy: the order due checks are taken in, and the last sign that the
    # invitee is opening an account now (a burst of checks follows it)
    check_priority = models.PositiveSmallIntegerField(
        default=1, db_default=1, choices=CHECK_PRIORITIES, verbose_name=_("check priority")
    )
    signal_at = models.DateTimeField(null=True, blank=True, verbose_name=_("opening signal at"))
    lease_token = models.UUIDField(null=True, blank=True, verbose_name=_("lease token"))
    leased_until = models.DateTimeField(null=True, blank=True, verbose_name=_("leased until"))

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-invited_at", "-id"]
        indexes = [
            # The poll claim reads only due pending rows: its cost follows the number due,
            # not the table's size. A lease pushes next_check_at to the lease's end.
            models.Index(
                fields=["check_priority", "next_check_at"],
                condition=Q(status="pending"),
                name="invitation_due_by_priority",
            ),
            # the customer's "my invitations": newest first, a page at a time, in index order
            models.Index(fields=["inviter", "-invited_at", "-id"], name="invitation_of_inviter"),
            # ... and its counts, from the index alone (COUNT(*), no heap page per invitation)
            models.Index(
                fields=["inviter", "campaign", "status"], name="invitation_counts_of_inviter"
            ),
            # staff's exact search (core.admin_tools): by the invitee's number, by the
            # upstream's account id
            models.Index(fields=["invitee_phone"], name="invitation_by_invitee_phone"),
            models.Index(fields=["external_account_id"], name="invitation_by_account_id"),
            # the default ordering (admin list): newest first without sorting the table
            models.Index(fields=["-invited_at", "-id"], name="invitation_newest_first"),
            # anomaly detection's "an existing customer rewarded": empty while the invariant
            # holds (no account counts if opened before its invitation), so the rule reads it
            # instead of joining every grant to its invitation
            models.Index(
                fields=["id"],
                condition=Q(account_opened_at__lt=F("invited_at")),
                name="invitation_opened_before",
            ),
            # anomaly rules: recent qualifications, and pending invitations past their window
            models.Index(
                fields=["decided_at"],
                condition=Q(status="qualified"),
                name="invitation_qualified_at",
            ),
            models.Index(
                fields=["qualify_by"], condition=Q(status="pending"), name="invitation_pending_by"
            ),
        ]
        constraints = [
            # Invariant 3: an invitee is counted once per campaign, whoever invited them.
            models.UniqueConstraint(
                fields=["campaign", "invitee_phone"], name="invitation_once_per_phone"
            ),
            # ... and one opened account qualifies at most one invitation across all campaigns:
            # a friend invited in two overlapping campaigns is paid once, the first to qualify
            # (other invitations of the account keep its id for the record, as rejected/expired).
            models.UniqueConstraint(
                fields=["external_account_id"],
                condition=Q(status="qualified"),
                name="invitation_qualifies_once_per_account_anywhere",
            ),
            models.CheckConstraint(
                condition=~Q(status="qualified")
                | Q(external_account_id__isnull=False, account_opened_at__isnull=False),
                name="invitation_qualified_has_account",
            ),
            models.CheckConstraint(
                condition=Q(invitee_phone__regex=STORED_PHONE)
                | Q(invitee_phone__regex=ERASED_PHONE, phone_erased_at__isnull=False),
                name="invitation_phone_is_ascii_or_erased",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {mask_phone(self.invitee_phone)}（{self.get_status_display()}）"


class InvitationEvent(RecordedEvent):
    """Every decision on an invitation (qualified, existing customer, expired, rejected) with the
    upstream's answer summarized, and every attribution by staff."""

    class Action(models.TextChoices):
        ATTRIBUTED = "attributed", _("attributed by staff")
        QUALIFIED = "qualified", _("Qualified")
        INELIGIBLE_EXISTING_CUSTOMER = "ineligible_existing_customer", _("existing customer")
        EXPIRED = "expired", _("Expired")
        REJECTED = "rejected", _("Rejected")

    invitation = models.ForeignKey(
        Invitation, on_delete=models.PROTECT, related_name="events", verbose_name=_("invitation")
    )
    action = models.CharField(max_length=32, choices=Action.choices, verbose_name=_("action"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))

    class Meta(RecordedEvent.Meta):
        verbose_name = _("invitation event")
        verbose_name_plural = _("invitation events")

    def __str__(self) -> str:
        return f"{self.invitation} {self.get_action_display()}"


class OpeningEvent(models.Model):
    """A signed "account opened" event accepted (``account_opening.events``), kept for its id so
    that a replay does nothing, until it is purged (a day later; the sender's timestamp is
    refused after five minutes anyway). No phone: an event about a number nobody invited leaves
    nothing that says the number exists."""

    event_id = models.CharField(max_length=255, unique=True, verbose_name=_("event id"))
    sender = models.CharField(max_length=64, verbose_name=_("sender"))  # its address, or /64
    sent_at = models.DateTimeField(verbose_name=_("sent at"))
    received_at = models.DateTimeField(default=timezone.now, verbose_name=_("received at"))
    # the pending invitations it brought forward (their ids; the time to their lookup is a metric)
    invitation_ids = ArrayField(
        models.BigIntegerField(), default=list, blank=True, verbose_name=_("invitations")
    )

    class Meta:
        verbose_name = _("account opening event")
        verbose_name_plural = _("account opening events")
        indexes = [
            models.Index(fields=["sender", "received_at"], name="opening_event_by_sender"),
            models.Index(fields=["received_at"], name="opening_event_by_time"),
        ]

    def __str__(self) -> str:
        return self.event_id


class OpeningEventCount(models.Model):
    """Events received per minute and outcome (accepted, duplicate, ignored, or why refused):
    one row per minute and outcome however many arrive, so that a flood of forged events costs
    an increment, never a row each; ``/metrics`` reads the last 15 minutes."""

    minute = models.DateTimeField(verbose_name=_("minute"))
    outcome = models.CharField(max_length=20, verbose_name=_("outcome"))
    count = models.PositiveIntegerField(default=0, verbose_name=_("count"))

    class Meta:
        verbose_name = _("account opening event count")
        verbose_name_plural = _("account opening event counts")
        constraints = [
            models.UniqueConstraint(fields=["minute", "outcome"], name="one_count_per_minute")
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.outcome} {self.count}"


class PollCycle(models.Model):
    """Heartbeat of the poller: one row per cycle, so a stalled poller is visible."""

    worker = models.CharField(max_length=100, verbose_name=_("worker"))
    started_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("started at")
    )
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    claimed = models.PositiveIntegerField(default=0, verbose_name=_("claimed"))
    qualified = models.PositiveIntegerField(default=0, verbose_name=_("qualified"))
    not_yet_opened = models.PositiveIntegerField(default=0, verbose_name=_("not yet opened"))
    awaiting_deposit = models.PositiveIntegerField(
        default=0, verbose_name=_("opened, awaiting a deposit")
    )
    ineligible = models.PositiveIntegerField(default=0, verbose_name=_("existing customers"))
    rejected = models.PositiveIntegerField(
        default=0,
        verbose_name=_("rejected"),
        help_text=_("Accounts that had already counted for another invitation."),
    )
    expired = models.PositiveIntegerField(default=0, verbose_name=_("expired"))
    errors = models.PositiveIntegerField(default=0, verbose_name=_("errors"))
    released = models.PositiveIntegerField(
        default=0, help_text=_("Leases given back unprocessed."), verbose_name=_("released")
    )

    class Meta:
        verbose_name = _("poll cycle")
        verbose_name_plural = _("poll cycles")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return gettext("poll cycle %(at)s on %(worker)s") % {
            "at": f"{timezone.localtime(self.started_at):%Y-%m-%d %H:%M:%S}",
            "worker": self.worker,
        }


class PhoneVerification(models.Model):
    """A one-time code sent by SMS to a number typed on a public form: an inviter's landing page
    (``inviter`` set) or the sign-up page. The invitation or the account exists only once the
    code is entered: a stranger's number proves nothing and blocks nobody. The code is kept as a
    keyed digest, never in clear."""

    inviter = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("inviter"),
    )
    phone = models.CharField(max_length=11, verbose_name=_("phone"))
    channel = models.CharField(max_length=16, default="link", verbose_name=_("channel"))
    code_digest = models.CharField(max_length=64, verbose_name=_("code digest"))
    address = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("address"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    verified_at = models.DateTimeField(null=True, blank=True, verbose_name=_("verified at"))
    consented_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consented at"))

    class Meta:
        verbose_name = _("phone verification")
        verbose_name_plural = _("phone verifications")
        indexes = [
            # the throttles count recent codes per number and per address
            models.Index(fields=["phone", "created_at"], name="verification_by_phone"),
            models.Index(fields=["address", "created_at"], name="verification_by_address"),
        ]
        constraints = [
            # the per-number throttles count rows by this column: one way to write a number
            models.CheckConstraint(
                condition=Q(phone__regex=STORED_PHONE), name="verification_phone_is_ascii"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(phone)s for %(what)s") % {
            "phone": mask_phone(self.phone),
            "what": self.inviter or gettext("sign-up"),
        }


class PollPlan(models.Model):
    """How often the poller looks up a campaign's pending invitations of each age, learned from
    its openings (``yield_plan``) and made again every ``POLL_PLAN_MINUTES``. No row: the fixed
    waits of ``check_policy`` (too few openings seen yet to learn from). A campaign that wants a
    first deposit has a second plan for the invitations whose account is open and unfunded, by
    the age of the account, learned from its first deposits."""

    class Stage(models.TextChoices):
        OPENING = "opening", _("waiting for the opening")
        DEPOSIT = "deposit", _("waiting for the first deposit")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="poll_plans", verbose_name=_("campaign")
    )
    stage = models.CharField(
        max_length=16,
        choices=Stage.choices,
        default=Stage.OPENING,
        db_default=Stage.OPENING,
        verbose_name=_("stage"),
    )
    waits = models.JSONField(verbose_name=_("seconds between lookups, by age band"))
    hazards = models.JSONField(
        verbose_name=_("openings (or first deposits) per pending invitation a day, by age band")
    )
    pending = models.JSONField(verbose_name=_("pending invitations, by age band"))
    openings_seen = models.PositiveIntegerField(
        verbose_name=_("openings (or first deposits) learned from")
    )
    made_at = models.DateTimeField(verbose_name=_("made at"))

    class Meta:
        verbose_name = _("poll plan")
        verbose_name_plural = _("poll plans")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "stage"], name="poll_plan_one_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.campaign} ({self.get_stage_display()}): {self.made_at:%Y-%m-%d %H:%M}"

    def plan(self) -> yield_plan.Plan | None:
        """The plan, or None when it was made for other age bands (a release changed them; the
        next planning run replaces it)."""
        if len(self.waits) != yield_plan.BANDS:
            return None
        return yield_plan.Plan(tuple(timedelta(seconds=wait) for wait in self.waits))
