from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from cardpool.exceptions import CardPoolError
from core.admin_tools import (
    PrivateSearchMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    StrictListMixin,
    actor_shown,
    reason_action,
    shown_phone,
    shown_user,
)
from core.privacy import FULL_PHONE_PERMISSION

from . import yield_plan
from .exceptions import InvitationRefused, UnknownInviter
from .forms import AttributionForm
from .models import (
    Campaign,
    CampaignEvent,
    Customer,
    CustomerEvent,
    Invitation,
    InvitationEvent,
    PollCycle,
    PollPlan,
)
from .phones import phone_or_none
from .services.campaigns import set_campaign_flagged, set_campaign_paused, set_customer_flagged
from .services.invitations import attribute_invitation


def switch_action(code: str, description, service, permission: str, **switch):
    """Turn a switch (``set_campaign_paused`` and the like) with a reason."""
    return reason_action(
        code,
        format_lazy("{} {}", description, _("(asks for a reason)")),
        title=description,
        service=service,
        permission=permission,
        refusals=(CardPoolError,),
        **switch,
    )


@admin.register(Customer)
class CustomerAdmin(PrivateSearchMixin, admin.ModelAdmin):
    list_display = ["__str__", "invite_code", "is_flagged_for_review", "created_at"]
    list_filter = ["is_flagged_for_review"]
    search_fields = ["=phone", "=invite_code"]
    search_label = _("Exact phone number or invite code.")
    normalize_search = staticmethod(phone_or_none)
    fields = ["phone_shown", "invite_code", "is_flagged_for_review", "created_at"]
    readonly_fields = fields  # the flag changes through the actions, with a reason

    @admin.display(description=_("phone"))
    def phone_shown(self, customer: Customer) -> str:
        return shown_phone(customer.phone)

    actions = [
        switch_action(
            "flag",
            _("Flag for review (new grants held)"),
            set_customer_flagged,
            "invitations.change_customer",
            is_flagged=True,
        ),
        switch_action(
            "unflag",
            _("Remove the review flag"),
            set_customer_flagged,
            "invitations.change_customer",
            is_flagged=False,
        ),
    ]

    def has_add_permission(self, request):
        return False  # customers sign up themselves (register_customer)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(StrictListMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "starts_at",
        "ends_at",
        "card_kind",
        "points",
        "max_rewards_per_inviter",
        "is_paused",
        "is_flagged_for_review",
    ]
    list_filter = ["is_paused", "is_flagged_for_review", "card_kind"]
    readonly_fields = ["is_paused", "is_flagged_for_review"]  # through the actions
    actions = [
        switch_action(
            "pause",
            _("Pause campaigns (new grants held)"),
            set_campaign_paused,
            "invitations.change_campaign",
            is_paused=True,
        ),
        switch_action(
            "resume",
            _("Resume campaigns"),
            set_campaign_paused,
            "invitations.change_campaign",
            is_paused=False,
        ),
        switch_action(
            "flag",
            _("Flag campaigns for review (new grants held)"),
            set_campaign_flagged,
            "invitations.change_campaign",
            is_flagged=True,
        ),
        switch_action(
            "unflag",
            _("Remove the campaigns' review flag"),
            set_campaign_flagged,
            "invitations.change_campaign",
            is_flagged=False,
        ),
    ]

    def has_delete_permission(self, request, obj=None):
        return False


class EventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", actor_shown, "actor_label", "reason"]
    list_filter = ["action"]


@admin.register(CampaignEvent)
class CampaignEventAdmin(EventAdmin):
    list_display = ["created_at", "campaign", *EventAdmin.list_display[1:], "changes"]
    list_select_related = ["campaign", "actor"]

    @admin.display(description=_("changes"))
    def changes(self, event: CampaignEvent) -> str:
        return event.changes_shown


@admin.register(InvitationEvent)
class InvitationEventAdmin(EventAdmin):
    list_display = ["created_at", "invitation", *EventAdmin.list_display[1:]]
    list_select_related = ["invitation", "actor"]


@admin.register(CustomerEvent)
class CustomerEventAdmin(EventAdmin):
    list_display = ["created_at", "customer", *EventAdmin.list_display[1:]]
    list_select_related = ["customer", "actor"]


class UpstreamErrorFilter(admin.SimpleListFilter):
    """Pending invitations the upstream keeps failing on: they are never expired by an error,
    so staff must be able to find them."""

    title = "upstream error"
    parameter_name = "upstream_error"

    def lookups(self, request, model_admin):
        return [("yes", "last check failed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=Invitation.Status.PENDING).exclude(last_error="")
        return queryset


class AwaitingDepositFilter(admin.SimpleListFilter):
    """Friends who opened an account for a campaign that counts them only on a first deposit,
    and whose deposit has not arrived yet (pending, the account recorded)."""

    title = _("first deposit")
    parameter_name = "awaiting_deposit"

    def lookups(self, request, model_admin):
        return [("yes", _("opened, awaiting a first deposit"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            pending = queryset.filter(status=Invitation.Status.PENDING)
            return pending.filter(account_opened_at__isnull=False)
        return queryset


class InvitationEventInline(ReadOnlyInline):
    model = InvitationEvent
    fields = ["created_at", "action", actor_shown, "actor_label", "reason", "details"]
    readonly_fields = fields


@admin.register(Invitation)
class InvitationAdmin(PrivateSearchMixin, ReadOnlyAdmin):
    list_display = [
        "id",
        "__str__",
        "inviter",
        "campaign",
        "channel",
        "status_shown",
        "account_channel",
        "invited_at",
        "attempts",
        "next_check_at",
        "last_error_short",
    ]
    list_filter = [
        "status",
        AwaitingDepositFilter,
        UpstreamErrorFilter,
        "channel",
        "account_channel",
        "campaign",
    ]
    list_select_related = ["inviter", "campaign"]
    search_fields = ["=invitee_phone", "=external_account_id", "=inviter__phone"]
    search_label = _("Exact phone number (invitee or inviter) or account id.")
    normalize_search = staticmethod(phone_or_none)
    show_full_result_count = False
    inlines = [InvitationEventInline]

    def get_fields(self, request, obj=None):
        # the invitee's number as this member of staff may see it, in place of the raw field
        fields = [
            name if name != "invitee_phone" else "invitee_phone_shown"
            for name in super().get_fields(request, obj)
        ]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "invitee_phone_shown"]

    @admin.display(description=_("status"), ordering="status")
    def status_shown(self, invitation: Invitation) -> str:
        if invitation.status == Invitation.Status.PENDING and invitation.account_opened_at:
            return _("opened, awaiting a first deposit")
        return invitation.get_status_display()

    @admin.display(description=_("invitee phone"))
    def invitee_phone_shown(self, invitation: Invitation) -> str:
        return shown_phone(invitation.invitee_phone)

    def get_urls(self):
        custom = [
            path(
                "attribute/",
                self.admin_site.admin_view(self.attribute_view),
                name="invitations_invitation_attribute",
            )
        ]
        return custom + super().get_urls()

    def attribute_view(self, request):
        """Attach a sign-up whose link to its inviter was lost (then the normal checks)."""
        if not request.user.has_perm("invitations.add_invitation"):
            raise PermissionDenied
        form = AttributionForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                inviter = Customer.objects.filter(phone=data["inviter_phone"]).first()
                if inviter is None:
                    raise UnknownInviter(data["inviter_phone"])
                invitation = attribute_invitation(
                    inviter,
                    data["invitee_phone"],
                    campaign=data["campaign"],
                    signed_up_at=data["signed_up_at"],
                    reason=data["reason"],
                    actor=request.user,
                )
            except (InvitationRefused, CardPoolError) as refused:
                form.add_error(None, str(refused))  # the input stays in the form
            else:
                messages.success(
                    request,
                    _("%(invitation)s attributed; the next poll checks it.")
                    % {"invitation": invitation},
                )
                return redirect("admin:invitations_invitation_change", invitation.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Attribute a lost sign-up to its inviter"),
            "form": form,
        }
        return TemplateResponse(request, "admin/invitations/attribute.html", context)

    @admin.display(description=_("last upstream error"))
    def last_error_short(self, invitation: Invitation) -> str:
        error = invitation.last_error
        return error if len(error) <= 80 else error[:79] + "…"


@admin.register(PollCycle)
class PollCycleAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "finished_at",
        "worker",
        "claimed",
        "qualified",
        "not_yet_opened",
        "ineligible",
        "rejected",
        "expired",
        "errors",
        "released",
    ]
    show_full_result_count = False


def _age(minutes: int) -> str:
    if minutes < 60:
        return _("%(count)d min") % {"count": minutes}
    if minutes < 1440:
        return _("%(count)d h") % {"count": minutes // 60}
    return _("%(count)d d") % {"count": minutes // 1440}


def _wait(seconds: int) -> str:
    return _age(max(1, round(seconds / 60))) if seconds < 86400 else _age(seconds // 60)


@admin.register(PollPlan)
class PollPlanAdmin(ReadOnlyAdmin):
    """How often the poller looks each campaign's pending invitations up, by their age: learned
    from the campaign's openings every POLL_PLAN_MINUTES, nothing to change by hand. A campaign
    that wants a first deposit has a second plan for the opened accounts waiting for it, by the
    account's age, learned from the first deposits."""

    list_display = [
        "campaign",
        "stage",
        "made_at",
        "openings_seen",
        "youngest_wait",
        "oldest_wait",
    ]
    list_filter = ["stage"]
    fields = ["campaign", "stage", "made_at", "openings_seen", "by_age"]
    readonly_fields = fields

    @admin.display(description=_("wait while under 10 minutes old"))
    def youngest_wait(self, plan) -> str:
        return _wait(plan.waits[0])

    @admin.display(description=_("longest wait"))
    def oldest_wait(self, plan) -> str:
        return _wait(max(plan.waits))

    @admin.display(description=_("by age"))
    def by_age(self, plan):
        edges = yield_plan.AGE_EDGES_MINUTES
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    _age(edge) if index else "0",
                    plan.pending[index],
                    f"{plan.hazards[index] * 100:.2f}",
                    _wait(plan.waits[index]),
                )
                for index, edge in enumerate(edges[: len(plan.waits)])
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("age from"),
            _("pending"),
            _("openings a day per 100 pending")
            if plan.stage == PollPlan.Stage.OPENING
            else _("first deposits a day per 100 waiting"),
            _("looked up every"),
            rows,
        )


class PrivateUserAdmin(PrivateSearchMixin, UserAdmin):
    """Customers log in with their phone: the users list shows user names as phones, masked
    for staff without the permission to see them, and is searched without the number in a URL."""

    list_display = ["username_shown", "email", "is_staff", "is_active", "last_login"]
    # A user name is found whole (a customer's is their phone: part of one would narrow it down
    # digit by digit), with an equality its unique index serves; names and e-mails in part.
    search_fields = ["username__exact", "first_name", "last_name", "email"]
    search_label = _("Exact user name (a customer's is their phone number), or name or e-mail.")
    normalize_search = staticmethod(phone_or_none)
    ordering = ["-pk"]  # newest first; never by user name, which masked phones would give away

    @admin.display(description=_("username"))
    def username_shown(self, user) -> str:
        return shown_user(user)

    row_label = username_shown  # the checkbox's label would name the user by their phone

    def _hides_username(self, request, user) -> bool:
        return (
            user is not None
            and shown_user(user) != user.get_username()
            and not request.user.has_perm(FULL_PHONE_PERMISSION)
        )

    def get_fieldsets(self, request, obj=None):
        # A customer's user name is their phone: staff who may not see phones get it masked
        # and read-only on the user's page too.
        fieldsets = super().get_fieldsets(request, obj)
        if not self._hides_username(request, obj):
            return fieldsets
        return [
            (
                name,
                {
                    **options,
                    "fields": [
                        "username_shown" if field == "username" else field
                        for field in options["fields"]
                    ],
                },
            )
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "username_shown"] if self._hides_username(request, obj) else readonly

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if self._hides_username(request, obj):  # the title and breadcrumbs name the user too
            context["subtitle"] = shown_user(obj)
            context["original"] = _ShownAs(obj, shown_user(obj))
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def user_change_password(self, request, id, form_url=""):
        return self._masked(request, super().user_change_password(request, id, form_url))

    def history_view(self, request, object_id, extra_context=None):
        return self._masked(request, super().history_view(request, object_id, extra_context))

    def _masked(self, request, response):
        """The user's password and history pages, naming the user as this staff may see it."""
        context = getattr(response, "context_data", None) or {}
        user = context.get("original") or context.get("object")
        if isinstance(user, get_user_model()) and self._hides_username(request, user):
            shown = shown_user(user)
            for key in ("original", "object"):
                if key in context:
                    context[key] = _ShownAs(user, shown)
            context["title"] = str(context.get("title", "")).replace(user.get_username(), shown)
        return response


class _ShownAs:
    """An object that prints as ``shown`` (a masked phone) and is otherwise the object."""

    def __init__(self, obj, shown: str):
        self._obj, self._shown = obj, shown

    def __getattr__(self, name):
        return getattr(self._obj, name)

    def __str__(self) -> str:
        return self._shown

    def get_username(self) -> str:
        return self._shown


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), PrivateUserAdmin)
