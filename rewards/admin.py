from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Case, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cardpool.exceptions import CardPoolError
from cardpool.models import CardKind
from core.admin_tools import (
    PrivateSearchMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ReasonForm,
    actor_shown,
    reason_action,
)
from invitations.phones import phone_or_none

from . import hold_reasons
from .admin_batches import CardBatchFilter
from .exceptions import RewardError
from .models import (
    Anomaly,
    AnomalyEvent,
    AnomalyRule,
    Grant,
    GrantEvent,
    PointsEntry,
    ReconciliationRun,
    UnrewardedInvitation,
)
from .selectors import unopened_cards
from .services import (
    grant_again,
    reissue_grant,
    reject_hold,
    release_hold,
    replace_in_kind,
    void_grant,
)
from .services.anomalies import review_anomaly
from .services.staff import grant_over_budget


class AnomalyEventInline(ReadOnlyInline):
    model = AnomalyEvent
    fields = ["created_at", "action", actor_shown, "actor_label", "reason"]
    readonly_fields = fields


class GrantEventInline(ReadOnlyInline):
    model = GrantEvent
    fields = ["created_at", "action", actor_shown, "actor_label", "reason", "card"]
    readonly_fields = fields


class KindAndReasonForm(ReasonForm):
    card_kind = forms.ModelChoiceField(
        queryset=CardKind.objects.filter(is_active=True),
        label=_("Card kind to pay in"),
        help_text=_(
            "The reward is paid at this kind's face value; the difference is recorded with your "
            "reason."
        ),
    )


class UnopenedCardFilter(admin.SimpleListFilter):
    """Issued cards their customers never opened, expiring soon or expired: staff act before
    (a reminder) or after (a reissue, with a reason)."""

    title = _("card not opened")
    parameter_name = "unopened"

    def lookups(self, request, model_admin):
        return [
            ("expiring", _("expiring soon")),
            ("expired", _("expired")),
        ]

    def queryset(self, request, queryset):
        if self.value() not in ("expiring", "expired"):
            return queryset
        chosen = unopened_cards(timezone.now(), expired=self.value() == "expired")
        return queryset.filter(pk__in=chosen.values("pk"))


@admin.register(Grant)
class GrantAdmin(PrivateSearchMixin, ReadOnlyAdmin):
    list_display = [
        "grant_no",
        "inviter",
        "side",
        "campaign",
        "status",
        "held_because",
        "card",
        "points",
        "created_at",
        "issued_at",
        "first_revealed_at",
    ]
    list_filter = [
        "status",
        "side",
        "origin",
        UnopenedCardFilter,
        "campaign",
        "created_at",
        CardBatchFilter,
    ]
    list_select_related = ["inviter", "campaign", "card__kind"]
    search_fields = ["=grant_no", "=inviter__phone"]
    search_label = _("Exact grant number or the phone number of the customer it pays.")
    normalize_search = staticmethod(phone_or_none)
    readonly_fields = [
        "grant_no",
        "invitation",
        "inviter",
        "side",
        "place",
        "campaign",
        "card",
        "points",
        "status",
        "origin",
        "held_because",
        "created_at",
        "issued_at",
        "first_revealed_at",
        "voided_at",
        "void_reason",
        "replaced_by",
    ]
    fields = readonly_fields
    inlines = [GrantEventInline]

    @admin.display(description=_("hold reason"), ordering="hold_reason")
    def held_because(self, grant) -> str:
        return hold_reasons.shown(grant.hold_reason)

    actions = [
        reason_action(
            code,
            description,
            title=title,
            service=service,
            permission="rewards.change_grant",
            refusals=(RewardError, CardPoolError),
        )
        for code, description, title, service in [
            (
                "void_selected",
                _("Void selected grants (reverses points, voids the card)"),
                _("Void grants"),
                void_grant,
            ),
            (
                "reissue_selected",
                _("Reissue selected grants with a new card"),
                _("Reissue grants"),
                reissue_grant,
            ),
            (
                "release_selected",
                _("Release selected held grants"),
                _("Release held grants"),
                release_hold,
            ),
            (
                "reject_selected",
                _("Reject selected held grants (voids them)"),
                _("Reject held grants"),
                reject_hold,
            ),
            (
                "grant_again_selected",
                _("Grant selected void grants again (a new grant on the same terms)"),
                _("Grant again"),
                grant_again,
            ),
        ]
    ] + [
        reason_action(
            "replace_in_kind_selected",
            _("Replace selected grants in another card kind (asks for the kind and a reason)"),
            title=_("Replace in another card kind"),
            service=replace_in_kind,
            permission="rewards.change_grant",
            refusals=(RewardError, CardPoolError),
            form_class=KindAndReasonForm,
        )
    ]
    show_full_result_count = False


@admin.register(PointsEntry)
class PointsEntryAdmin(PrivateSearchMixin, ReadOnlyAdmin):
    list_display = ["created_at", "customer", "amount", "kind", "grant", "note"]
    list_filter = ["kind"]
    list_select_related = ["customer", "grant"]
    search_fields = ["=customer__phone", "=grant__grant_no"]
    search_label = _("Exact phone number or grant number.")
    normalize_search = staticmethod(phone_or_none)
    show_full_result_count = False


@admin.register(GrantEvent)
class GrantEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "grant", "action", actor_shown, "actor_label", "reason"]
    list_filter = ["action"]
    list_select_related = ["grant", "actor"]
    search_fields = ["=grant__grant_no"]
    show_full_result_count = False


@admin.register(UnrewardedInvitation)
class UnrewardedInvitationAdmin(ReadOnlyAdmin):
    """Qualified invitations that earned nothing, and why. Those over a campaign's budget are
    granted from here once the budget was raised."""

    list_display = ["invitation", "reason", "created_at"]
    list_filter = ["reason"]
    list_select_related = ["invitation"]
    actions = [
        reason_action(
            "grant_over_budget",
            _("Grant the selected ones, now that the budget was raised (asks for a reason)"),
            title=_("Grant over the budget"),
            service=grant_over_budget,
            permission="rewards.change_unrewardedinvitation",
            refusals=(RewardError,),
        )
    ]


class AnomalyQueueFilter(admin.SimpleListFilter):
    """The review queue by default: open and acknowledged anomalies."""

    title = _("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("active", _("open or acknowledged (default)")),
            ("closed", _("closed")),
            ("all", _("all")),
        ]

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or "active") == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "active"
        if value == "active":
            return queryset.filter(status__in=Anomaly.ACTIVE)
        if value == "closed":
            return queryset.exclude(status__in=Anomaly.ACTIVE)
        return queryset


SEVERITY_RANK = Case(
    When(severity=Anomaly.Severity.CRITICAL, then=Value(0)),
    When(severity=Anomaly.Severity.WARNING, then=Value(1)),
    default=Value(2),
)


@admin.register(Anomaly)
class AnomalyAdmin(ReadOnlyAdmin):
    list_display = [
        "severity",
        "kind",
        "about",
        "status",
        "occurrences",
        "created_at",
        "last_seen_at",
        "cleared_at",
        "message",
    ]
    list_filter = [AnomalyQueueFilter, "severity", "kind", "status", "campaign"]
    list_select_related = ["subject_type"]
    search_fields = ["subject", "message"]
    readonly_fields = [
        "kind",
        "severity",
        "status",
        "about",
        "next_step",
        "message",
        "details",
        "campaign",
        "grant",
        "occurrences",
        "created_at",
        "last_seen_at",
        "cleared_at",
        "closed_at",
        "notified_at",
        "notes",
    ]
    fields = readonly_fields
    inlines = [AnomalyEventInline]
    show_full_result_count = False

    def get_queryset(self, request):
        # most severe first, then most recent
        return (
            super()
            .get_queryset(request)
            .prefetch_related("subject_object")  # one query per kind of subject, not per row
            .order_by(SEVERITY_RANK, "-last_seen_at", "-pk")
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        review_actions = [
            ("acknowledge", _("Acknowledge")),
            ("resolve", _("Resolve")),
            ("false_positive", _("False positive")),
        ]
        return super().change_view(
            request,
            object_id,
            form_url,
            {**(extra_context or {}), "review_actions": review_actions},
        )

    @admin.display(description=_("next step"))
    def next_step(self, anomaly: Anomaly):
        """What a reviewer usually does about it, with a link to where it is done."""
        if anomaly.cleared_at and anomaly.status in Anomaly.ACTIVE:
            closes = anomaly.cleared_at + timedelta(minutes=settings.ANOMALY_CLEARED_CLOSE_MINUTES)
            return _(
                "The condition cleared at %(at)s: nothing to do unless it comes back. This closes "
                "by itself at %(closes)s if it stays cleared."
            ) % {
                "at": timezone.localtime(anomaly.cleared_at).strftime("%Y-%m-%d %H:%M"),
                "closes": timezone.localtime(closes).strftime("%Y-%m-%d %H:%M"),
            }
        if anomaly.kind == AnomalyRule.CARD_REPORTED and anomaly.grant_id:
            url = reverse("admin:rewards_grant_changelist") + f"?q={anomaly.grant.grant_no}"
            return format_html(
                _(
                    'If the card is unusable, <a href="{}">open grant {}</a>, select it and '
                    "choose “Reissue selected grants with a new card” (the old card is voided, "
                    "the points stay balanced)."
                ),
                url,
                anomaly.grant.grant_no,
            )
        if anomaly.kind in (AnomalyRule.OUT_OF_STOCK, AnomalyRule.LOW_STOCK):
            url = reverse("admin:cardpool_cardbatch_import")
            return format_html(_('<a href="{}">Import a card batch</a> of this kind.'), url)
        if anomaly.campaign_id and anomaly.campaign.is_paused:
            url = reverse("admin:rewards_grant_changelist") + "?status__exact=held"
            return format_html(
                _(
                    "Granting is paused for this campaign. Check the finding, then resume the "
                    'campaign and <a href="{}">release or reject the held grants</a>.'
                ),
                url,
            )
        return _("Check the finding; resolve it with a note, or mark it a false positive.")

    @admin.display(description=_("about"))
    def about(self, anomaly: Anomaly):
        """A link to the object the anomaly is about, when there is one."""
        subject = anomaly.subject_object
        if subject is None:
            return anomaly.subject
        opts = subject._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[subject.pk])
        return format_html('<a href="{}">{}: {}</a>', url, opts.verbose_name, subject)

    actions = [
        reason_action(
            code,
            description,
            title=title,
            service=review_anomaly,
            permission="rewards.change_anomaly",
            argument="note",
            status=status,
        )
        for code, description, title, status in [
            (
                "acknowledge",
                _("Acknowledge (with a note)"),
                _("Acknowledge anomalies"),
                Anomaly.Status.ACKNOWLEDGED,
            ),
            (
                "resolve",
                _("Resolve (with a note)"),
                _("Resolve anomalies"),
                Anomaly.Status.RESOLVED,
            ),
            (
                "false_positive",
                _("Mark as false positive (with a note)"),
                _("Dismiss anomalies"),
                Anomaly.Status.FALSE_POSITIVE,
            ),
        ]
    ]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "is_ok", "breaches", "actor_label"]
    list_filter = ["is_ok"]
    readonly_fields = ["started_at", "finished_at", "is_ok", "breaches", "actor_label", "report"]
    fields = readonly_fields


@admin.register(AnomalyEvent)
class AnomalyEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "anomaly", "action", actor_shown, "actor_label", "reason"]
    list_filter = ["action"]
    list_select_related = ["anomaly", "actor"]
    show_full_result_count = False


# The campaign's and card kinds' pages count grants, which the apps below do not know.
from . import admin_terms  # noqa: E402, F401
