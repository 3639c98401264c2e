"""The admin pages where the terms of a reward are set: campaigns (their terms change on the
record) and card kinds (switched off and on with a reason). They count grants, which the apps
below do not know, so they are registered here, over those apps' own classes."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from cardpool.admin import CardKindAdmin
from cardpool.exceptions import KIND_SWITCHED_OFF, CardPoolError
from cardpool.models import CardKind
from cardpool.selectors import card_kinds_with_stock
from core.admin_tools import reason_action, shown_user
from invitations import ladder
from invitations.admin import CampaignAdmin
from invitations.models import Campaign, CampaignEvent
from invitations.services.campaigns import change_campaign

from .exceptions import RewardError
from .models import Grant
from .selectors import inviters_above_cap
from .services.card_kinds import campaigns_paying, switch_kind


class LadderField(forms.CharField):
    """A campaign's ladder as staff write it, a step a line (``invitations.ladder``)."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "3 JD50 500"})

    def prepare_value(self, value):
        if isinstance(value, list):
            return ladder.as_text(value, dict(CardKind.objects.values_list("pk", "code")))
        return value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        kinds = {kind.code.upper(): kind for kind in CardKind.objects.all()}
        try:
            return ladder.parse(super().to_python(value), kinds)
        except ladder.LadderError as error:
            raise ValidationError(str(error), code="ladder") from None

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (initial or [])
        except ValidationError:
            return True


class CampaignForm(forms.ModelForm):
    """A campaign's form. Before saving it says how many inviters already hold more than a
    lowered cap (their grants stay valid: each keeps the cap in force when it was earned), and
    whether the chosen card kind has no card to hand out; it refuses a kind that is switched off,
    and a change of a started campaign's terms without a reason."""

    confirm_lower_cap = forms.BooleanField(
        required=False,
        label=_("Lower the cap all the same"),
        help_text=_("Asked only when inviters already hold more rewards than the new cap."),
    )
    confirm_kind_without_stock = forms.BooleanField(
        required=False,
        label=_("Use this card kind all the same"),
        help_text=_("Asked only when the card kind has no card that can be handed out."),
    )
    terms_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Why the terms change"),
        help_text=_(
            "Required when the terms of a campaign that has started change: recorded with the old "
            "and new values. Rewards already earned keep their terms."
        ),
    )

    ladder = LadderField(
        required=False,
        label=_("Ladder"),
        help_text=_(
            "Other terms for an inviter's later friends, one step a line: from which friend on, "
            "the card kind's code, the points. “3 JD50 500” pays the 3rd friend to qualify, and "
            "every later one up to the next step, a JD50 card and 500 points; friends before the "
            "first step earn the card kind and points above. Empty: every friend the same."
        ),
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
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
            "rules",
        ]

    def _kept_seconds(self, name: str):
        """The widget shows a time to the minute: a time sent back as shown keeps its seconds,
        so saving an untouched form changes nothing."""
        value, old = self.cleaned_data.get(name), self.initial.get(name)
        if value and old and value == old.replace(second=0, microsecond=0):
            return old
        return value

    def clean_starts_at(self):
        return self._kept_seconds("starts_at")

    def clean_ends_at(self):
        return self._kept_seconds("ends_at")

    def changed_fields(self) -> list[str]:
        """The model's fields whose value differs from what the campaign had."""
        return [
            name
            for name in CampaignForm.Meta.fields  # the admin's subclass lists its extra fields too
            if name in self.cleaned_data
            and getattr(self.cleaned_data[name], "pk", self.cleaned_data[name])
            != self.initial.get(name)
        ]

    def clean(self):
        data = super().clean()
        self._check_cap(data)
        self._check_kind(data)
        self._check_friend(data)
        self._check_reason(data)
        return data

    def _check_friend(self, data) -> None:
        kind = data.get("friend_card_kind")
        if kind is not None and kind.pk != self.instance.friend_card_kind_id and not kind.is_active:
            self.add_error("friend_card_kind", KIND_SWITCHED_OFF.format(kind=kind.code))

    def _check_cap(self, data) -> None:
        cap = data.get("max_rewards_per_inviter")
        lowered = self.instance.pk and cap is not None
        lowered = lowered and cap < self.instance.max_rewards_per_inviter
        if lowered and not data.get("confirm_lower_cap"):
            above = inviters_above_cap(self.instance, cap)
            if above:
                raise ValidationError(
                    _(
                        "%(count)s inviters already hold more than %(cap)s rewards in this "
                        "campaign. Their rewards stay valid (the cap applies to rewards earned "
                        "after the change); they earn no more until they are under it. Tick "
                        "“Lower the cap all the same” to save."
                    ),
                    params={"count": above, "cap": cap},
                )

    def _check_kind(self, data) -> None:
        kind = data.get("card_kind")
        if kind is None or kind.pk == self.instance.card_kind_id:
            return
        if not kind.is_active:
            self.add_error("card_kind", KIND_SWITCHED_OFF.format(kind=kind.code))
            return
        stock = card_kinds_with_stock().get(pk=kind.pk).allocatable_count
        if not stock and not data.get("confirm_kind_without_stock"):
            self.add_error(
                "card_kind",
                _(
                    "Card kind %(kind)s has no card that can be handed out now: rewards earned "
                    "under it will wait until a batch is imported. Tick “Use this card kind all "
                    "the same” to save."
                )
                % {"kind": kind.code},
            )

    def _check_reason(self, data) -> None:
        started = self.instance.pk and self.instance.starts_at <= timezone.now()
        terms = set(self.changed_fields()) & set(Campaign.TERMS)
        if started and terms and not data.get("terms_reason", "").strip():
            self.add_error(
                "terms_reason",
                _(
                    "This campaign has started: say why its terms change. The old and new values "
                    "are recorded with your reason."
                ),
            )


admin.site.unregister(Campaign)


@admin.register(Campaign)
class CampaignWithTermsAdmin(CampaignAdmin):
    form = CampaignForm
    readonly_fields = [*CampaignAdmin.readonly_fields, "rewards_paid", "terms_history"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            return
        change_campaign(
            obj,
            values={name: form.cleaned_data[name] for name in form.changed_fields()},
            reason=form.cleaned_data["terms_reason"],
            actor=request.user,
        )

    @admin.display(description=_("rewards by side and terms"))
    def rewards_paid(self, campaign: Campaign):
        """The live rewards, by side and by the terms they were earned on (the ladder's
        steps show as their card kinds and points): one statement."""
        if campaign.pk is None:
            return "—"
        rows = (
            Grant.objects.live()
            .filter(campaign=campaign)
            .values_list("side", "card_kind__code", "points")
            .annotate(n=Count("pk"), first=Min("place"), last=Max("place"))
            .order_by("-side", "first", "card_kind__code", "points")
        )
        if not rows:
            return _("None yet.")
        sides = dict(Grant.Side.choices)

        def terms(side, code, points, first, last) -> str:
            shown = f"{sides[side]} · {code} + {points}" if code else f"{sides[side]} · {points}"
            if first is None:
                return shown
            places = _("friends no. %(first)s–%(last)s") % {"first": first, "last": last}
            return f"{shown} · {places}"

        return format_html_join(
            "",
            "<p>{}: <strong>{}</strong></p>",
            (
                (terms(side, code, points, first, last), n)
                for side, code, points, n, first, last in rows
            ),
        )

    @admin.display(description=_("changes of terms"))
    def terms_history(self, campaign: Campaign):
        if campaign.pk is None:
            return "—"
        events = CampaignEvent.objects.filter(
            campaign=campaign, action=CampaignEvent.Action.TERMS_CHANGED
        ).select_related("actor")[:10]
        if not events:
            return _("None: every reward was earned on the terms shown.")
        return format_html_join(
            "", "<p>{}</p>", ((self._terms_change(campaign, event),) for event in events)
        )

    def _terms_change(self, campaign: Campaign, event: CampaignEvent):
        earlier = Grant.objects.live().filter(campaign=campaign, created_at__lt=event.created_at)
        waiting = earlier.filter(status__in=[Grant.Status.PENDING_STOCK, Grant.Status.HELD])
        when = timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S")
        return format_html(
            "<strong>{}</strong> · {} · {}<br>{}<br>{}",
            when,
            shown_user(event.actor) if event.actor else event.actor_label,
            event.reason,
            event.changes_shown,
            _(
                "Effect: rewards earned from %(when)s on are paid on the new terms; the "
                "%(earlier)s rewards earned before keep theirs (%(waiting)s of them still "
                "waiting for a card or a review)."
            )
            % {"when": when, "earlier": earlier.count(), "waiting": waiting.count()},
        )


admin.site.unregister(CardKind)


@admin.register(CardKind)
class CardKindSwitchedAdmin(CardKindAdmin):
    def has_delete_permission(self, request, obj=None):
        """A kind a campaign pays in (its ladder names kinds by id, with no foreign key to
        protect them) is never deleted; nor several at once, unchecked."""
        if obj is None or campaigns_paying(obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    actions = [
        reason_action(
            code,
            description,
            title=title,
            service=switch_kind,
            permission="cardpool.change_cardkind",
            refusals=(RewardError, CardPoolError),
            is_active=is_active,
        )
        for code, description, title, is_active in [
            (
                "switch_off",
                _("Switch off: no card handed out, no batch imported (asks for a reason)"),
                _("Switch card kinds off"),
                False,
            ),
            ("switch_on", _("Switch on (asks for a reason)"), _("Switch card kinds on"), True),
        ]
    ]
