from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.models import RecordedEvent


class GrantQuerySet(models.QuerySet):
    def live(self):
        """Grants that count: every status but void (a void grant is history)."""
        return self.exclude(status=Grant.Status.VOID)


class Grant(models.Model):
    """A reward order: one card and some points for one qualified invitation."""

    class Status(models.TextChoices):
        PENDING_STOCK = "pending_stock", _("waiting for stock")
        HELD = "held", _("held for review")
        ISSUED = "issued", _("Issued")
        VOID = "void", _("Void")

    class Side(models.TextChoices):
        """Whom the grant pays: the inviter, or the invited friend (a campaign may reward both;
        invariant 2 holds per side)."""

        INVITER = "inviter", _("the inviter")
        FRIEND = "friend", _("the invited friend")

    class Origin(models.TextChoices):
        """Who made the grant. Invariant 14: the automatic paths (the poller, the sweep, a batch)
        make at most one grant per invitation, ever; after a person voids it or rejects it, only
        another person's action (a reissue, "grant again") makes the next one."""

        AUTOMATIC = "automatic", _("granted when the invitation qualified")
        REISSUE = "reissue", _("reissued by staff")
        GRANTED_AGAIN = "granted_again", _("granted again by staff")
        # Grants the automatic paths made again after a void, before this rule was enforced
        # (migration 0013 labels them); reconciliation names each one as a breach.
        REPEATED_BEFORE_RULE = (
            "repeated",
            _("made again automatically after a void (before the rule)"),
        )

    grant_no = models.CharField(
        max_length=20, unique=True, editable=False, verbose_name=_("grant no")
    )
    invitation = models.ForeignKey(
        "invitations.Invitation",
        on_delete=models.PROTECT,
        related_name="grants",
        verbose_name=_("invitation"),
    )
    # The customer the grant pays: on the inviter's side the invitation's inviter, on the
    # friend's side the invited friend (a customer made for their phone when it is granted). The
    # name is older than the friend's side; every owner check and the points read this column.
    inviter = models.ForeignKey(
        "invitations.Customer",
        on_delete=models.PROTECT,
        related_name="grants",
        verbose_name=_("customer"),
    )
    side = models.CharField(
        max_length=8,
        choices=Side.choices,
        default=Side.INVITER,
        db_default=Side.INVITER,
        verbose_name=_("side"),
    )
    # Inviter's side: the inviter's n-th friend to qualify in the campaign (invitations.ladder),
    # decided once under the inviter's lock; a reissue or "grant again" keeps it.
    place = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("friend no."))
    campaign = models.ForeignKey(
        "invitations.Campaign",
        on_delete=models.PROTECT,
        related_name="grants",
        verbose_name=_("campaign"),
    )
    card = models.OneToOneField(
        "cardpool.Card",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grant",
        verbose_name=_("card"),
    )
    # Invariant 17: the terms it was earned on, fixed when it is made; issue, restock fulfilment
    # and reissue pay these, whatever the campaign says by then.
    # None: points only (a friend's reward may be), issued as it is made, no card to wait for
    card_kind = models.ForeignKey(
        "cardpool.CardKind",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grants",
        db_index=False,  # grant_waiting_by_kind serves what reads grants by kind
        verbose_name=_("card kind"),
    )
    face_value = models.DecimalField(max_digits=10, decimal_places=2, verbose_name=_("face value"))
    points = models.PositiveIntegerField(verbose_name=_("points"))
    # the campaign's cap per inviter when it was earned: a cap lowered later does not make it a
    # breach (invariant 5)
    cap = models.PositiveIntegerField(verbose_name=_("cap when earned"))
    status = models.CharField(max_length=16, choices=Status.choices, verbose_name=_("status"))
    origin = models.CharField(max_length=16, choices=Origin.choices, verbose_name=_("origin"))
    hold_reason = models.CharField(max_length=200, blank=True, verbose_name=_("hold reason"))
    created_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("created at")
    )
    issued_at = models.DateTimeField(null=True, blank=True, verbose_name=_("issued at"))
    first_revealed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("first revealed at")
    )
    reminded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When its customer was reminded that the unopened card expires soon."),
        verbose_name=_("reminded at"),
    )
    voided_at = models.DateTimeField(null=True, blank=True, verbose_name=_("voided at"))
    void_reason = models.TextField(blank=True, verbose_name=_("void reason"))
    replaced_by = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaces",
        verbose_name=_("replaced by"),
    )

    objects = GrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("grant")
        verbose_name_plural = _("grants")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Invariant 2: an invitation has at most one live grant; void ones are history
            # (a reissue voids the old grant and links the new one).
            models.UniqueConstraint(
                fields=["invitation", "side"],
                condition=~Q(status="void"),
                name="grant_one_live_per_side",
            ),
            # Invariant 14: a decision a person made is final for the automatic paths. Their
            # grant is the invitation's first and only automatic one, live or void: a sweep that
            # finds the invitation without a live grant after a void cannot grant it again.
            models.UniqueConstraint(
                fields=["invitation", "side"],
                condition=Q(origin="automatic"),
                name="grant_one_automatic_per_side",
            ),
            # The ladder: two friends of one inviter never take one place, live or void (a
            # reissue or "grant again" keeps its place while the old grant is void)
            models.UniqueConstraint(
                fields=["inviter", "campaign", "place"],
                condition=Q(origin="automatic"),
                name="grant_one_automatic_per_place",
            ),
            models.UniqueConstraint(
                fields=["inviter", "campaign", "place"],
                condition=~Q(status="void"),
                name="grant_one_live_per_place",
            ),
            models.CheckConstraint(
                condition=Q(side="inviter") | Q(side="friend", place__isnull=True),
                name="grant_place_on_inviters_side",
            ),
            models.CheckConstraint(
                condition=Q(origin__in=["automatic", "reissue", "granted_again", "repeated"]),
                name="grant_origin_known",
            ),
            models.CheckConstraint(
                condition=~Q(status="issued")
                | Q(issued_at__isnull=False) & (Q(card__isnull=False) | Q(card_kind__isnull=True)),
                name="grant_issued_has_card",
            ),
            # a points-only grant has points, never a card, and never waits for stock (nothing
            # would ever serve it: fulfilment goes by card kind)
            models.CheckConstraint(
                condition=Q(card_kind__isnull=False)
                | Q(card__isnull=True, points__gt=0) & ~Q(status="pending_stock"),
                name="grant_points_only_sound",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["pending_stock", "held"]) | Q(card__isnull=True),
                name="grant_waiting_has_no_card",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at", "id"],
                condition=Q(status="pending_stock"),
                name="grant_pending_stock",
            ),
            models.Index(fields=["inviter", "campaign", "status"], name="grant_inviter_campaign"),
            # restock fulfilment: a kind's waiting grants, oldest first (the terms they were
            # earned on, invariant 17)
            models.Index(
                fields=["card_kind", "created_at", "id"],
                condition=Q(status="pending_stock"),
                name="grant_waiting_by_kind",
            ),
            # the default ordering (admin list): newest first without sorting the table
            models.Index(fields=["-created_at", "-id"], name="grant_newest_first"),
            # a kind's issue rate over the last days (the desk's days of stock left, the stock
            # rules): from the index alone, not the table
            models.Index(
                fields=["card_kind", "created_at"],
                condition=Q(status="issued"),
                name="grant_issued_by_kind",
            ),
            # the customer's "my rewards": one inviter's grants newest first, a page at a time
            models.Index(fields=["inviter", "-created_at", "-id"], name="grant_by_inviter"),
        ]

    def __str__(self) -> str:
        return self.grant_no


class PointsEntry(models.Model):
    """Append-only points ledger. A balance is the sum of a customer's entries."""

    append_only = True  # core.models.append_only_tables

    class Kind(models.TextChoices):
        REWARD = "reward", _("Reward")
        REVERSAL = "reversal", _("Reversal")
        ADJUSTMENT = "adjustment", _("Adjustment")

    customer = models.ForeignKey(
        "invitations.Customer",
        on_delete=models.PROTECT,
        related_name="points_entries",
        verbose_name=_("customer"),
    )
    amount = models.IntegerField(verbose_name=_("amount"))
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    grant = models.ForeignKey(
        Grant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="points_entries",
        verbose_name=_("grant"),
    )
    note = models.CharField(max_length=200, blank=True, verbose_name=_("note"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("points entry")
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("points entries")
        constraints = [
            # Invariant 6: a grant credits (and reverses) its points exactly once.
            models.UniqueConstraint(
                fields=["grant", "kind"],
                condition=Q(grant__isnull=False),
                name="points_once_per_grant_and_kind",
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="points_amount_not_zero"),
            models.CheckConstraint(
                condition=~Q(kind="reward") | Q(amount__gt=0, grant__isnull=False),
                name="points_reward_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind="reversal") | Q(amount__lt=0, grant__isnull=False),
                name="points_reversal_negative",
            ),
        ]
        indexes = [
            # the customer's "my points": newest first, a page at a time, and the balance
            models.Index(
                fields=["customer", "-created_at", "-id"],
                include=["amount"],
                name="points_by_customer",
            ),
            # the staff's ledger (admin list): newest first without sorting the table
            models.Index(fields=["-created_at", "-id"], name="points_newest_first"),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+d} {self.get_kind_display()}"


class GrantEvent(RecordedEvent):
    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        HELD = "held", _("Held")
        ISSUED = "issued", _("Issued")
        RELEASED = "released", _("Released")
        REVEALED = "revealed", _("Revealed")
        REPORTED = "reported", _("Reported")
        VOIDED = "voided", _("Voided")
        REISSUED = "reissued", _("Reissued")
        GRANTED_AGAIN = "granted_again", _("Granted again")
        OVER_BUDGET_GRANTED = "budget_granted", _("Granted by staff after the budget was raised")

    grant = models.ForeignKey(
        Grant, on_delete=models.PROTECT, related_name="events", verbose_name=_("grant")
    )
    action = models.CharField(max_length=16, choices=Action.choices, verbose_name=_("action"))
    card = models.ForeignKey(
        "cardpool.Card",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("card"),
    )

    class Meta(RecordedEvent.Meta):
        verbose_name = _("grant event")
        verbose_name_plural = _("grant events")
        ordering = ["created_at", "id"]  # a grant's story reads from its start

    def __str__(self) -> str:
        return f"{self.grant} {self.get_action_display()}"


class UnrewardedInvitation(models.Model):
    """A qualified invitation that earns no grant, and why (for example over the inviter's cap)."""

    class Reason(models.TextChoices):
        OVER_CAP = "over_cap", _("over the inviter's cap")
        OVER_BUDGET = "over_budget", _("over the campaign's budget")

    invitation = models.OneToOneField(
        "invitations.Invitation",
        on_delete=models.PROTECT,
        related_name="unrewarded",
        verbose_name=_("invitation"),
    )
    reason = models.CharField(max_length=32, choices=Reason.choices, verbose_name=_("reason"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("unrewarded invitation")
        verbose_name_plural = _("unrewarded invitations")

    def __str__(self) -> str:
        return f"{self.invitation} {self.get_reason_display()}"


class CardProblem(models.TextChoices):
    """What a customer can report about a card (the words they choose from)."""

    ACTIVATED = "activated", _("The card was already activated")
    DECLINED = "declined", _("The card is not accepted")
    OTHER = "other", _("Something else")


class AnomalyRule(models.TextChoices):
    """What an anomaly is about. The detection rules are in ``rewards/anomalies/rules.py``;
    ``card_reported`` is raised by the customer's one-click report."""

    # invariants that cannot happen (a database constraint or a lock stands behind each)
    CARD_IN_TWO_GRANTS = "card_in_two_grants", _("card in two grants")
    INVITATION_TWO_LIVE_GRANTS = "invitation_two_live_grants", _("invitation with two live grants")
    INVITER_OVER_CAP = "inviter_over_cap", _("inviter over the campaign's cap")
    LEDGER_MISMATCH = "ledger_mismatch", _("points ledger differs from issued grants")
    ASSIGNED_CARD_WITHOUT_GRANT = "assigned_card_without_grant", _("assigned card without a grant")
    GRANT_CARD_NOT_ASSIGNED = (
        "grant_card_not_assigned",
        _("issued grant whose card is not assigned"),
    )
    ACCOUNT_COUNTED_TWICE = "account_counted_twice", _("account counted twice")
    EXISTING_CUSTOMER_REWARDED = "existing_customer_rewarded", _("existing customer rewarded")
    CARD_SECRET_IN_CLEAR = "card_secret_in_clear", _("card secret not encrypted")
    GRANT_NUMBER_REUSED = "grant_number_reused", _("grant number used twice")
    CARD_CHANGED_WITHOUT_EVENT = (
        "card_changed_without_event",
        _("card status changed without an event"),
    )
    HISTORY_UNPROTECTED = "history_unprotected", _("history tables not protected")
    GRANT_AFTER_VOID = "grant_after_void", _("granted automatically after a person's void")
    # stock
    LOW_STOCK = "low_stock", _("stock under its threshold")
    OUT_OF_STOCK = "out_of_stock", _("out of stock with grants waiting")
    CARDS_EXPIRING = "cards_expiring", _("available cards expiring soon")
    STOCK_DAYS_LEFT = "stock_days_left", _("few days of stock left")
    # fraud signals
    INVITER_QUALIFICATIONS_PER_DAY = "inviter_daily_qualifications", _("inviter qualifying fast")
    GRANT_RATE_SPIKE = "grant_rate_spike", _("grants per hour spiking")
    CHANNEL_BURST = "channel_burst", _("invitees opening together through one channel")
    # pipeline health
    POLLER_STALLED = "poller_stalled", _("poller stalled")
    UPSTREAM_ERROR_RATE = "upstream_error_rate", _("upstream failing")
    PENDING_PAST_WINDOW = "pending_past_window", _("invitations pending past their window")
    GRANTS_WAITING = "grants_waiting", _("grants waiting too long")
    MESSAGES_STUCK = "messages_stuck", _("messages to customers not going out")
    # money: a campaign's budget (``rewards.anomalies.money``)
    BUDGET_NEARLY_SPENT = "budget_nearly_spent", _("campaign budget nearly spent")
    BUDGET_SPENT = "budget_spent", _("campaign budget spent")
    # detection itself: a rule that raised watches nothing until it runs again
    RULE_FAILED = "rule_failed", _("anomaly rule failing")
    # customers
    CARD_REPORTED = "card_reported", _("card reported by its customer")


class Anomaly(models.Model):
    """Something staff must look at. An active (open or acknowledged) anomaly is unique per rule
    and subject: a rule that finds it again counts one more occurrence."""

    class Severity(models.TextChoices):
        INFO = "info", _("Info")
        WARNING = "warning", _("Warning")
        CRITICAL = "critical", _("Critical")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")
        FALSE_POSITIVE = "false_positive", _("false positive")

    ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED)

    kind = models.CharField(_("rule"), max_length=50, choices=AnomalyRule.choices)
    subject = models.CharField(
        max_length=100,
        help_text=_("What it is about, for deduplication."),
        verbose_name=_("subject"),
    )
    severity = models.CharField(max_length=16, choices=Severity.choices, verbose_name=_("severity"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.OPEN, verbose_name=_("status")
    )
    message = models.TextField(verbose_name=_("message"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))
    # the object it is about (card, grant, invitation, customer, campaign or card kind)
    subject_type = models.ForeignKey(
        "contenttypes.ContentType",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("subject type"),
    )
    subject_id = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("subject id"))
    subject_object = GenericForeignKey("subject_type", "subject_id")
    campaign = models.ForeignKey(
        "invitations.Campaign",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="anomalies",
        verbose_name=_("campaign"),
    )
    grant = models.ForeignKey(
        Grant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="anomalies",
        verbose_name=_("grant"),
    )
    occurrences = models.PositiveIntegerField(default=1, verbose_name=_("occurrences"))
    notes = models.TextField(
        blank=True,
        help_text=_("Reviews before events were kept; see events."),
        verbose_name=_("notes"),
    )
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now, verbose_name=_("last seen at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    cleared_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "An anomaly about a state: when a run first found the condition gone. It closes by "
            "itself if the condition stays gone; found again, this is emptied."
        ),
        verbose_name=_("condition cleared at"),
    )
    notified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the reviewers' alert was put on the outbox (e-mailed within a minute: see "
            "Messages)."
        ),
        verbose_name=_("reviewers alerted at"),
    )

    class Meta:
        verbose_name = _("anomaly")
        ordering = ["-updated_at"]
        verbose_name_plural = _("anomalies")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="anomaly_one_active_per_subject",
            ),
            # one open report per card (a grant has one card): a repeat report adds nothing
            models.UniqueConstraint(
                fields=["grant"],
                condition=Q(kind="card_reported", status__in=["open", "acknowledged"]),
                name="anomaly_one_open_report_per_grant",
            ),
        ]
        indexes = [
            models.Index(
                fields=["kind"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="anomaly_active",
            )
        ]

    def __str__(self) -> str:
        return f"[{self.get_severity_display()}] {self.get_kind_display()}: {self.subject}"


class AnomalyEvent(RecordedEvent):
    """Every review of an anomaly (with the reviewer's note) and every change the detection makes
    to it (closed when its condition is gone, its campaign paused)."""

    class Action(models.TextChoices):
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RESOLVED = "resolved", _("Resolved")
        FALSE_POSITIVE = "false_positive", _("false positive")
        CLOSED_AUTOMATICALLY = "closed_automatically", _("closed automatically")
        CAMPAIGN_PAUSED = "campaign_paused", _("campaign paused")

    anomaly = models.ForeignKey(
        Anomaly, on_delete=models.PROTECT, related_name="events", verbose_name=_("anomaly")
    )
    action = models.CharField(max_length=32, choices=Action.choices, verbose_name=_("action"))

    class Meta(RecordedEvent.Meta):
        verbose_name = _("anomaly event")
        verbose_name_plural = _("anomaly events")


class ReconciliationRun(models.Model):
    """One run of ``reconcile``: the counts an operator compares with the books, and every
    breach of an invariant with the ids involved."""

    started_at = models.DateTimeField(
        auto_now_add=True, db_index=True, verbose_name=_("started at")
    )
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    is_ok = models.BooleanField(
        default=False, help_text=_("No invariant broken."), verbose_name=_("is ok")
    )
    breaches = models.PositiveIntegerField(default=0, verbose_name=_("breaches"))
    report = models.JSONField(default=dict, verbose_name=_("report"))
    actor_label = models.CharField(max_length=100, blank=True, verbose_name=_("actor label"))

    class Meta:
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        outcome = gettext("all invariants hold") if self.is_ok else gettext("breach")
        return gettext("reconciliation %(at)s: %(outcome)s") % {
            "at": f"{timezone.localtime(self.started_at):%Y-%m-%d %H:%M}",
            "outcome": outcome,
        }
