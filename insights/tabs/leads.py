"""The Leads tab: the overview's leads KPIs against the previous window, then, over the leads
created in W, the stage funnel, the score distribution, source performance, pipeline
velocity and weekly conversion cohorts (docs/metrics.md, "Leads tab"). Every count links to the
leads (or sales) behind it."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from rest_framework import serializers

from core.api import inline_serializer
from core.display import POINTS
from core.display import trend as display_trend
from insights import metrics
from insights.metrics import leads as calc
from insights.selectors import leads as reads
from insights.tabs import CsvTable, DashboardQuery, TabRangeSerializer, range_payload, records_url
from reports.charts import BarChart, FunnelChart, HeatmapChart, Point, Series, ValueFormat

TITLE = "Leads"
PERIODS = {
    "24h": "in the last 24 hours",
    "7d": "in the last 7 days",
    "30d": "in the last 30 days",
    "90d": "in the last 90 days",
    "1y": "in the last year",
}
# The source charts draw the biggest sources; the table lists them all.
TOP_SOURCES = 10
HEAT_LEVELS = 5
HORIZON_LABELS = {7: "1 week", 14: "2 weeks", 28: "4 weeks", 56: "8 weeks"}

# --- the payload's schema -----------------------------------------------------------------

_pct = {"allow_null": True, "help_text": "percent 0-100, one decimal; null over nothing"}
_change = {"allow_null": True}
_days = {"allow_null": True, "help_text": "days, one decimal; null without a lead"}
_BLOCK = inline_serializer(
    "LeadsTabKpis",
    {
        "total": serializers.IntegerField(help_text="leads created in the window"),
        "qualified": serializers.IntegerField(help_text="of those, with interested_at set"),
        "conversionRate": serializers.FloatField(**_pct),
        "averageScore": serializers.FloatField(allow_null=True, help_text="mean score over those with one"),
        "pipelineValue": serializers.FloatField(
            help_text="lead pipeline value: estimated value of the leads open at W's end (not the "
            "opportunity pipeline of /api/bi)"
        ),
    },
)
_SOURCE = {
    "source": serializers.CharField(help_text=f"the lead's source, '{calc.NONE_SOURCE}' when empty"),
    "leads": serializers.IntegerField(),
    "converted": serializers.IntegerField(),
    "conversionRate": serializers.FloatField(**_pct),
    "revenue": serializers.FloatField(help_text="sales of these leads, closed at any time"),
    "sales": serializers.IntegerField(),
    "averageDaysToConvert": serializers.FloatField(**_days),
}
OPENAPI_RESPONSE = inline_serializer(
    "LeadsTab",
    {
        "range": TabRangeSerializer(),
        "kpis": inline_serializer(
            "LeadsTabKpiComparison",
            {
                "current": _BLOCK,
                "previous": _BLOCK,
                "changes": inline_serializer(
                    "LeadsTabChanges",
                    {
                        "total": serializers.FloatField(
                            **_change, help_text="% change; null when the previous is 0"
                        ),
                        "qualified": serializers.FloatField(**_change, help_text="% change"),
                        "conversionRate": serializers.FloatField(
                            **_change, help_text="change in percentage points"
                        ),
                        "averageScore": serializers.FloatField(**_change, help_text="% change of the mean"),
                        "pipelineValue": serializers.FloatField(**_change, help_text="% change"),
                    },
                ),
            },
        ),
        "funnel": inline_serializer(
            "LeadsTabFunnel",
            {
                "stages": inline_serializer(
                    "LeadsTabStage",
                    {
                        "stage": serializers.ChoiceField(calc.STAGES),
                        "label": serializers.CharField(),
                        "leads": serializers.IntegerField(
                            help_text="created in W, with the milestone set (whenever)"
                        ),
                        "rateFromPrevious": serializers.FloatField(**_pct),
                        "rateFromCreated": serializers.FloatField(**_pct),
                    },
                    many=True,
                ),
                "lost": serializers.IntegerField(help_text="leads created in W with lost_at set"),
            },
        ),
        "scores": inline_serializer(
            "LeadsTabScoreBucket",
            {
                "label": serializers.CharField(),
                "min": serializers.IntegerField(
                    allow_null=True, help_text="inclusive; null for the no-score bar"
                ),
                "max": serializers.IntegerField(allow_null=True, help_text="inclusive"),
                "leads": serializers.IntegerField(),
                "share": serializers.FloatField(**_pct),
                "converted": serializers.IntegerField(),
                "conversionRate": serializers.FloatField(**_pct),
            },
            many=True,
        ),
        "sources": inline_serializer("LeadsTabSource", _SOURCE, many=True),
        "sourceTotals": inline_serializer("LeadsTabSourceTotals", _SOURCE),
        "velocity": inline_serializer(
            "LeadsTabVelocity",
            {
                "key": serializers.ChoiceField([key for key, _a, _b in calc.VELOCITY_SPANS]),
                "from": serializers.CharField(),
                "to": serializers.CharField(),
                "label": serializers.CharField(),
                "leads": serializers.IntegerField(help_text="leads created in W that reached both stages"),
                "medianDays": serializers.FloatField(**_days),
            },
            many=True,
        ),
        "cohorts": inline_serializer(
            "LeadsTabCohorts",
            {
                "horizons": serializers.ListField(
                    child=serializers.IntegerField(), help_text="days after creation"
                ),
                "weeks": inline_serializer(
                    "LeadsTabCohortWeek",
                    {
                        "week": serializers.DateField(help_text="the local Monday starting the ISO week"),
                        "label": serializers.CharField(),
                        "leads": serializers.IntegerField(
                            help_text="leads created that week (Monday to Sunday, local)"
                        ),
                        "complete": serializers.BooleanField(help_text="the week is over"),
                        "cells": inline_serializer(
                            "LeadsTabCohortCell",
                            {
                                "days": serializers.IntegerField(),
                                "mature": serializers.BooleanField(
                                    help_text="the horizon passed for all the week's leads"
                                ),
                                "converted": serializers.IntegerField(
                                    allow_null=True, help_text="null when immature"
                                ),
                                "share": serializers.FloatField(
                                    allow_null=True,
                                    help_text="% of the week's leads; null when "
                                    "immature or the week has no lead",
                                ),
                            },
                            many=True,
                        ),
                    },
                    many=True,
                ),
            },
        ),
    },
)


# --- the payload --------------------------------------------------------------------------


def _spans() -> dict[str, tuple[str, str]]:
    column = {"created": "created_at", **reads.STAGE_FIELDS}
    return {key: (column[start], column[end]) for key, start, end in calc.VELOCITY_SPANS}


def compute(query: DashboardQuery) -> dict:
    """Seven or eight queries whatever the data size (insights.selectors.leads)."""
    organization, window, previous = query.organization, query.window, query.previous
    tz = organization.tz
    scope = {"organization": organization, "window": window, "filters": query.filters}
    totals = reads.kpi_totals(previous=previous, **scope)
    by_source = reads.counts_by_source(**scope, buckets=calc.SCORE_BUCKETS)
    revenue = reads.revenue_by_source(**scope)
    middles = reads.stage_duration_middles(**scope, spans=_spans())
    mondays = calc.cohort_mondays(window, tz)
    span = calc.cohort_span(mondays, tz)
    weekly = (
        reads.weekly_cohorts(
            organization=organization, weeks=span, filters=query.filters, horizons_days=calc.HORIZONS_DAYS
        )
        if span
        else {}
    )
    cohort = calc.summed(by_source.values())
    sources, source_totals = calc.source_rows(by_source, revenue)
    return {
        "range": range_payload(query),
        "kpis": {
            "current": metrics.leads_block(totals.current, pipeline_value=totals.pipeline_now),
            "previous": metrics.leads_block(totals.previous, pipeline_value=totals.pipeline_before),
            "changes": calc.kpi_changes(
                totals.current,
                totals.previous,
                pipeline_now=totals.pipeline_now,
                pipeline_before=totals.pipeline_before,
            ),
        },
        "funnel": {"stages": calc.funnel(cohort), "lost": cohort.get("lost", 0)},
        "scores": calc.score_histogram(cohort),
        "sources": sources,
        "sourceTotals": source_totals,
        "velocity": calc.velocity(middles),
        "cohorts": {
            "horizons": list(calc.HORIZONS_DAYS),
            "weeks": calc.cohort_rows(mondays, weekly, tz=tz, as_of=query.as_of),
        },
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
                    tooltip=f"{_pct(s['rateFromCreated'])} of the leads created",
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
                            tooltip=f"{b['converted']} converted ({_pct(b['conversionRate'])})",
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


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _period_text(query: DashboardQuery) -> str:
    if query.range_name == "custom" and query.custom_start and query.custom_end:
        return f"from {query.custom_start.isoformat()} to {query.custom_end.isoformat()}"
    return PERIODS.get(query.range_name, "in this period")


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
    cards = [
        {
            "key": "total",
            "label": "Leads created",
            "value": current["total"],
            "previous": previous["total"],
            "format": ValueFormat("integer"),
            "trend": display_trend(changes["total"]),
            "href": stage_href(query, "created"),
            "note": f"{payload['funnel']['lost']} of them lost",
        },
        {
            "key": "qualified",
            "label": "Qualified",
            "value": current["qualified"],
            "previous": previous["qualified"],
            "format": ValueFormat("integer"),
            "trend": display_trend(changes["qualified"]),
            "href": stage_href(query, "interested"),
            "note": "reached the interested stage",
        },
        {
            "key": "conversionRate",
            "label": "Conversion rate",
            "value": current["conversionRate"],
            "previous": previous["conversionRate"],
            "format": ValueFormat("percent"),
            "trend": display_trend(changes["conversionRate"], unit=POINTS),
            "href": stage_href(query, "converted"),
            "note": f"{stages['converted']['leads']} of {current['total']} converted",
        },
        {
            "key": "averageScore",
            "label": "Average score",
            "value": current["averageScore"],
            "previous": previous["averageScore"],
            "format": ValueFormat("number"),
            "trend": display_trend(changes["averageScore"]),
            "href": records_url("leads", query, scoreMin=0),
            "note": f"over {current['total'] - unscored} scored leads",
        },
        {
            "key": "pipelineValue",
            "label": "Lead pipeline value",
            "value": current["pipelineValue"],
            "previous": previous["pipelineValue"],
            "format": money,
            "trend": display_trend(changes["pipelineValue"]),
            "href": None,
            "note": "estimated value of the leads open at the end of the period, whenever created",
        },
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
        "period_text": _period_text(query),
        "filtered": bool(query.filter_params),
        "more_sources": max(0, len(payload["sources"]) - TOP_SOURCES),
        "top_sources": TOP_SOURCES,
        "has_velocity": any(v["leads"] for v in payload["velocity"]),
    }


def csv_tables(payload: dict) -> dict[str, CsvTable]:
    current, previous, changes = (payload["kpis"][k] for k in ("current", "previous", "changes"))
    kpi_rows = (
        ("Leads created", "total"),
        ("Qualified", "qualified"),
        ("Conversion rate % (trend in points)", "conversionRate"),
        ("Average score", "averageScore"),
        ("Lead pipeline value", "pipelineValue"),
    )
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
            tuple((label, current[k], previous[k], changes[k]) for label, k in kpi_rows),
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
