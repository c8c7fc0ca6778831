"""How the Leads tab shows its figures (docs/metrics.md, "Leads tab"): the payload, the
charts, the page context and the CSV tables. Every count links to the leads (or sales)
behind it."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from insights.metrics import leads as calc
from insights.tabs import CsvTable, DashboardQuery, range_payload, records_url
from insights.tabs.compute.leads import LeadsTab
from insights.tabs.present import (
    csv_label,
    metric_card,
    percent_text,
    period_text,
    shown_comparison,
)
from reports.charts import BarChart, FunnelChart, HeatmapChart, Point, Series, ValueFormat

# The source charts draw the biggest sources; the table lists them all.
TOP_SOURCES = 10
HEAT_LEVELS = 5
HORIZON_LABELS = {7: "1 week", 14: "2 weeks", 28: "4 weeks", 56: "8 weeks"}
# The KPI tiles, in order: payload field -> catalogue metric (insights/catalogue.py).
KPI_METRICS = {
    "total": "leads.total",
    "qualified": "leads.qualified",
    "conversionRate": "leads.conversionRate",
    "averageScore": "leads.averageScore",
    "pipelineValue": "leads.pipelineValue",
}


def payload(tab: LeadsTab, query: DashboardQuery) -> dict:
    """The JSON-able payload: the KPI figures rounded once by their catalogue units."""
    return {
        "range": range_payload(query),
        "kpis": shown_comparison(tab.kpis, KPI_METRICS),
        "funnel": {"stages": tab.funnel, "lost": tab.lost},
        "scores": tab.scores,
        "sources": tab.sources,
        "sourceTotals": tab.source_totals,
        "velocity": tab.velocity,
        "cohorts": {"horizons": list(tab.horizons), "weeks": tab.cohort_weeks},
    }


# --- links --------------------------------------------------------------------------------


def stage_href(query: DashboardQuery, stage: str) -> str:
    return records_url("leads", query, stage=None if stage == "created" else stage)


def score_href(query: DashboardQuery, bucket: dict) -> str:
    if bucket["min"] is None:
        return records_url("leads", query, noScore="1")
    return records_url("leads", query, scoreMin=bucket["min"], scoreMax=bucket["max"])


def source_href(query: DashboardQuery, row: dict, **extra: object) -> str | None:
    """The row's leads; none for "(none)" (an empty filter value means every source) and
    the all-sources row keeps the view's own source filter."""
    if row["source"] == calc.NONE_SOURCE:
        return None
    if row.get("total"):
        return records_url("leads", query, **extra)
    return records_url("leads", query, source=row["source"], **extra)


def revenue_href(query: DashboardQuery, row: dict) -> str | None:
    """The sales behind a source's revenue: of its leads created in W, closed at any time."""
    if row["source"] == calc.NONE_SOURCE:
        return None
    if row.get("total"):
        return records_url("sales", query, leadCreated="1")
    return records_url("sales", query, source=row["source"], leadCreated="1")


def velocity_href(query: DashboardQuery, row: dict) -> str:
    reached = ",".join(stage for stage in (row["from"], row["to"]) if stage != "created")
    return records_url("leads", query, reached=reached)


def cohort_href(query: DashboardQuery, week: dict) -> str:
    return records_url("leads", query, cohortWeek=week["week"])


def cell_href(query: DashboardQuery, week: dict, cell: dict) -> str | None:
    """The converted leads of a mature cell; none for an immature or empty one."""
    if not cell["mature"] or not cell["converted"]:
        return None
    return records_url("leads", query, cohortWeek=week["week"], convertedWithinDays=cell["days"])


# --- display --------------------------------------------------------------------------------


def _top_sources(payload: dict) -> list[dict]:
    return payload["sources"][:TOP_SOURCES]


def charts(payload: dict, query: DashboardQuery) -> dict:
    integer, pct = ValueFormat("integer"), ValueFormat("percent")
    stages = payload["funnel"]["stages"]
    sources = _top_sources(payload)
    weeks = payload["cohorts"]["weeks"]
    return {
        "funnel": FunnelChart(
            "Lead funnel",
            tuple(
                Point(
                    s["label"],
                    s["leads"],
                    href=stage_href(query, s["stage"]),
                    tooltip=f"{percent_text(s['rateFromCreated'])} of the leads created",
                )
                for s in stages
            ),
            integer,
        ),
        "scores": BarChart(
            "Lead score distribution",
            (
                Series(
                    "Leads",
                    tuple(
                        Point(
                            b["label"],
                            b["leads"],
                            href=score_href(query, b),
                            tooltip=f"{b['converted']} converted ({percent_text(b['conversionRate'])})",
                        )
                        for b in payload["scores"]
                    ),
                ),
            ),
            integer,
            category_label="Score",
            value_label="Leads",
        ),
        "source_leads": BarChart(
            "Leads by source",
            (
                Series(
                    "Leads",
                    tuple(Point(r["source"], r["leads"], href=source_href(query, r)) for r in sources),
                ),
            ),
            integer,
            horizontal=True,
            category_label="Source",
            value_label="Leads",
        ),
        "source_conversion": BarChart(
            "Conversion rate by source",
            (
                Series(
                    "Conversion rate",
                    tuple(
                        Point(
                            r["source"],
                            r["conversionRate"],
                            href=source_href(query, r, stage="converted"),
                            tooltip=f"{r['converted']} of {r['leads']} leads converted",
                        )
                        for r in sources
                    ),
                ),
            ),
            pct,
            horizontal=True,
            category_label="Source",
            value_label="Conversion rate",
        ),
        "velocity": BarChart(
            "Median days per stage",
            (
                Series(
                    "Median days",
                    tuple(
                        Point(
                            v["label"],
                            v["medianDays"],
                            href=velocity_href(query, v),
                            tooltip=f"over {v['leads']} leads",
                        )
                        for v in payload["velocity"]
                    ),
                ),
            ),
            ValueFormat("number"),
            horizontal=True,
            category_label="Stage",
            value_label="Days",
        ),
        "cohorts": HeatmapChart(
            "Share converted by weeks after creation",
            tuple(HORIZON_LABELS.get(d, f"{d} days") for d in payload["cohorts"]["horizons"]),
            tuple(w["label"] for w in weeks),
            [[c["share"] for c in w["cells"]] for w in weeks],
            pct,
            hrefs=[[cell_href(query, w, c) for c in w["cells"]] for w in weeks],
            x_label="Converted within",
            y_label="Week created",
        ),
    }


def _heat_level(share: float | None) -> int | None:
    """The colour band of a cohort cell: 0 for 0%, then 1..HEAT_LEVELS by equal steps to 100%."""
    if share is None:
        return None
    if share <= 0:
        return 0
    steps = (Decimal(str(share)) * HEAT_LEVELS / 100).to_integral_value(rounding=ROUND_CEILING)
    return min(HEAT_LEVELS, int(steps))


def _bar(value: float | int | None, largest: float | int) -> float:
    return 0.0 if not value or not largest or value < 0 else float(value) / float(largest) * 100


def page_context(payload: dict, query: DashboardQuery) -> dict:
    current, previous, changes = (payload["kpis"][k] for k in ("current", "previous", "changes"))
    money = ValueFormat.money(payload["range"]["currency"])
    stages = {s["stage"]: s for s in payload["funnel"]["stages"]}
    unscored = payload["scores"][-1]["leads"]
    notes = {
        "total": f"{payload['funnel']['lost']} of them lost",
        "qualified": "reached the interested stage",
        "conversionRate": f"{stages['converted']['leads']} of {current['total']} converted",
        "averageScore": f"over {current['total'] - unscored} scored leads",
        "pipelineValue": "estimated value of the leads open at the end of the period, whenever created",
    }
    hrefs = {
        "total": stage_href(query, "created"),
        "qualified": stage_href(query, "interested"),
        "conversionRate": stage_href(query, "converted"),
        "averageScore": records_url("leads", query, scoreMin=0),
        "pipelineValue": None,
    }
    cards = [
        metric_card(
            name,
            currency=payload["range"]["currency"],
            value=current[key],
            previous=previous[key],
            change=changes[key],
            key=key,
            href=hrefs[key],
            note=notes[key],
        )
        for key, name in KPI_METRICS.items()
    ]
    funnel_rows = [{**s, "href": stage_href(query, s["stage"])} for s in payload["funnel"]["stages"]]
    score_rows = [
        {
            **b,
            "href": score_href(query, b),
            "converted_href": records_url(
                "leads",
                query,
                stage="converted",
                **({"noScore": "1"} if b["min"] is None else {"scoreMin": b["min"], "scoreMax": b["max"]}),
            ),
        }
        for b in payload["scores"]
    ]
    most_leads = max((r["leads"] for r in payload["sources"]), default=0)
    most_revenue = max((r["revenue"] for r in payload["sources"]), default=0)
    source_rows = [
        {
            **r,
            "href": source_href(query, r),
            "converted_href": source_href(query, r, stage="converted"),
            "revenue_href": revenue_href(query, r) if r["sales"] else None,
            "leads_bar": _bar(r["leads"], most_leads),
            "revenue_bar": _bar(r["revenue"], most_revenue),
        }
        for r in payload["sources"]
    ]
    totals = {**payload["sourceTotals"], "total": True}
    totals.update(
        href=source_href(query, totals),
        converted_href=source_href(query, totals, stage="converted"),
        revenue_href=revenue_href(query, totals) if totals["sales"] else None,
    )
    velocity_rows = [{**v, "href": velocity_href(query, v)} for v in payload["velocity"]]
    cohort_rows = [
        {
            **w,
            "href": cohort_href(query, w) if w["leads"] else None,
            "cells": [
                {**c, "href": cell_href(query, w, c), "level": _heat_level(c["share"])} for c in w["cells"]
            ],
        }
        for w in payload["cohorts"]["weeks"]
    ]
    return {
        "cards": cards,
        "funnel_rows": funnel_rows,
        "lost_href": stage_href(query, "lost"),
        "score_rows": score_rows,
        "source_rows": source_rows,
        "source_total": totals,
        "velocity_rows": velocity_rows,
        "cohort_rows": cohort_rows,
        "horizon_labels": [HORIZON_LABELS.get(d, f"{d} days") for d in payload["cohorts"]["horizons"]],
        "money_format": money,
        "period_text": period_text(query),
        "filtered": bool(query.filter_params),
        "more_sources": max(0, len(payload["sources"]) - TOP_SOURCES),
        "top_sources": TOP_SOURCES,
        "has_velocity": any(v["leads"] for v in payload["velocity"]),
    }


def csv_tables(payload: dict) -> dict[str, CsvTable]:
    current, previous, changes = (payload["kpis"][k] for k in ("current", "previous", "changes"))
    source_header = (
        "source",
        "leads",
        "converted",
        "conversion rate %",
        "revenue",
        "sales",
        "average days to convert",
    )

    def source_cells(r: dict) -> tuple:
        return (
            r["source"],
            r["leads"],
            r["converted"],
            r["conversionRate"],
            r["revenue"],
            r["sales"],
            r["averageDaysToConvert"],
        )

    weeks = payload["cohorts"]["weeks"]
    horizons = payload["cohorts"]["horizons"]
    return {
        "kpis": CsvTable(
            "Lead KPIs, current vs previous period",
            ("metric", "current", "previous", "trend"),
            tuple((csv_label(name), current[k], previous[k], changes[k]) for k, name in KPI_METRICS.items()),
        ),
        "funnel": CsvTable(
            "Lead funnel (leads created in the period)",
            ("stage", "leads", "% of previous stage", "% of created"),
            tuple(
                (s["stage"], s["leads"], s["rateFromPrevious"], s["rateFromCreated"])
                for s in payload["funnel"]["stages"]
            )
            + (("lost", payload["funnel"]["lost"], None, None),),
        ),
        "scores": CsvTable(
            "Lead score distribution",
            ("score from", "score to", "leads", "share %", "converted", "conversion rate %"),
            tuple(
                (b["min"], b["max"], b["leads"], b["share"], b["converted"], b["conversionRate"])
                for b in payload["scores"]
            ),
        ),
        "sources": CsvTable(
            "Source performance",
            source_header,
            tuple(source_cells(r) for r in payload["sources"]) + (source_cells(payload["sourceTotals"]),),
        ),
        "velocity": CsvTable(
            "Pipeline velocity (median days)",
            ("from stage", "to stage", "leads", "median days"),
            tuple((v["from"], v["to"], v["leads"], v["medianDays"]) for v in payload["velocity"]),
        ),
        "cohorts": CsvTable(
            "Weekly cohorts: share converted within N days of creation",
            ("week", "leads", *(f"converted within {d} days %" for d in horizons)),
            tuple((w["week"], w["leads"], *(c["share"] for c in w["cells"])) for w in weeks),
        ),
    }
