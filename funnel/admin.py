import csv

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_tools import ReadOnlyAdmin
from invitations.models import Campaign

from . import charts
from .models import FunnelSummary
from .selectors import funnel_of

STEP_LABELS = {
    "visits": _("link visits"),
    "verified": _("phones verified"),
    "opened": _("accounts opened"),
    "funded": _("accounts funded"),
    "rewarded": _("inviters rewarded"),
}
TABLES = ("steps", "days", "ladder")


@admin.register(FunnelSummary)
class FunnelAdmin(ReadOnlyAdmin):
    """The campaigns' funnels, as the cluster last counted them; each opens its page of charts
    (every chart's numbers as CSV)."""

    list_display = [
        "campaign",
        "refreshed_at",
        "grants",
        "friends_rewarded",
        "held_for_fraud",
        "spent",
        "stock",
        "charts",
    ]
    list_select_related = ["campaign"]

    @admin.display(description=_("funnel"))
    def charts(self, summary: FunnelSummary):
        url = reverse("admin:funnel_campaign", args=[summary.campaign_id])
        return format_html('<a href="{}">{}</a>', url, _("charts"))

    def get_urls(self):
        view = self.admin_site.admin_view(self.funnel_view)
        return [
            path("campaign/<int:campaign_id>/", view, name="funnel_campaign"),
            *super().get_urls(),
        ]

    def funnel_view(self, request, campaign_id: int):
        if not self.has_view_permission(request):
            raise Http404
        funnel = funnel_of(get_object_or_404(Campaign, pk=campaign_id))
        table = request.GET.get("csv")
        if table is not None:
            if table not in TABLES:
                raise Http404
            return self._csv(funnel, table)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Funnel: %(campaign)s") % {"campaign": funnel.campaign},
            "opts": self.model._meta,
            "funnel": funnel,
            "rates": [(STEP_LABELS[step], n, share) for step, n, share in funnel.rates()],
            "funnel_chart": charts.funnel(
                [(str(STEP_LABELS[step]), n, share) for step, n, share in funnel.rates()],
                str(_("The funnel: each step's count and its share of the step before")),
            ),
            "days_chart": charts.lines(
                [day.day for day in funnel.days],
                [
                    (str(STEP_LABELS[step]), [getattr(day, step) for day in funnel.days])
                    for step in funnel.steps
                ],
                str(_("Each step by day")),
            ),
            "ladder_chart": charts.bars(
                self._ladder_rows(funnel), str(_("The inviters' rewards by ladder step"))
            ),
        }
        return TemplateResponse(request, "admin/funnel/campaign.html", context)

    @staticmethod
    def _ladder_rows(funnel) -> list[tuple[str, int]]:
        rows = funnel.summary.ladder if funnel.summary else []
        return [(str(_("from no. %(n)s") % {"n": start}), count) for start, count in rows]

    def _csv(self, funnel, table: str) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"funnel-{funnel.campaign.pk}-{table}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response.write("\ufeff")  # Excel opens UTF-8 with its byte-order mark
        out = csv.writer(response)
        if table == "steps":
            out.writerow([_("step"), _("count"), _("share of the step before (%)")])
            for step, n, share in funnel.rates():
                out.writerow([STEP_LABELS[step], n, "" if share is None else f"{share:.1f}"])
        elif table == "days":
            out.writerow([_("day"), *(STEP_LABELS[s] for s in funnel.steps), _("cost (yuan)")])
            for day in funnel.days:
                out.writerow(
                    [day.day.isoformat(), *(getattr(day, s) for s in funnel.steps), day.cost]
                )
        else:
            out.writerow([_("from friend no."), _("rewards")])
            for start, count in funnel.summary.ladder if funnel.summary else []:
                out.writerow([start, count])
        return response
