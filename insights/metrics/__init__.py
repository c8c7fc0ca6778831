"""Pure arithmetic of the manager overview (DESIGN section 6, docs/metrics.md, "Manager overview").

- Percentages are 0-100 with one decimal; a rate or mean over nothing is None, never 0.
  Money keeps two decimals. Rounding (half up, core.metrics.round_half_up) happens once,
  here, at the edge.
- Trends (DESIGN section 4) come from core.metrics.trend_percent on the unrounded values; a
  rate's change is core.metrics.trend_points (percentage points).
- Percent, rounding, trends and the currency rule are core.metrics' (docs/metrics.md,
  "Shared rules"); `one_decimal` and `money` below only name the two edges it rounds to.

Inputs are the additive totals of insights.selectors (dicts of measure -> number, where an
absent measure is 0). No ORM, no request, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from core.metrics import Number, decimal, percent, ratio, round_half_up, trend_percent


def one_decimal(value: Number | None) -> float | None:
    """A percentage, a mean or a number of days as shown: one decimal, half up."""
    return round_half_up(value, 1)


def money(value: Number | None) -> float | None:
    """An amount as shown: two decimals, half up."""
    return round_half_up(value, 2)


# `exact=True` on the blocks below: the same figures unrounded (Decimals), so that changes
# between two periods are computed on unrounded values (DESIGN section 4), then rounded once.


def _one(value: Number | None, exact: bool) -> float | Decimal | None:
    return (None if value is None else decimal(value)) if exact else one_decimal(value)


def _money(value: Number | None, exact: bool) -> float | Decimal | None:
    return (None if value is None else decimal(value)) if exact else money(value)


def _rate(part: Number, whole: Number, exact: bool) -> float | Decimal | None:
    return _one(percent(part, whole), exact)


def calls_block(t: Mapping[str, Number], *, exact: bool = False) -> dict:
    total, seconds = t.get("calls", 0), t.get("duration_seconds_sum", 0)
    mean_seconds = ratio(seconds, t.get("duration_count", 0))
    minutes = decimal(seconds) / 60
    return {
        "total": total,
        "successful": t.get("successful", 0),
        "successRate": _rate(t.get("successful", 0), total, exact),
        # over the calls that have a duration; minutes
        "averageDuration": None if mean_seconds is None else _one(mean_seconds / 60, exact),
        "totalMinutes": minutes if exact else int(round_half_up(minutes, 0)),
    }


def leads_block(t: Mapping[str, Number], *, pipeline_value: Number, exact: bool = False) -> dict:
    created = t.get("created", 0)
    score = ratio(t.get("score_sum", 0), t.get("score_count", 0))
    return {
        "total": created,
        "qualified": t.get("qualified", 0),
        "conversionRate": _rate(t.get("converted", 0), created, exact),
        "averageScore": _one(score, exact),
        "pipelineValue": _money(pipeline_value, exact),
    }


def revenue_block(
    t: Mapping[str, Number], *, recurring_last_30d: Number, previous_total: Number, exact: bool = False
) -> dict:
    total = t.get("amount_sum", 0)
    deal = ratio(total, t.get("count", 0))
    return {
        "total": _money(total, exact),
        "deals": t.get("count", 0),
        "averageDealSize": _money(deal, exact),
        "monthlyRecurring": _money(recurring_last_30d, exact),
        "growthRate": trend_percent(current=total, previous=previous_total),
    }


@dataclass(frozen=True)
class CampaignInput:
    external_id: str
    name: str
    counts: Mapping[str, int]
    spend: Decimal
    attributed_revenue: Decimal
    leads: int


def funnel_rates(counts: Mapping[str, int], *, exact: bool = False) -> dict:
    sent, delivered = counts.get("sent", 0), counts.get("delivered", 0)
    return {
        "sent": sent,
        "delivered": delivered,
        "read": counts.get("read", 0),
        "replied": counts.get("replied", 0),
        "deliveredRate": _rate(delivered, sent, exact),
        "readRate": _rate(counts.get("read", 0), delivered, exact),
        "replyRate": _rate(counts.get("replied", 0), delivered, exact),
    }


def roi_percent(*, revenue: Number, spend: Number, exact: bool = False) -> float | Decimal | None:
    """(attributed revenue - spend) / spend x 100; None without spend."""
    value = ratio(decimal(revenue) - decimal(spend), spend)
    return _one(None if value is None else value * 100, exact)


def campaign_row(c: CampaignInput) -> dict:
    return {
        "id": c.external_id,
        "name": c.name,
        **funnel_rates(c.counts),
        "spend": money(c.spend),
        "attributedRevenue": money(c.attributed_revenue),
        "roi": roi_percent(revenue=c.attributed_revenue, spend=c.spend),
        "leads": c.leads,
        "costPerLead": money(ratio(c.spend, c.leads)),
    }


def campaigns_block(campaigns: list[CampaignInput], *, distinct_leads: int, exact: bool = False) -> dict:
    """Totals over the campaigns listed (those with messages sent or revenue attributed in
    W); a lead touched by several of them counts once in the total cost per lead."""
    counts = {m: sum(c.counts.get(m, 0) for c in campaigns) for m in ("sent", "delivered", "read", "replied")}
    spend = sum((c.spend for c in campaigns), Decimal(0))
    revenue = sum((c.attributed_revenue for c in campaigns), Decimal(0))
    funnel = funnel_rates(counts, exact=exact)
    ordered = sorted(campaigns, key=lambda c: (-c.counts.get("sent", 0), c.name, c.external_id))
    return {
        "active": sum(1 for c in campaigns if c.counts.get("sent", 0)),
        **funnel,
        "responseRate": funnel["replyRate"],
        "totalSpend": _money(spend, exact),
        "attributedRevenue": _money(revenue, exact),
        "roi": roi_percent(revenue=revenue, spend=spend, exact=exact),
        "costPerLead": _money(ratio(spend, distinct_leads), exact),
        "campaigns": [] if exact else [campaign_row(c) for c in ordered],
    }


# The number each metric's trend and comparison is about (unrounded, from the totals).
HEADLINES = {
    "calls": ("calls", "calls"),
    "leads": ("leads", "created"),
    "revenue": ("sales", "amount_sum"),
    "campaigns": ("campaigns", "sent"),
}
