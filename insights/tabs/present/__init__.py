"""How each dashboard tab shows what `insights.tabs.compute` found: the JSON payload (the API
answers it as is), the chart specs, the page context of its template and its CSV tables.
One module per tab (`insights.tabs.present.<tab>`); nothing here reads the database.

Numbers are rounded in one place and written as text in one place:
- a catalogue figure (a KPI tile) is rounded once by its unit with `core.catalogue.shown`
  (`shown_figures`), and its tile takes its label, value format and trend unit from the
  catalogue (`metric_card`);
- every number becomes text through `reports.charts.format_value` (the `formatted` template
  filter, chart tooltips, notes): "KES 1,234.50", "12.3%", "1,204".
"""

from __future__ import annotations

from collections.abc import Mapping

from core.catalogue import Metric, Value, metric_get, shown
from core.display import Trend
from core.display import trend as display_trend
from insights.tabs import DashboardQuery
from insights.tabs.compute import KpiComparison
from reports.charts import ValueFormat, format_value

# "No leads created {period}", "No calls {period}": the range in words, for empty states.
PERIODS = {
    "24h": "in the last 24 hours",
    "7d": "in the last 7 days",
    "30d": "in the last 30 days",
    "90d": "in the last 90 days",
    "1y": "in the last year",
}


def period_text(query: DashboardQuery) -> str:
    """The query's range in words ("in the last 7 days", "from 2026-01-01 to 2026-01-31")."""
    if query.range_name == "custom" and query.custom_start and query.custom_end:
        return f"from {query.custom_start.isoformat()} to {query.custom_end.isoformat()}"
    return PERIODS.get(query.range_name, "in this period")


def shown_figures(figures: Mapping[str, Value], names: Mapping[str, str]) -> dict:
    """`figures` as every surface shows them: a field named in `names` (field -> catalogue
    name) rounded once by its metric's unit; any other field must be a plain count."""
    out = {}
    for key, value in figures.items():
        if key in names:
            out[key] = shown(metric_get(names[key]), value)
        elif value is None or isinstance(value, int):
            out[key] = value
        else:
            raise TypeError(f"{key!r} is {value!r}: give it a catalogue metric, so it is rounded by its unit")
    return out


def shown_comparison(kpis: KpiComparison, names: Mapping[str, str]) -> dict:
    """A KPI comparison as the payload's `kpis` block: both windows shown, and the changes."""
    return {
        "current": shown_figures(kpis.current, names),
        "previous": shown_figures(kpis.previous, names),
        "changes": dict(kpis.changes),
    }


def value_format(metric: Metric, currency: str) -> ValueFormat:
    """How the metric's value is written (reports.charts.format_value)."""
    if metric.display_format == "money":
        return ValueFormat.money(currency)
    return ValueFormat(metric.display_format)


def percent_text(value: float | None) -> str:
    """A percentage (0-100) as text, "12.3%" or "—"."""
    return format_value(value, ValueFormat("percent"))


def count_text(value: int | None) -> str:
    """A count as text, "1,204" or "—"."""
    return format_value(value, ValueFormat("integer"))


def metric_trend(name: str, change: float | None) -> Trend:
    """A change of catalogue metric `name` as shown: in its trend unit (points for a rate),
    green when it is good news by its direction."""
    metric = metric_get(name)
    return display_trend(change, unit=metric.trend_unit, lower_is_better=metric.lower_is_better)


def metric_card(
    name: str,
    *,
    currency: str,
    value: float | int | None,
    previous: float | int | None = None,
    change: float | None = None,
    with_trend: bool = True,
    **extra: object,
) -> dict:
    """A KPI tile of catalogue metric `name`: its label and value format from the catalogue,
    its change shown in the metric's trend unit (points for a rate) and coloured by its
    direction. `extra` (key, href, note, ...) is passed to the template as is."""
    metric = metric_get(name)
    card = {
        "metric": name,
        "label": metric.label,
        "value": value,
        "previous": previous,
        "format": value_format(metric, currency),
        "trend": metric_trend(name, change) if with_trend else None,
    }
    return {**card, **extra}


def csv_label(name: str, *, with_change: bool = True) -> str:
    """A catalogue figure's first cell in a CSV: its label; a rate says that it is a percentage
    and, when its change is in the row, that the change is in points."""
    metric = metric_get(name)
    if metric.unit != "percent":
        return metric.label
    return f"{metric.label} % (trend in points)" if with_change else f"{metric.label} %"
