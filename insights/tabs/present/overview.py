"""How the Overview tab shows its figures (docs/metrics.md, "Overview tab"): the payload, the
charts, the page context and the CSV tables."""

from __future__ import annotations

from collections.abc import Mapping

from core.catalogue import metric_get, shown
from core.display import UNIT_SUFFIXES
from insights.models import GoalMetric
from insights.tabs import CsvTable, DashboardQuery, records_url
from insights.tabs.compute.overview import COMPARISON_ROWS, TODAY_FIGURES, OverviewTab
from insights.tabs.present import metric_card, percent_text
from reports.charts import FunnelChart, Point, ValueFormat

# The KPI cards: payload block -> its headline catalogue metric.
CARDS = {
    "calls": "calls.total",
    "leads": "leads.total",
    "revenue": "revenue.total",
    "campaigns": "campaigns.sent",
}


def payload(tab: OverviewTab) -> dict:
    """The JSON-able payload: the overview answer, the comparison rows, today's figures
    (rounded once by their catalogue units) and the goals."""
    today = {}
    for key, (_spec, _measure, name) in TODAY_FIGURES.items():
        metric = metric_get(name)
        today[key] = {
            "today": shown(metric, tab.today.current[key]),
            "sameTimeYesterday": shown(metric, tab.today.previous[key]),
            "trend": tab.today.changes[key],
        }
    return {
        **tab.answer,
        "comparisonRows": comparison_rows(tab.answer["comparisons"], tab.comparison_changes),
        "today": today,
        "goals": tab.goals,
    }


def comparison_rows(comparisons: dict, changes: Mapping[str, float | None]) -> list[dict]:
    """The comparison table: the answer's rounded values, each row's change (computed on the
    unrounded ones, compute.overview.comparison_changes) in its catalogue trend unit."""
    rows = []
    for name in COMPARISON_ROWS:
        entry = metric_get(name)
        metric, field = name.split(".")
        current = comparisons[metric]["current"].get(field)
        previous = comparisons[metric]["previous"].get(field)
        change, unit = changes[name], entry.trend_unit
        rows.append(
            {
                "metric": metric,
                "field": field,
                "label": entry.label,
                "format": entry.display_format,
                "current": current,
                "previous": previous,
                "change": change,
                "changeUnit": unit,
            }
        )
    return rows


# --- display --------------------------------------------------------------------------------


def charts(payload: dict, query: DashboardQuery) -> dict:
    leads, campaigns = payload["data"]["leads"], payload["data"]["campaigns"]
    return {
        "campaign_funnel": FunnelChart(
            "Campaign messages",
            (
                Point("Sent", campaigns["sent"]),
                Point("Delivered", campaigns["delivered"]),
                Point("Read", campaigns["read"]),
                Point("Replied", campaigns["replied"]),
            ),
            ValueFormat("integer"),
        ),
        "lead_funnel": FunnelChart(
            "Leads created in the period",
            (
                Point("Created", leads["total"], href=records_url("leads", query)),
                Point("Qualified", leads["qualified"], href=records_url("leads", query, stage="interested")),
            ),
            ValueFormat("integer"),
        ),
    }


def page_context(payload: dict, query: DashboardQuery) -> dict:
    data, currency = payload["data"], query.organization.currency
    money = ValueFormat.money(currency)
    hrefs = {
        "calls": records_url("calls", query),
        "leads": records_url("leads", query),
        "revenue": records_url("sales", query),
        "campaigns": None,
    }
    notes = {
        "calls": f"{percent_text(data['calls']['successRate'])} successful",
        "leads": f"{percent_text(data['leads']['conversionRate'])} converted",
        "revenue": f"{data['revenue']['deals']} deals",
        "campaigns": f"{data['campaigns']['active']} active campaigns",
    }
    cards = [
        metric_card(
            name,
            currency=currency,
            value=data[key][name.split(".")[1]],
            change=payload["trends"][key],
            key=key,
            href=hrefs[key],
            note=notes[key],
        )
        for key, name in CARDS.items()
    ]
    # today, sameTimeYesterday as in the payload; label, format and the trend shown from the catalogue
    today = [
        {
            **payload["today"][key],
            **metric_card(
                name,
                currency=currency,
                value=payload["today"][key]["today"],
                change=payload["today"][key]["trend"],
                key=key,
            ),
        }
        for key, (_spec, _measure, name) in TODAY_FIGURES.items()
    ]
    return {"cards": cards, "today": today, "money_format": money, "goal_metrics": GoalMetric.choices}


def csv_tables(payload: dict) -> dict[str, CsvTable]:
    comparison = CsvTable(
        "Current vs previous period",
        ("metric", "current", "previous", "change", "change unit"),
        tuple(
            (r["label"], r["current"], r["previous"], r["change"], UNIT_SUFFIXES[r["changeUnit"]].strip())
            for r in payload["comparisonRows"]
        ),
    )
    today = CsvTable(
        "Today so far",
        ("figure", "today", "same time yesterday", "change %"),
        tuple(
            (metric_get(TODAY_FIGURES[k][2]).label, v["today"], v["sameTimeYesterday"], v["trend"])
            for k, v in payload["today"].items()
        ),
    )
    goals = CsvTable(
        f"Goals {payload['goals']['month']}",
        ("goal", "target", "actual", "completion %", "expected by now", "on track"),
        tuple(
            (g["label"], g["target"], g["actual"], g["completion"], g["expectedByNow"], g["onTrack"])
            for g in payload["goals"]["items"]
        ),
    )
    return {"comparison": comparison, "today": today, "goals": goals}
