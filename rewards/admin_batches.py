"""A card batch's page where a batch must be withdrawn (imported under the wrong kind, or
recalled by the supplier): its available cards voided with a reason, and the rewards that
already hold its cards listed for review. Registered here, over cardpool's class, because it
counts grants."""

from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from cardpool.admin import CardBatchAdmin
from cardpool.models import Card, CardBatch
from cardpool.services import void_available_cards
from core.admin_tools import with_reason

from .models import Grant


class CardBatchFilter(admin.SimpleListFilter):
    """The grants holding a batch's cards (``?batch=N``), linked from the batch's page; shown
    only while in use, so the sidebar does not list every batch."""

    title = _("card batch")
    parameter_name = "batch"

    def lookups(self, request, model_admin):
        value = request.GET.get(self.parameter_name, "")
        return [(value, f"#{value}")] if value.isascii() and value.isdigit() else []

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isascii() and value.isdigit():
            return queryset.filter(card__batch_id=int(value))
        return queryset


def grants_holding(batch: CardBatch):
    return Grant.objects.live().filter(card__batch=batch)


def _grants_link(batch: CardBatch, count: int):
    url = reverse("admin:rewards_grant_changelist") + "?" + urlencode({"batch": batch.pk})
    return format_html('<a href="{}">{}</a>', url, count)


admin.site.unregister(CardBatch)


@admin.register(CardBatch)
class CardBatchWithGrantsAdmin(CardBatchAdmin):
    readonly_fields = ["cards_by_status", "rewards_holding_its_cards"]

    @admin.display(description=_("cards by status"))
    def cards_by_status(self, batch: CardBatch) -> str:
        counts = batch.cards.order_by().values_list("status").annotate(n=Count("pk"))
        shown = (f"{Card.Status(status).label}: {n}" for status, n in sorted(counts))
        return " · ".join(shown) or "—"

    @admin.display(description=_("rewards holding its cards"))
    def rewards_holding_its_cards(self, batch: CardBatch):
        return _grants_link(batch, grants_holding(batch).count())

    @admin.action(description=_("Withdraw the batch: void its available cards (asks for a reason)"))
    def withdraw(self, request, queryset):
        withdrawn = []

        def apply(batch, reason):
            withdrawn.append(
                (batch, void_available_cards(batch, reason=reason, actor=request.user))
            )

        response = with_reason(
            self,
            request,
            queryset,
            title=_("Withdraw card batches"),
            action="withdraw",
            apply=apply,
            refusals=(),
            permission="cardpool.change_cardbatch",
        )
        for batch, voided in withdrawn:
            holding = grants_holding(batch).count()
            self.message_user(
                request,
                format_html(
                    _(
                        "Batch #{batch}: {voided} available cards voided. {holding} rewards "
                        "already hold cards of this batch: review them."
                    ),
                    batch=batch.pk,
                    voided=voided,
                    holding=_grants_link(batch, holding),
                ),
                messages.WARNING if holding else messages.SUCCESS,
            )
        return response

    actions = ["withdraw"]
