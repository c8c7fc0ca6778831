"""How the Campaigns tab shows its figures (docs/metrics.md, "Campaigns tab"): the payload,
the charts, the page context and the CSV tables. Campaign figures are organization-wide, so
the tab's links drop the view's filters."""

from __future__ import annotations

import dataclasses

from insights.metrics import campaigns as campaign_metrics
from insights.selectors import Filters
from insights.tabs import CsvTable, DashboardQuery, range_payload, records_url
from insights.tabs.compute.campaigns import COMPARE_MAX, COMPARE_MIN, CampaignsTab
from insights.tabs.present import count_text, csv_label, metric_card, percent_text, shown_figures
from reports.charts import BarChart, FunnelChart, HeatmapChart, Point, Series, ValueFormat

FUNNEL_STAGES = (("sent", "Sent"), ("delivered", "Delivered"), ("read", "Read"), ("replied", "Replied"))
RATES = (("deliveredRate", "Delivered rate"), ("readRate", "Read rate"), ("replyRate", "Reply rate"))
# The totals' catalogue figures: payload field -> catalogue metric (insights/catalogue.py).
# replyRate and responseRate are one figure under two keys (the overview's block has both);
# delivered, read and replied are counts shown in the notes.
KPI_METRICS = {
    "active": "campaigns.active",
    "sent": "campaigns.sent",
    "deliveredRate": "campaigns.deliveredRate",
    "readRate": "campaigns.readRate",
    "replyRate": "campaigns.responseRate",
    "responseRate": "campaigns.responseRate",
    "totalSpend": "campaigns.totalSpend",
    "attributedRevenue": "campaigns.attributedRevenue",
    "roi": "campaigns.roi",
    "costPerLead": "campaigns.costPerLead",
}
# The tiles, in order.
CARDS = (
    "active",
    "sent",
    "deliveredRate",
    "readRate",
    "replyRate",
    "totalSpend",
    "attributedRevenue",
    "roi",
    "costPerLead",
)


def payload(tab: CampaignsTab, query: DashboardQuery) -> dict:
    """The JSON-able payload: the totals rounded once by their catalogue units."""
    return {
        "range": range_payload(query),
        "filtersApplied": False,
        "totals": {**shown_figures(tab.totals.current, KPI_METRICS), "trend": tab.totals.changes["sent"]},
        "campaigns": tab.campaigns,
        "comparison": tab.comparison,
        "variants": tab.variants,
        "sendTimes": tab.send_times,
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
                Point(
                    "Delivered",
                    totals["delivered"],
                    tooltip=f"{percent_text(totals['deliveredRate'])} of sent",
                ),
                Point("Read", totals["read"], tooltip=f"{percent_text(totals['readRate'])} of delivered"),
                Point(
                    "Replied", totals["replied"], tooltip=f"{percent_text(totals['replyRate'])} of delivered"
                ),
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
    notes = {
        "active": "sent messages in the period",
        "sent": "vs the previous period",
        "deliveredRate": f"{count_text(t['delivered'])} of {count_text(t['sent'])} sent",
        "readRate": f"{count_text(t['read'])} of {count_text(t['delivered'])} delivered",
        "replyRate": f"{count_text(t['replied'])} of {count_text(t['delivered'])} delivered",
        "totalSpend": "of the campaigns listed",
        "attributedRevenue": "last touch, sales closed in the period",
        "roi": "(revenue − spend) / spend",
        "costPerLead": "spend / distinct leads touched",
    }
    cards = [
        metric_card(
            KPI_METRICS[key],
            currency=currency,
            value=t[key],
            change=t["trend"],
            with_trend=key == "sent",
            key=key,
            note=notes[key],
        )
        for key in CARDS
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
        "money_format": ValueFormat.money(currency),
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


def _figure_rows(totals: dict, keys: tuple[str, ...]) -> tuple[tuple[str, object], ...]:
    """(catalogue label, value) of catalogue figures of the totals."""
    return tuple((csv_label(KPI_METRICS[key], with_change=False), totals[key]) for key in keys)


def csv_tables(payload: dict) -> dict[str, CsvTable]:
    t = payload["totals"]
    totals = CsvTable(
        "Campaign totals (organization-wide)",
        ("figure", "value"),
        (
            *_figure_rows(t, ("active", "sent")),
            ("messages sent trend %", t["trend"]),
            ("delivered", t["delivered"]),
            ("read", t["read"]),
            ("replied", t["replied"]),
            *_figure_rows(t, ("deliveredRate", "readRate", "replyRate", "totalSpend")),
            *_figure_rows(t, ("attributedRevenue", "roi", "costPerLead")),
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
