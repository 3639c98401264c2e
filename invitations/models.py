import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .phones import mask_phone

INVITE_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud safely


def new_invite_code() -> str:
    # 10 characters from 32: 50 bits, unguessable by enumeration; unique by constraint.
    return "".join(secrets.choice(INVITE_CODE_ALPHABET) for _ in range(10))


class AccountChannel(models.TextChoices):
    """Where the upstream says an account was opened. The lookup never depends on it."""

    APP = "app"
    H5 = "h5"
    WECHAT = "wechat"
    ONE_CLICK = "one_click", "one-click login"
    BRANCH = "branch"


class Customer(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    phone = models.CharField(max_length=11, unique=True)
    invite_code = models.CharField(max_length=16, unique=True, default=new_invite_code)
    is_flagged_for_review = models.BooleanField(
        default=False, help_text="New grants for this inviter are held for review."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return mask_phone(self.phone)


class Campaign(models.Model):
    name = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    qualification_days = models.PositiveIntegerField(
        default=30, help_text="Days an invitee has to open an account after being invited."
    )
    card_kind = models.ForeignKey("cardpool.CardKind", on_delete=models.PROTECT)
    points = models.PositiveIntegerField(default=0, help_text="Learning points per reward.")
    max_rewards_per_inviter = models.PositiveIntegerField(default=10)
    is_paused = models.BooleanField(default=False)
    is_flagged_for_review = models.BooleanField(
        default=False, help_text="New grants of this campaign are held for review."
    )
    rules = models.TextField(blank=True, help_text="Shown to invitees on the landing page.")

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="campaign_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(qualification_days__gt=0), name="campaign_qualification_days_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RecordedEvent(models.Model):
    """Who (a person, or a process named by ``actor_label``), when and why. Append-only in the
    database (invariant 11)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    actor_label = models.CharField(max_length=100, blank=True, help_text="System actor, if any.")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class CampaignEvent(RecordedEvent):
    """Every pause, resume, flag and unflag of a campaign, with who (a person or a process)
    and why."""

    class Action(models.TextChoices):
        PAUSED = "paused"
        RESUMED = "resumed"
        FLAGGED = "flagged", "flagged for review"
        UNFLAGGED = "unflagged", "review flag removed"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)

    def __str__(self) -> str:
        return f"{self.campaign} {self.action}"


class CustomerEvent(RecordedEvent):
    """Every flag and unflag of a customer (their new grants are held while flagged)."""

    class Action(models.TextChoices):
        FLAGGED = "flagged", "flagged for review"
        UNFLAGGED = "unflagged", "review flag removed"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)

    def __str__(self) -> str:
        return f"{self.customer} {self.action}"


class Invitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        QUALIFIED = "qualified"
        INELIGIBLE_EXISTING_CUSTOMER = "ineligible_existing_customer"
        EXPIRED = "expired"
        REJECTED = "rejected"

    class Channel(models.TextChoices):
        """Where the invitee came from (how the link was shared)."""

        LINK = "link"
        WECHAT = "wechat"
        APP = "app"
        H5 = "h5"
        QR = "qr", "QR code"
        STAFF = "staff", "attributed by staff"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="invitations")
    inviter = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invitations")
    invitee_phone = models.CharField(max_length=11)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.LINK)
    status = models.CharField(max_length=32, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.CharField(max_length=200, blank=True)
    invited_at = models.DateTimeField(auto_now_add=True)
    qualify_by = models.DateTimeField(help_text="The account must be opened before this time.")
    # NULL, not "", until known: the partial unique constraint counts an account once per campaign.
    external_account_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    account_opened_at = models.DateTimeField(null=True, blank=True)
    account_channel = models.CharField(max_length=16, choices=AccountChannel.choices, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # polling
    next_check_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-invited_at", "-id"]
        indexes = [
            # The poll claim reads only due pending rows: its cost follows the number due,
            # not the table's size. A lease pushes next_check_at to the lease's end.
            models.Index(
                fields=["next_check_at"], condition=Q(status="pending"), name="invitation_due"
            ),
            models.Index(fields=["inviter", "-invited_at"], name="invitation_by_inviter"),
            # the default ordering (admin list): newest first without sorting the table
            models.Index(fields=["-invited_at", "-id"], name="invitation_newest_first"),
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
            # ... and one opened account qualifies at most one invitation per campaign (other
            # invitations of the same account keep its id for the record, as rejected/expired).
            models.UniqueConstraint(
                fields=["campaign", "external_account_id"],
                condition=Q(status="qualified"),
                name="invitation_qualifies_once_per_account",
            ),
            models.CheckConstraint(
                condition=~Q(status="qualified")
                | Q(external_account_id__isnull=False, account_opened_at__isnull=False),
                name="invitation_qualified_has_account",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {mask_phone(self.invitee_phone)} ({self.status})"


class InvitationEvent(RecordedEvent):
    """Every decision on an invitation (qualified, existing customer, expired, rejected) with the
    upstream's answer summarized, and every attribution by staff."""

    class Action(models.TextChoices):
        ATTRIBUTED = "attributed", "attributed by staff"
        QUALIFIED = "qualified"
        INELIGIBLE_EXISTING_CUSTOMER = "ineligible_existing_customer", "existing customer"
        EXPIRED = "expired"
        REJECTED = "rejected"

    invitation = models.ForeignKey(Invitation, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=32, choices=Action.choices)
    details = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.invitation} {self.action}"


class PollCycle(models.Model):
    """Heartbeat of the poller: one row per cycle, so a stalled poller is visible."""

    worker = models.CharField(max_length=100)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    claimed = models.PositiveIntegerField(default=0)
    qualified = models.PositiveIntegerField(default=0)
    not_yet_opened = models.PositiveIntegerField(default=0)
    ineligible = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    released = models.PositiveIntegerField(default=0, help_text="Leases given back unprocessed.")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"poll cycle {self.started_at:%Y-%m-%d %H:%M:%S} on {self.worker}"


class UpstreamRateLimit(models.Model):
    """Shared across every process and machine: the next moment a request may be sent."""

    name = models.CharField(max_length=50, primary_key=True)
    next_free_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class PhoneVerification(models.Model):
    """A one-time code sent by SMS to a number typed on a public form: an inviter's landing page
    (``inviter`` set) or the sign-up page. The invitation or the account exists only once the
    code is entered: a stranger's number proves nothing and blocks nobody. The code is kept as a
    keyed digest, never in clear."""

    inviter = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    phone = models.CharField(max_length=11)
    channel = models.CharField(max_length=16, default="link")
    code_digest = models.CharField(max_length=64)
    address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # the throttles count recent codes per number and per address
            models.Index(fields=["phone", "created_at"], name="verification_by_phone"),
            models.Index(fields=["address", "created_at"], name="verification_by_address"),
        ]

    def __str__(self) -> str:
        return f"{mask_phone(self.phone)} for {self.inviter or 'sign-up'}"
