"""What the staff's funnel page shows of one campaign: the cluster's counts (two statements),
and the figures made from them."""

from dataclasses import dataclass, field
from decimal import Decimal

from invitations.models import Campaign

from .models import FunnelDay, FunnelSummary
from .services import STEPS


@dataclass
class Funnel:
    campaign: Campaign
    summary: FunnelSummary | None
    days: list[FunnelDay]
    totals: dict = field(default_factory=dict)

    @property
    def cost(self) -> Decimal:
        return sum((day.cost for day in self.days), Decimal(0))

    @property
    def cost_per_opened(self) -> Decimal | None:
        opened = self.totals.get("opened", 0)
        return (self.cost / opened).quantize(Decimal("0.01")) if opened else None

    @property
    def budget_left(self) -> Decimal | None:
        if self.campaign.budget is None or self.summary is None:
            return None
        return self.campaign.budget - self.summary.spent

    @property
    def held_share(self) -> float | None:
        if not self.summary or not self.summary.grants:
            return None
        return 100 * self.summary.held_for_fraud / self.summary.grants

    @property
    def steps(self) -> list[str]:
        """The steps this campaign has: "funded" only where it asks for a first deposit (the
        deposit is recorded for those campaigns only)."""
        if self.campaign.min_deposit is None:
            return [step for step in STEPS if step != "funded"]
        return list(STEPS)

    def rates(self) -> list[tuple[str, int, float | None]]:
        """Each step's total and its share of the step before (None for the first)."""
        result, before = [], None
        for step in self.steps:
            value = self.totals[step]
            result.append((step, value, 100 * value / before if before else None))
            before = value
        return result


def funnel_of(campaign: Campaign) -> Funnel:
    days = list(FunnelDay.objects.filter(campaign=campaign).order_by("day"))
    summary = FunnelSummary.objects.filter(campaign=campaign).first()
    totals = {step: sum(getattr(day, step) for day in days) for step in STEPS}
    return Funnel(campaign, summary, days, totals)
