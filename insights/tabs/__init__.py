"""The tabs of the manager dashboard (/dashboard/analytics) and their JSON endpoints.

One query shape for every tab, page, export and drill-down: `DashboardQuery` (the window,
the filters, the tab's own parameters), parsed from the same query-string names everywhere:

    range=24h|7d|30d|90d|1y|custom, start=YYYY-MM-DD, end=YYYY-MM-DD (custom, end inclusive),
    region, productLine, source, agent (an agent's e-mail), plus a tab's own parameters.

Each tab is a module `insights.tabs.<name>` (its contract and wiring) exposing

    TITLE: str
    OPENAPI_RESPONSE: serializer            # the payload's schema (drf-spectacular)
    EXTRA_PARAMS: dict[str, str]            # optional: the tab's own query parameters -> description
    parse_extra(params, *, organization) -> dict   # optional: validates them (TabInputError)
    compute(query) -> dict                  # the JSON-able payload; the API returns it as is
    charts(payload, query) -> dict[str, ChartSpec]  # what the page (and later PDFs) draw
    page_context(payload, query) -> dict            # the template's cards and rows
    csv_tables(payload) -> dict[str, CsvTable]      # every table of the tab, for CSV export

built from two halves (docs/dashboard.md, "How a tab is built"):
`insights.tabs.compute.<name>` reads (insights.selectors) and calculates (insights.metrics)
into frozen dataclasses, the KPI figures unrounded; `insights.tabs.present.<name>` turns them
into the payload (rounding each catalogue figure once, core.catalogue.shown) and the payload
into charts, page context and CSV tables, without reading anything. `compute(query)` is
`present.payload(compute.<name>_tab(query))`.

A template `insights/tabs/<name>.html` is rendered with {payload, charts, query, tab} and the
page context. `tab_payload()` caches the payload per organization data version (core.cache),
five minutes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.urls import reverse
from rest_framework import serializers

from core.cache import org_cache_key
from core.timeranges import NAMED_RANGES, Window
from crm.models import Organization
from insights import analytics
from insights.selectors import Filters

TAB_TTL = 5 * 60
# The order of the tabs on the page.
TAB_NAMES = ("overview", "calls", "leads", "revenue", "campaigns", "reports")
# Tabs whose payload comes from a tab module (the reports tab lists the others' exports).
DATA_TABS = ("overview", "calls", "leads", "revenue", "campaigns")
RANGE_CHOICES = (*NAMED_RANGES, "custom")
# Query-string name -> the overview API's filters name (identical on purpose).
FILTER_PARAMS = ("region", "productLine", "source", "agent")
COMMON_PARAMS = ("range", "start", "end", *FILTER_PARAMS)
# Drill-down record kinds (insights.views records page) and the extra parameters each takes
# on top of the common ones; insights/selectors/records.py and docs/metrics.md give their meaning.
RECORD_KINDS: dict[str, tuple[str, ...]] = {
    "leads": (
        "stage",
        "reached",
        "scoreMin",
        "scoreMax",
        "noScore",
        "cohortWeek",
        "convertedWithinDays",
        "campaign",
        "from",
        "to",
    ),
    "calls": ("outcome", "country", "hour", "weekday", "automated", "from", "to"),
    "sales": ("kind", "dealMin", "dealMax", "campaign", "leadCreated", "from", "to"),
}


class TabInputError(analytics.OverviewInputError):
    """A bad query-string value; `field` names the parameter (an ApplicationError: the API's
    400, the page's form error)."""


@dataclass(frozen=True)
class DashboardQuery:
    organization: Organization
    window: Window
    # the range label ("30d") or "custom"; with start/end for custom ranges
    range_name: str
    range_key: str
    filters: Filters
    as_of: dt.datetime
    # the filters as sent (API names), for links and the form
    filter_params: Mapping[str, str] = field(default_factory=dict)
    custom_start: dt.date | None = None
    custom_end: dt.date | None = None
    # a tab's own parsed parameters (parse_extra), part of the cache key
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def previous(self) -> Window:
        return self.window.previous()

    def common_params(self) -> dict[str, str]:
        """The query-string of this view without the tab's own parameters."""
        params = {"range": self.range_name}
        if self.range_name == "custom":
            params["start"] = self.custom_start.isoformat() if self.custom_start else ""
            params["end"] = self.custom_end.isoformat() if self.custom_end else ""
        params.update({k: v for k, v in self.filter_params.items() if v})
        return params

    def query_string(self, **extra: object) -> str:
        params: dict[str, object] = dict(self.common_params())
        params.update({k: v for k, v in extra.items() if v is not None and v != ""})
        return urlencode(params, doseq=True)

    def with_extra(self, extra: Mapping[str, Any]) -> DashboardQuery:
        return DashboardQuery(**{**self.__dict__, "extra": dict(extra)})


def _single(params: Mapping[str, Any], name: str) -> str | None:
    """One value of a query parameter (QueryDict or dict); NUL is refused by the middleware."""
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TabInputError(name, "Give one text value.")
    if len(value) > analytics.MAX_FILTER_LENGTH:
        raise TabInputError(name, "The value is too long.")
    return value


def parse_dashboard_query(
    *, organization: Organization, params: Mapping[str, Any], as_of: dt.datetime
) -> DashboardQuery:
    """The common parameters of every tab, page, export and drill-down (TabInputError)."""
    if "\x00" in "".join(str(v) for v in params.values()):
        raise TabInputError("query", "NUL characters are not allowed.")
    range_name = (_single(params, "range") or analytics.DEFAULT_RANGE).strip()
    if range_name not in RANGE_CHOICES:
        raise TabInputError("range", f"Use one of {', '.join(RANGE_CHOICES)}.")
    custom_start = custom_end = None
    if range_name == "custom":
        raw = {"start": _single(params, "start") or "", "end": _single(params, "end") or ""}
        try:
            window, range_key = analytics.parse_time_range(raw, tz=organization.tz, as_of=as_of)
        except analytics.OverviewInputError as exc:
            raise TabInputError(
                exc.field.replace("timeRange.", "").replace("timeRange", "start"), str(exc)
            ) from exc
        custom_start, custom_end = dt.date.fromisoformat(raw["start"]), dt.date.fromisoformat(raw["end"])
    else:
        window, range_key = analytics.parse_time_range(range_name, tz=organization.tz, as_of=as_of)
    sent = {name: _single(params, name) or "" for name in FILTER_PARAMS}
    try:
        filters = analytics.parse_filters(sent, organization=organization)
    except analytics.OverviewInputError as exc:
        raise TabInputError(exc.field.replace("filters.", ""), str(exc)) from exc
    return DashboardQuery(
        organization=organization,
        window=window,
        range_name=range_name,
        range_key=range_key,
        filters=filters,
        as_of=as_of,
        filter_params={k: v for k, v in sent.items() if v},
        custom_start=custom_start,
        custom_end=custom_end,
    )


def get_tab(name: str) -> ModuleType:
    if name not in DATA_TABS:
        raise KeyError(name)
    return importlib.import_module(f"insights.tabs.{name}")


def parse_tab_query(
    *, tab: str, organization: Organization, params: Mapping[str, Any], as_of: dt.datetime
) -> DashboardQuery:
    """The common parameters plus the tab's own (its parse_extra)."""
    query = parse_dashboard_query(organization=organization, params=params, as_of=as_of)
    module = get_tab(tab)
    parse_extra = getattr(module, "parse_extra", None)
    if parse_extra is None:
        return query
    return query.with_extra(parse_extra(params, organization=organization))


def _cache_key(tab: str, query: DashboardQuery) -> str:
    normal = {
        "tab": tab,
        "range": query.range_key,
        "filters": asdict(query.filters),
        "extra": query.extra,
        "tz": query.organization.timezone,
    }
    digest = hashlib.sha256(json.dumps(normal, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return org_cache_key(query.organization.pk, f"insights-tab-{tab}", digest)


def tab_payload(tab: str, query: DashboardQuery) -> dict:
    """The tab's payload, cached per organization data version (any ingest invalidates it).

    Named windows end "now": the key holds the label, so a cached answer lags at most the TTL.
    """
    key = _cache_key(tab, query)
    payload = cache.get(key)
    if payload is None:
        payload = get_tab(tab).compute(query)
        cache.set(key, payload, TAB_TTL)
    return payload


def records_url(kind: str, query: DashboardQuery, **extra: object) -> str:
    """A drill-down link: the records behind a bar, slice or cell, same window and filters.

    `extra` uses the names of RECORD_KINDS[kind] (e.g. stage="converted", hour=14) or a
    filter name (source="Referral") that replaces the view's own value of that filter.
    """
    unknown = set(extra) - set(RECORD_KINDS[kind]) - set(FILTER_PARAMS)
    if unknown:
        raise ValueError(f"unknown drill-down parameter(s) for {kind}: {sorted(unknown)}")
    return f"{reverse('insights-records', kwargs={'kind': kind})}?{query.query_string(**extra)}"


@dataclass(frozen=True)
class CsvTable:
    """One table of a tab as plain cells (numbers stay numbers, None is an empty cell)."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


# --- the range block every data tab answers with ------------------------------------------


class TabRangeSerializer(serializers.Serializer):
    """The schema of a tab's `range` block: one class, so one schema component ("TabRange");
    each tab makes its own instance (a serializer field can have one parent only)."""

    label = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    previousStart = serializers.DateTimeField()
    timezone = serializers.CharField()
    currency = serializers.CharField()


def range_payload(query: DashboardQuery) -> dict:
    """The window, the previous one's start (UTC, ISO 8601), the zone and the currency."""
    return {
        "label": query.window.label,
        "start": query.window.start.astimezone(dt.UTC).isoformat(),
        "end": query.window.end.astimezone(dt.UTC).isoformat(),
        "previousStart": query.previous.start.astimezone(dt.UTC).isoformat(),
        "timezone": query.organization.timezone,
        "currency": query.organization.currency,
    }
