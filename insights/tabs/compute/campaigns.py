"""What the Campaigns tab computes (docs/metrics.md, "Campaigns tab"): the campaign totals
(the overview's campaigns block), every campaign's funnel, spend and attributed revenue, a
side-by-side comparison, A/B variant tests and the best time to send.

Campaign figures are organization-wide: a message has no region, product line, source or
agent, so the dashboard filters do not apply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from core.metrics import trend_percent
from core.timeranges import Window
from crm.models import Organization
from insights import analytics, metrics, selectors
from insights.metrics import campaigns as campaign_metrics
from insights.selectors import campaigns as reads
from insights.tabs import DashboardQuery
from insights.tabs.compute import KpiComparison

COMPARE_MIN, COMPARE_MAX = 2, 6


@dataclass(frozen=True)
class CampaignsTab:
    # the overview's campaigns block of both windows, unrounded, without its list; changes:
    # `sent` only (the tab's one trend)
    totals: KpiComparison
    campaigns: list[dict]
    comparison: dict
    variants: list[dict]
    send_times: dict


@dataclass(frozen=True)
class _Blocks:
    totals: KpiComparison
    rows: list[dict]
    counted_now: Mapping[int, Mapping[str, int]]
    trusted: dt.date | None
    hours_until: dt.datetime | None


def _blocks(organization: Organization, window: Window) -> _Blocks:
    trusted, hours = selectors.trust(organization)
    previous = window.previous()
    counted = reads.campaign_counts(
        organization=organization,
        windows={"current": window, "previous": previous},
        trusted_last_day=trusted,
        hours_until=hours,
    )
    # The overview's own computation, so the totals are exactly the overview's campaigns block.
    build, (sent_now, sent_before) = analytics.campaign_blocks(
        organization, counted, window=window, previous=previous, trusted_last_day=trusted, hours_until=hours
    )
    current, before = build(True)
    # The exact blocks carry no per-campaign list: the rows come rounded, as the API shows them
    # (insights.metrics.campaign_row).
    rounded, _previous_rounded = build(False)
    return _Blocks(
        totals=KpiComparison(
            current={k: v for k, v in current.items() if k != "campaigns"},
            previous={k: v for k, v in before.items() if k != "campaigns"},
            changes={"sent": trend_percent(current=sent_now, previous=sent_before)},
        ),
        rows=rounded["campaigns"],
        counted_now=counted["current"],
        trusted=trusted,
        hours_until=hours,
    )


def campaign_totals(*, organization: Organization, window: Window) -> KpiComparison:
    """The campaign totals of W and of the previous window, unrounded (also the catalogue's
    compute of the `campaigns.*` figures the tab shows)."""
    return _blocks(organization, window).totals


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
    # The leads of a campaign are the overview's figure (one definition: its lead set).
    leads = (
        selectors.campaign_leads_touched(
            organization=query.organization,
            campaign_ids=[c["id"] for c in info.values()],
            trusted_last_day=trusted,
        )
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


def _send_times(query: DashboardQuery, hours_until: dt.datetime | None) -> dict:
    counts = reads.send_time_counts(
        organization=query.organization, window=query.window, hours_until=hours_until
    )
    hours = campaign_metrics.hour_totals(counts)
    best, note = campaign_metrics.best_hour(hours)
    return {
        "minDelivered": campaign_metrics.MIN_DELIVERED_PER_HOUR,
        "cells": campaign_metrics.send_time_cells(counts),
        "byHour": hours,
        "bestHour": best,
        "bestHourNote": note,
    }


def campaigns_tab(query: DashboardQuery) -> CampaignsTab:
    blocks = _blocks(query.organization, query.window)
    return CampaignsTab(
        totals=blocks.totals,
        campaigns=blocks.rows,
        comparison=_comparison(query, blocks.rows, blocks.counted_now, blocks.trusted),
        variants=_variants(query, blocks.trusted, blocks.rows),
        send_times=_send_times(query, blocks.hours_until),
    )
