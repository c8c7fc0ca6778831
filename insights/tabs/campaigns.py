"""The Campaigns tab: campaign totals (the overview's campaigns block), every campaign's
funnel, spend and attributed revenue, a side-by-side comparison, A/B variant tests and the
best time to send (docs/metrics.md, "Campaigns tab").

Campaign figures are organization-wide: a message has no region, product line, source or
agent, so the dashboard filters do not apply (the tab says so) and its links drop them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from core.api import inline_serializer
from core.display import trend as display_trend
from insights import analytics, metrics, selectors
from insights.metrics import campaigns as campaign_metrics
from insights.selectors import Filters
from insights.selectors import campaigns as reads
from insights.tabs import (
    CsvTable,
    DashboardQuery,
    TabInputError,
    TabRangeSerializer,
    range_payload,
    records_url,
)
from reports.charts import BarChart, FunnelChart, HeatmapChart, Point, Series, ValueFormat

TITLE = "Campaigns"
COMPARE_MIN, COMPARE_MAX = 2, 6
# external_id is at most 100 characters; six of them and their commas.
COMPARE_MAX_LENGTH = COMPARE_MAX * 101
EXTRA_PARAMS = {
    "compare": f"{COMPARE_MIN} to {COMPARE_MAX} campaign external ids, comma-separated (or the parameter "
    "repeated); default: the two campaigns with most messages sent in the period",
}
FUNNEL_STAGES = (("sent", "Sent"), ("delivered", "Delivered"), ("read", "Read"), ("replied", "Replied"))
RATES = (("deliveredRate", "Delivered rate"), ("readRate", "Read rate"), ("replyRate", "Reply rate"))

# --- the payload's schema -----------------------------------------------------------------

_rate = {"allow_null": True, "help_text": "percent 0-100, one decimal; null over nothing"}
_COUNTS = {
    "sent": serializers.IntegerField(),
    "delivered": serializers.IntegerField(),
    "read": serializers.IntegerField(),
    "replied": serializers.IntegerField(),
}
_FUNNEL = {
    **_COUNTS,
    "deliveredRate": serializers.FloatField(**_rate),
    "readRate": serializers.FloatField(**_rate),
    "replyRate": serializers.FloatField(**_rate),
}
_MONEY = {"help_text": "organization currency, two decimals"}
_ROW = {
    "id": serializers.CharField(help_text="the campaign's external id"),
    "name": serializers.CharField(),
    **_FUNNEL,
    "spend": serializers.FloatField(**_MONEY),
    "attributedRevenue": serializers.FloatField(help_text="last touch, sales closed in the period"),
    "roi": serializers.FloatField(allow_null=True, help_text="percent; null without spend"),
    "leads": serializers.IntegerField(help_text="leads with a touchpoint of the campaign, any time"),
    "costPerLead": serializers.FloatField(allow_null=True),
}
_TEST = inline_serializer(
    "CampaignsTabVariantTest",
    {
        "vs": serializers.CharField(help_text="the best variant"),
        "z": serializers.FloatField(allow_null=True, help_text="two decimals; positive: the best is higher"),
        "pValue": serializers.FloatField(allow_null=True, help_text="two-sided, four decimals"),
        "significant": serializers.BooleanField(help_text="p < 0.05"),
        "verdict": serializers.ChoiceField(
            [campaign_metrics.SIGNIFICANT, campaign_metrics.NOT_YET_SIGNIFICANT]
        ),
    },
    allow_null=True,
)
_TIME = {**_COUNTS, "readRate": serializers.FloatField(**_rate), "replyRate": serializers.FloatField(**_rate)}
OPENAPI_RESPONSE = inline_serializer(
    "CampaignsTab",
    {
        "range": TabRangeSerializer(),
        "filtersApplied": serializers.BooleanField(
            help_text="always false: campaign figures are organization-wide"
        ),
        "totals": inline_serializer(
            "CampaignsTabTotals",
            {
                "active": serializers.IntegerField(),
                **_FUNNEL,
                "responseRate": serializers.FloatField(**_rate),
                "totalSpend": serializers.FloatField(**_MONEY),
                "attributedRevenue": serializers.FloatField(**_MONEY),
                "roi": serializers.FloatField(allow_null=True),
                "costPerLead": serializers.FloatField(allow_null=True),
                "trend": serializers.FloatField(
                    allow_null=True, help_text="% change of sent vs the previous period"
                ),
            },
        ),
        "campaigns": inline_serializer("CampaignsTabRow", _ROW, many=True),
        "comparison": inline_serializer(
            "CampaignsTabComparison",
            {
                "selected": serializers.ListField(child=serializers.CharField()),
                "isDefault": serializers.BooleanField(
                    help_text="true: the two campaigns with most messages sent"
                ),
                "campaigns": inline_serializer("CampaignsTabCompared", _ROW, many=True),
            },
        ),
        "variants": inline_serializer(
            "CampaignsTabAbTest",
            {
                "id": serializers.CharField(),
                "name": serializers.CharField(),
                "readBestVariant": serializers.CharField(allow_null=True),
                "replyBestVariant": serializers.CharField(allow_null=True),
                "readVerdict": serializers.CharField(),
                "replyVerdict": serializers.CharField(),
                "variants": inline_serializer(
                    "CampaignsTabVariant",
                    {
                        "variant": serializers.CharField(),
                        **_TIME,
                        "readBest": serializers.BooleanField(),
                        "replyBest": serializers.BooleanField(),
                        "readTest": _TEST,
                        "replyTest": _TEST,
                    },
                    many=True,
                ),
            },
            many=True,
        ),
        "sendTimes": inline_serializer(
            "CampaignsTabSendTimes",
            {
                "minDelivered": serializers.IntegerField(),
                "cells": inline_serializer(
                    "CampaignsTabSendCell",
                    {
                        "weekday": serializers.IntegerField(help_text="ISO, Monday = 1"),
                        "hour": serializers.IntegerField(),
                        **_TIME,
                    },
                    many=True,
                ),
                "byHour": inline_serializer(
                    "CampaignsTabSendHour", {"hour": serializers.IntegerField(), **_TIME}, many=True
                ),
                "bestHour": inline_serializer(
                    "CampaignsTabBestHour",
                    {
                        "hour": serializers.IntegerField(),
                        "delivered": serializers.IntegerField(),
                        "replied": serializers.IntegerField(),
                        "readRate": serializers.FloatField(allow_null=True),
                        "replyRate": serializers.FloatField(allow_null=True),
                    },
                    allow_null=True,
                ),
                "bestHourNote": serializers.CharField(allow_null=True, help_text="why there is no best hour"),
            },
        ),
    },
)


# --- own parameters -----------------------------------------------------------------------


def _compare_values(params: Mapping[str, Any]) -> list[str]:
    values = params.getlist("compare") if hasattr(params, "getlist") else params.get("compare")
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise TabInputError("compare", "Give campaign ids separated by commas.")
    return list(values)


def parse_extra(params: Mapping[str, Any], *, organization: Any) -> dict:
    """`compare`: 2..6 distinct external ids of the organization's campaigns (TabInputError)."""
    text = ",".join(_compare_values(params))
    if not text.strip():
        return {}
    if len(text) > COMPARE_MAX_LENGTH:
        raise TabInputError("compare", "The value is too long.")
    ids = [part.strip() for part in text.split(",")]
    if not all(ids):
        raise TabInputError("compare", "An id is empty: separate campaign ids with single commas.")
    if not COMPARE_MIN <= len(ids) <= COMPARE_MAX:
        raise TabInputError("compare", f"Choose {COMPARE_MIN} to {COMPARE_MAX} campaigns to compare.")
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise TabInputError("compare", f"Campaign {repeated[0]!r} is listed twice.")
    known = reads.existing_external_ids(organization=organization, external_ids=ids)
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise TabInputError("compare", f"No campaign with id {unknown[0]!r} in your organization.")
    return {"compare": ",".join(ids)}


# --- the payload --------------------------------------------------------------------------


def _comparison(
    query: DashboardQuery,
    rows: list[dict],
    counts_now: Mapping[int, Mapping[str, int]],
    trusted: dt.date | None,
) -> dict:
    chosen = query.extra.get("compare")
    selected = chosen.split(",") if chosen else [r["id"] for r in rows if r["sent"]][:COMPARE_MIN]
    listed = {r["id"]: r for r in rows}
    unlisted = [external_id for external_id in selected if external_id not in listed]
    info = (
        reads.campaigns_by_external_id(organization=query.organization, external_ids=unlisted)
        if unlisted
        else {}
    )
    # The leads of a campaign are the overview's figure (one definition: the first-touch rollup).
    leads = (
        selectors.campaign_leads_touched(organization=query.organization, trusted_last_day=trusted)
        if info
        else {}
    )
    compared = []
    for external_id in selected:
        if external_id in listed:
            compared.append(listed[external_id])
        elif external_id in info:
            # Not listed: nothing sent and no revenue attributed in W, by the listing rule.
            c = info[external_id]
            compared.append(
                metrics.campaign_row(
                    metrics.CampaignInput(
                        external_id=external_id,
                        name=c["name"],
                        counts=counts_now.get(c["id"], {}),
                        spend=c["spend"],
                        attributed_revenue=Decimal(0),
                        leads=leads.get(c["id"], 0),
                    )
                )
            )
    return {"selected": selected, "isDefault": not chosen, "campaigns": compared}


def _variants(query: DashboardQuery, trusted: dt.date | None, rows: list[dict]) -> list[dict]:
    counted = reads.variant_counts(
        organization=query.organization, window=query.window, trusted_last_day=trusted
    )
    order = {r["id"]: i for i, r in enumerate(rows)}
    tested = [
        {"id": external_id, "name": name, **campaign_metrics.ab_test(variants)}
        for (external_id, name), variants in counted.items()
        if len(variants) >= 2
    ]
    return sorted(tested, key=lambda t: (order.get(t["id"], len(order)), t["name"], t["id"]))


def _send_times(query: DashboardQuery) -> dict:
    counts = reads.send_time_counts(organization=query.organization, window=query.window)
    hours = campaign_metrics.hour_totals(counts)
    best, note = campaign_metrics.best_hour(hours)
    return {
        "minDelivered": campaign_metrics.MIN_DELIVERED_PER_HOUR,
        "cells": campaign_metrics.send_time_cells(counts),
        "byHour": hours,
        "bestHour": best,
        "bestHourNote": note,
    }


def compute(query: DashboardQuery) -> dict:
    organization, window, previous = query.organization, query.window, query.previous
    trusted = selectors.trusted_through(selectors.fill_state(organization))
    counted = reads.campaign_counts(
        organization=organization, windows={"current": window, "previous": previous}, trusted_last_day=trusted
    )
    # The overview's own computation, so the totals are exactly the overview's campaigns block.
    build, (sent_now, sent_before) = analytics.campaign_blocks(
        organization, counted, window=window, previous=previous, trusted_last_day=trusted
    )
    block, _previous_block = build(False)
    totals = {k: v for k, v in block.items() if k != "campaigns"}
    rows = block["campaigns"]
    return {
        "range": range_payload(query),
        "filtersApplied": False,
        "totals": {**totals, "trend": metrics.trend(sent_now, sent_before)},
        "campaigns": rows,
        "comparison": _comparison(query, rows, counted["current"], trusted),
        "variants": _variants(query, trusted, rows),
        "sendTimes": _send_times(query),
    }


# --- display ------------------------------------------------------------------------------


def organization_wide(query: DashboardQuery) -> DashboardQuery:
    """The view without its filters: campaign links must list what the numbers count."""
    return dataclasses.replace(query, filters=Filters(), filter_params={})


def _series_names(rows: list[dict]) -> list[str]:
    names = [r["name"] for r in rows]
    return [n if names.count(n) == 1 else f"{n} ({r['id']})" for n, r in zip(names, rows, strict=True)]


def _hour_label(hour: int) -> str:
    return f"{hour:02d}h"


def charts(payload: dict, query: DashboardQuery) -> dict:
    totals, compared = payload["totals"], payload["comparison"]["campaigns"]
    names = _series_names(compared)
    send = payload["sendTimes"]
    by_cell = {(c["weekday"], c["hour"]): c for c in send["cells"]}
    hours = [_hour_label(h) for h in campaign_metrics.HOURS]

    def grid(rate: str) -> list[list[float | None]]:
        return [[by_cell[(w, h)][rate] for h in campaign_metrics.HOURS] for w in range(1, 8)]

    heat = {
        "x_labels": hours,
        "y_labels": campaign_metrics.WEEKDAYS,
        "value_format": ValueFormat("percent"),
        "x_label": f"Local hour of sending ({payload['range']['timezone']})",
        "y_label": "Weekday",
    }
    best = send["bestHour"]["hour"] if send["bestHour"] else None
    return {
        "totals_funnel": FunnelChart(
            "Messages sent in the period, all campaigns",
            (
                Point("Sent", totals["sent"]),
                Point("Delivered", totals["delivered"], tooltip=f"{_pct(totals['deliveredRate'])} of sent"),
                Point("Read", totals["read"], tooltip=f"{_pct(totals['readRate'])} of delivered"),
                Point("Replied", totals["replied"], tooltip=f"{_pct(totals['replyRate'])} of delivered"),
            ),
            ValueFormat("integer"),
            # The funnel's own step rates would show replied / read; ours is replied / delivered.
            show_rates=False,
        ),
        "comparison_funnel": BarChart(
            "Delivery funnel of the compared campaigns",
            tuple(
                Series(name, tuple(Point(label, row[key]) for key, label in FUNNEL_STAGES))
                for name, row in zip(names, compared, strict=True)
            ),
            ValueFormat("integer"),
            category_label="Stage",
            value_label="Messages",
        ),
        "comparison_rates": BarChart(
            "Delivered, read and reply rates of the compared campaigns",
            tuple(
                Series(name, tuple(Point(label, row[key]) for key, label in RATES))
                for name, row in zip(names, compared, strict=True)
            ),
            ValueFormat("percent"),
            category_label="Rate",
        ),
        "read_heatmap": HeatmapChart("Read rate by weekday and hour", cells=grid("readRate"), **heat),
        "reply_heatmap": HeatmapChart("Reply rate by weekday and hour", cells=grid("replyRate"), **heat),
        "reply_by_hour": BarChart(
            "Reply rate by hour of sending",
            (
                Series(
                    "Reply rate",
                    tuple(
                        Point(
                            _hour_label(h["hour"]),
                            h["replyRate"],
                            tooltip=f"{h['delivered']} delivered"
                            + (" · best hour" if h["hour"] == best else ""),
                        )
                        for h in send["byHour"]
                    ),
                ),
            ),
            ValueFormat("percent"),
            category_label=f"Local hour ({payload['range']['timezone']})",
            value_label="Reply rate",
        ),
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _linked(rows: list[dict], query: DashboardQuery) -> list[dict]:
    wide = organization_wide(query)
    return [
        {
            **r,
            "leads_href": records_url("leads", wide, campaign=r["id"]),
            "revenue_href": records_url("sales", wide, campaign=r["id"]),
        }
        for r in rows
    ]


def page_context(payload: dict, query: DashboardQuery) -> dict:
    t, currency = payload["totals"], query.organization.currency
    money, percent, integer = ValueFormat.money(currency), ValueFormat("percent"), ValueFormat("integer")
    cards = [
        {
            "key": "active",
            "label": "Active campaigns",
            "value": t["active"],
            "format": integer,
            "note": "sent messages in the period",
        },
        {
            "key": "sent",
            "label": "Messages sent",
            "value": t["sent"],
            "format": integer,
            "trend": display_trend(t["trend"]),
            "note": "vs the previous period",
        },
        {
            "key": "deliveredRate",
            "label": "Delivered rate",
            "value": t["deliveredRate"],
            "format": percent,
            "note": f"{t['delivered']:,} of {t['sent']:,} sent",
        },
        {
            "key": "readRate",
            "label": "Read rate",
            "value": t["readRate"],
            "format": percent,
            "note": f"{t['read']:,} of {t['delivered']:,} delivered",
        },
        {
            "key": "replyRate",
            "label": "Reply rate",
            "value": t["replyRate"],
            "format": percent,
            "note": f"{t['replied']:,} of {t['delivered']:,} delivered",
        },
        {
            "key": "totalSpend",
            "label": "Total spend",
            "value": t["totalSpend"],
            "format": money,
            "note": "of the campaigns listed",
        },
        {
            "key": "attributedRevenue",
            "label": "Attributed revenue",
            "value": t["attributedRevenue"],
            "format": money,
            "note": "last touch, sales closed in the period",
        },
        {
            "key": "roi",
            "label": "ROI",
            "value": t["roi"],
            "format": percent,
            "note": "(revenue − spend) / spend",
        },
        {
            "key": "costPerLead",
            "label": "Cost per lead",
            "value": t["costPerLead"],
            "format": money,
            "note": "spend / distinct leads touched",
        },
    ]
    comparison = payload["comparison"]
    listed = [{"id": r["id"], "name": r["name"]} for r in payload["campaigns"]]
    extra = [
        {"id": r["id"], "name": r["name"]}
        for r in comparison["campaigns"]
        if r["id"] not in {c["id"] for c in listed}
    ]
    choices = [{**c, "checked": c["id"] in comparison["selected"]} for c in listed + extra]
    return {
        "cards": cards,
        "money_format": money,
        "campaign_rows": _linked(payload["campaigns"], query),
        "compared_rows": _linked(comparison["campaigns"], query),
        "compare_choices": choices,
        "compare_limits": (COMPARE_MIN, COMPARE_MAX),
        "weekday_names": campaign_metrics.WEEKDAYS,
    }


def _row_cells(r: dict) -> tuple:
    return (
        r["id"],
        r["name"],
        r["sent"],
        r["delivered"],
        r["read"],
        r["replied"],
        r["deliveredRate"],
        r["readRate"],
        r["replyRate"],
        r["spend"],
        r["leads"],
        r["costPerLead"],
        r["attributedRevenue"],
        r["roi"],
    )


ROW_HEADER = (
    "campaign id",
    "campaign",
    "sent",
    "delivered",
    "read",
    "replied",
    "delivered rate %",
    "read rate %",
    "reply rate %",
    "spend",
    "leads",
    "cost per lead",
    "attributed revenue",
    "ROI %",
)


def _test_cells(test: dict | None) -> tuple:
    return (None, None, None) if test is None else (test["z"], test["pValue"], test["verdict"])


def csv_tables(payload: dict) -> dict[str, CsvTable]:
    t = payload["totals"]
    totals = CsvTable(
        "Campaign totals (organization-wide)",
        ("figure", "value"),
        (
            ("active campaigns", t["active"]),
            ("messages sent", t["sent"]),
            ("messages sent trend %", t["trend"]),
            ("delivered", t["delivered"]),
            ("read", t["read"]),
            ("replied", t["replied"]),
            ("delivered rate %", t["deliveredRate"]),
            ("read rate %", t["readRate"]),
            ("reply rate %", t["replyRate"]),
            ("total spend", t["totalSpend"]),
            ("attributed revenue", t["attributedRevenue"]),
            ("ROI %", t["roi"]),
            ("cost per lead", t["costPerLead"]),
        ),
    )
    campaigns = CsvTable("Campaigns", ROW_HEADER, tuple(_row_cells(r) for r in payload["campaigns"]))
    comparison = CsvTable(
        "Compared campaigns", ROW_HEADER, tuple(_row_cells(r) for r in payload["comparison"]["campaigns"])
    )
    variants = CsvTable(
        "A/B variants",
        (
            "campaign id",
            "campaign",
            "variant",
            "sent",
            "delivered",
            "read",
            "replied",
            "read rate %",
            "reply rate %",
            "best read rate",
            "read z vs best",
            "read p-value vs best",
            "read verdict",
            "best reply rate",
            "reply z vs best",
            "reply p-value vs best",
            "reply verdict",
        ),
        tuple(
            (
                c["id"],
                c["name"],
                v["variant"],
                v["sent"],
                v["delivered"],
                v["read"],
                v["replied"],
                v["readRate"],
                v["replyRate"],
                v["readBest"],
                *_test_cells(v["readTest"]),
                v["replyBest"],
                *_test_cells(v["replyTest"]),
            )
            for c in payload["variants"]
            for v in c["variants"]
        ),
    )
    send_times = CsvTable(
        "Send times (local weekday and hour)",
        ("weekday", "hour", "sent", "delivered", "read", "replied", "read rate %", "reply rate %"),
        tuple(
            (
                campaign_metrics.WEEKDAYS[c["weekday"] - 1],
                c["hour"],
                c["sent"],
                c["delivered"],
                c["read"],
                c["replied"],
                c["readRate"],
                c["replyRate"],
            )
            for c in payload["sendTimes"]["cells"]
        ),
    )
    return {
        "totals": totals,
        "campaigns": campaigns,
        "comparison": comparison,
        "variants": variants,
        "send-times": send_times,
    }
