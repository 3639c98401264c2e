from django.contrib import admin

from cardpool.exceptions import CardPoolError
from referral_site.admin_tools import ReadOnlyAdmin, with_reason

from .models import Campaign, CampaignEvent, Customer, Invitation, PollCycle
from .services.campaigns import set_campaign_paused


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "invite_code", "is_flagged_for_review", "created_at"]
    list_filter = ["is_flagged_for_review"]
    search_fields = ["=phone", "=invite_code"]
    fields = ["user", "phone", "invite_code", "is_flagged_for_review", "created_at"]
    readonly_fields = ["user", "phone", "invite_code", "created_at"]

    def has_add_permission(self, request):
        return False  # customers sign up themselves (register_customer)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "starts_at",
        "ends_at",
        "card_kind",
        "points",
        "max_rewards_per_inviter",
        "is_paused",
    ]
    list_filter = ["is_paused", "card_kind"]
    readonly_fields = ["is_paused"]
    actions = ["pause", "resume"]

    def has_delete_permission(self, request, obj=None):
        return False

    def _set_paused(self, request, queryset, *, is_paused: bool, action: str, title: str):
        return with_reason(
            self,
            request,
            queryset,
            title=title,
            action=action,
            apply=lambda campaign, reason: set_campaign_paused(
                campaign, is_paused=is_paused, reason=reason, actor=request.user
            ),
            refusals=(CardPoolError,),
            permission="invitations.change_campaign",
        )

    @admin.action(description="Pause selected campaigns (new grants are held; asks for a reason)")
    def pause(self, request, queryset):
        return self._set_paused(
            request, queryset, is_paused=True, action="pause", title="Pause campaigns"
        )

    @admin.action(description="Resume selected campaigns (asks for a reason)")
    def resume(self, request, queryset):
        return self._set_paused(
            request, queryset, is_paused=False, action="resume", title="Resume campaigns"
        )


@admin.register(CampaignEvent)
class CampaignEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "campaign", "action", "actor", "actor_label", "reason"]
    list_filter = ["action", "campaign"]
    list_select_related = ["campaign", "actor"]


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


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "__str__",
        "inviter",
        "campaign",
        "channel",
        "status",
        "account_channel",
        "invited_at",
        "attempts",
        "next_check_at",
        "last_error_short",
    ]
    list_filter = ["status", UpstreamErrorFilter, "channel", "account_channel", "campaign"]
    list_select_related = ["inviter", "campaign"]
    search_fields = ["=invitee_phone", "=external_account_id", "=inviter__phone"]
    show_full_result_count = False

    @admin.display(description="last upstream error")
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
        "expired",
        "errors",
        "released",
    ]
    show_full_result_count = False
