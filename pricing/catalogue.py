"""Pricing's figures in the metric catalogue (core.catalogue; docs/metrics.md, "Pricing").

Organization-wide: they refuse filters rather than answer an unfiltered number.
"""

from __future__ import annotations

from core.catalogue import (
    Metric,
    MetricFilters,
    Value,
    metric_change,
    metric_get,
    metric_register,
    metric_value,
)
from core.metrics import percent
from core.timeranges import Window
from crm.models import Organization
from pricing import selectors

METRICS = (
    ("pricing.quotesDecided", "Decided quotes", "count", "neutral", "Pricing"),
    ("pricing.quoteWinRate", "Quote win rate", "percent", "higher_is_better", "Pricing"),
)


def _no_filters(filters: MetricFilters) -> None:
    if filters != MetricFilters():
        raise ValueError("Pricing figures are organization-wide: they take no filter.")


def quotes_decided(organization: Organization, window: Window, filters: MetricFilters) -> Value:
    _no_filters(filters)
    return selectors.quote_outcomes(organization, window)[0]


def quote_win_rate(organization: Organization, window: Window, filters: MetricFilters) -> Value:
    _no_filters(filters)
    decided, won = selectors.quote_outcomes(organization, window)
    return percent(won, decided)


COMPUTE = {"pricing.quotesDecided": quotes_decided, "pricing.quoteWinRate": quote_win_rate}


def register() -> None:
    for name, label, unit, direction, definition in METRICS:
        metric_register(
            Metric(
                name=name,
                label=label,
                unit=unit,
                direction=direction,
                definition=definition,
                compute=COMPUTE[name],
            )
        )


def figures(organization: Organization, window: Window) -> list[tuple[Metric, Value, float | None]]:
    """Each pricing figure over `window`, unrounded, with its change against the window
    before: what the pricing page and the report's pricing section show."""
    out = []
    for name, *_ in METRICS:
        metric = metric_get(name)
        current = metric_value(name, organization=organization, window=window)
        previous = metric_value(name, organization=organization, window=window.previous())
        out.append((metric, current, metric_change(metric, current, previous)))
    return out
