"""What the live dashboard socket sends (DESIGN section 9.7; docs/live.md).

Each metric type is a block of numbers the pages already show, for the last 30 days, today
included:

- revenue, leads, calls, engagement: the overview API's blocks (insights.analytics, with the
  campaign block as engagement), the computation `POST /api/analytics/overview` answers with,
  so a tile updated live shows the number the page would after a reload;
- performance: the business-intelligence summary cards (insights.bi.reads.summary: conversion,
  revenue and calls with their trend, open insights, the open opportunity pipeline), read from
  the same overview computation (its window is the same 30 days).

`data_changed(organization_id)` is what ingestion calls after a commit: one message, with the
change's id, to the organization's group; each consumer decides what to send and when
(update_frequency), and the consumers of one process share the computation of each change
(insights.consumers.shared_payload).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder

from core.catalogue import metric_get
from crm.models import Member, Organization
from insights import analytics
from insights.bi import reads as bi_reads
from insights.tabs.present import metric_trend, value_format
from insights.tabs.present.overview import CARDS
from reports.charts import format_value

log = logging.getLogger("insights.live")

METRIC_TYPES = ("revenue", "leads", "calls", "engagement", "performance")
OVERVIEW_BLOCKS = {"revenue": "revenue", "leads": "leads", "calls": "calls", "engagement": "campaigns"}
LIVE_RANGE = "30d"
MIN_FREQUENCY, MAX_FREQUENCY = 5, 3600


def group_name(organization_id: int) -> str:
    return f"live-org-{organization_id}"


# Organization-wide types an agent may not follow (the overview's campaigns take no filter).
MANAGER_ONLY_TYPES = frozenset({"engagement"})


def metrics_payload(
    organization: Organization, metric_types: list[str], *, as_of: dt.datetime, agent: Member | None = None
) -> dict[str, Any]:
    """{metric_type: data} for the last 30 days up to `as_of` (JSON-ready). With `agent`,
    the agent's own numbers (the overview filtered to the agent, the insights summary of the
    agent's part): an agent's socket never carries the organization's totals."""
    out: dict[str, Any] = {}
    if agent is not None and MANAGER_ONLY_TYPES & set(metric_types):
        raise ValueError("engagement is organization-wide: managers only")
    # One overview computation for the blocks and the performance cards: the summary window
    # is the overview's 30 days to `as_of` (bi_reads.summary_overview_request).
    scope = bi_reads.Scope(organization, agent, agent is None)
    window = bi_reads.summary_window(as_of)
    blocks = tuple(OVERVIEW_BLOCKS[t] for t in metric_types if t in OVERVIEW_BLOCKS)
    request = bi_reads.summary_overview_request(scope, window, blocks)
    if "performance" not in metric_types:
        request = dataclasses.replace(request, metrics=blocks)
    answer, exact = analytics.compute_overview_exact(organization=organization, request=request)
    for metric_type, block in OVERVIEW_BLOCKS.items():
        if metric_type in metric_types:
            values = answer["data"][block]
            out[metric_type] = {
                "range": answer["range"],
                **values,
                "comparison": answer["comparisons"][block],
                "display": _display(block, values, organization.currency),
            }
    if "performance" in metric_types:
        cards, _ = bi_reads.summary(scope=scope, window=window, overview=(answer, exact))
        out["performance"] = cards
    return out


def _display(block: str, values: dict, currency: str) -> dict[str, dict[str, str]]:
    """The dashboard tile of the block as the page writes it: {metric name: {value, trend,
    sense}} (the overview tab's card of the block: core.catalogue label and format, the
    trend in the metric's unit), so a page swaps text and never formats numbers itself."""
    name = CARDS[block]
    metric = metric_get(name)
    trend = metric_trend(name, values.get("trend"))
    field = name.split(".", 1)[1]
    return {
        name: {
            "value": format_value(values.get(field), value_format(metric, currency)),
            "trend": f"{trend.arrow} {trend.text}".strip(),
            "sense": trend.sense,
        }
    }


def payload_json(
    organization: Organization, metric_types: list[str], *, as_of: dt.datetime, agent: Member | None = None
) -> dict[str, str]:
    """metrics_payload with each type's data encoded as JSON once: the consumers of one
    change share it and splice it into their messages (insights.consumers)."""
    data = metrics_payload(organization, metric_types, as_of=as_of, agent=agent)
    return {t: json.dumps(data[t], cls=DjangoJSONEncoder, separators=(",", ":")) for t in metric_types}


def data_changed(organization_id: int) -> None:
    """After a commit that changed the organization's data: tell its live sockets. Each change
    has an id: the sockets of one process that hear it compute its numbers once. A channel
    layer that is down must not fail the ingestion that already committed."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        event = {"type": "org.data_changed", "change": uuid.uuid4().hex}
        async_to_sync(layer.group_send)(group_name(organization_id), event)
    except Exception:  # the write has committed; the sockets catch up at their next change
        log.warning("live update for organization %s not sent", organization_id, exc_info=True)


def live_ingested(event) -> None:
    """Ingestion listener (crm.events): after the commit, tell the organization's sockets."""
    from django.db import transaction

    transaction.on_commit(lambda: data_changed(event.organization_id))
