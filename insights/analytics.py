"""The manager overview answer (POST /api/analytics/overview), used by the API and, later,
the dashboard pages: request validation, the computation over insights.selectors and
insights.metrics, and a 5-minute cache per organization data version (core.cache: any
ingest for the organization invalidates it)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass

from django.core.cache import cache
from django.db.models import Q

from core.cache import org_cache_key
from core.errors import ApplicationError
from core.metrics import trend_percent
from core.timeranges import NAMED_RANGES, Window, local_midnight, parse_range
from crm.models import Organization, SaleKind
from insights import metrics, selectors
from insights.selectors import CALLS, CAMPAIGNS, LEADS, SALES, Filters, Part

OVERVIEW_TTL = 5 * 60
METRICS = ("calls", "leads", "revenue", "campaigns")
DEFAULT_RANGE = "30d"
CUSTOM_MAX_DAYS = 366
CUSTOM_YEARS = (2000, 2100)
RECURRING_SPAN = dt.timedelta(days=30)
# API filter name -> (Filters field, dimension column)
DIMENSION_FILTERS = {"region": "region", "productLine": "product_line", "source": "source"}
FILTER_NAMES = (*DIMENSION_FILTERS, "agent", "organizationId")
MAX_FILTER_LENGTH = 254
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class OverviewInputError(ApplicationError):
    """A bad request value (400); `field` names it (e.g. "filters.region")."""

    # (field, message): the order of its raise sites, and of insights.tabs' TabInputError.
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class OrganizationMismatch(ApplicationError):
    """filters.organizationId names another organization: answered like a missing one (404)."""

    status = 404


@dataclass(frozen=True)
class OverviewRequest:
    window: Window
    # What identifies the window in the cache key: the range label, or the custom dates.
    range_key: str
    metrics: tuple[str, ...]
    filters: Filters


def _find_nul(value: object, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return path or "body"
            found = _find_nul(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_nul(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _custom_day(value: object, field: str) -> dt.date:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise OverviewInputError(field, "Use a date as YYYY-MM-DD.")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise OverviewInputError(field, "Not a valid date.") from exc
    if not CUSTOM_YEARS[0] <= day.year <= CUSTOM_YEARS[1]:
        raise OverviewInputError(field, f"Use a year from {CUSTOM_YEARS[0]} to {CUSTOM_YEARS[1]}.")
    return day


def parse_time_range(value: object, *, tz: dt.tzinfo, as_of: dt.datetime) -> tuple[Window, str]:
    """A named range ending at `as_of`, or custom local dates [start, end] (end inclusive)."""
    if value is None:
        value = DEFAULT_RANGE
    if isinstance(value, str):
        if value not in NAMED_RANGES:
            raise OverviewInputError("timeRange", f"Use one of {', '.join(NAMED_RANGES)} or {{start, end}}.")
        return parse_range(value, as_of=as_of, allow_days=False), value
    if not isinstance(value, dict) or set(value) - {"start", "end"}:
        raise OverviewInputError(
            "timeRange", 'Use a range name or {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}.'
        )
    start = _custom_day(value.get("start"), "timeRange.start")
    end = _custom_day(value.get("end"), "timeRange.end")
    if start > end:
        raise OverviewInputError("timeRange", "The start must be on or before the end.")
    if (end - start).days + 1 > CUSTOM_MAX_DAYS:
        raise OverviewInputError("timeRange", f"A custom range covers at most {CUSTOM_MAX_DAYS} days.")
    window = Window(
        start=local_midnight(start, tz), end=local_midnight(end + dt.timedelta(days=1), tz), label="custom"
    )
    return window, f"{start.isoformat()}..{end.isoformat()}"


def _parse_metrics(value: object) -> tuple[str, ...]:
    if value is None:
        return METRICS
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise OverviewInputError("metrics", f"Give a non-empty list drawn from {', '.join(METRICS)}.")
    unknown = sorted(set(value) - set(METRICS))
    if unknown:
        raise OverviewInputError("metrics", f"Unknown metric {unknown[0]!r}; use {', '.join(METRICS)}.")
    return tuple(m for m in METRICS if m in value)


def parse_filters(value: object, *, organization: Organization) -> Filters:
    if value is None:
        return Filters()
    if not isinstance(value, dict):
        raise OverviewInputError("filters", "Send an object.")
    for name in value:
        if name not in FILTER_NAMES:
            raise OverviewInputError(f"filters.{name}", f"Unknown filter; use {', '.join(FILTER_NAMES)}.")
    org_ref = value.get("organizationId")
    if org_ref not in (None, "") and str(org_ref) not in (organization.slug, str(organization.pk)):
        raise OrganizationMismatch("No such organization.")
    chosen: dict[str, object] = {}
    for name, column in DIMENSION_FILTERS.items():
        text = value.get(name)
        if text in (None, ""):
            continue
        if not isinstance(text, str) or len(text) > MAX_FILTER_LENGTH:
            raise OverviewInputError(f"filters.{name}", "Give a text value.")
        if not selectors.dimension_value_used(organization=organization, dimension=column, value=text):
            raise OverviewInputError(f"filters.{name}", f"{text!r} is not used in your organization.")
        chosen[column] = text
    agent = value.get("agent")
    if agent not in (None, ""):
        if not isinstance(agent, str) or len(agent) > MAX_FILTER_LENGTH:
            raise OverviewInputError("filters.agent", "Give the agent's e-mail.")
        member = selectors.member_by_email(organization=organization, email=agent)
        if member is None:
            raise OverviewInputError("filters.agent", "No member with this e-mail in your organization.")
        chosen["agent_id"] = member.pk
    return Filters(**chosen)


def parse_overview_request(
    *, organization: Organization, body: object, as_of: dt.datetime
) -> OverviewRequest:
    """Validate the API body; OverviewInputError (400) or OrganizationMismatch (404)."""
    if not isinstance(body, dict):
        raise OverviewInputError("body", "Send a JSON object.")
    nul = _find_nul(body, "")
    if nul:
        raise OverviewInputError(nul, "NUL characters are not allowed.")
    unknown = sorted(set(body) - {"timeRange", "metrics", "filters"})
    if unknown:
        raise OverviewInputError(unknown[0], "Unknown field; use timeRange, metrics and filters.")
    filters = parse_filters(body.get("filters"), organization=organization)
    window, range_key = parse_time_range(body.get("timeRange"), tz=organization.tz, as_of=as_of)
    return OverviewRequest(
        window=window, range_key=range_key, metrics=_parse_metrics(body.get("metrics")), filters=filters
    )


def overview(
    *, organization: Organization, time_range: object, metrics: object, filters: object, as_of: dt.datetime
) -> dict:
    """The cached overview for a raw request (raises like parse_overview_request)."""
    request = parse_overview_request(
        organization=organization,
        body={"timeRange": time_range, "metrics": metrics, "filters": filters},
        as_of=as_of,
    )
    return overview_for(organization=organization, request=request)


def _cache_key(organization: Organization, request: OverviewRequest) -> str:
    # Named windows end "now": the key holds the label, and the TTL bounds how far the
    # cached window lags behind (an ingest bumps the organization's version anyway).
    normal = {
        "range": request.range_key,
        "metrics": request.metrics,
        "filters": asdict(request.filters),
        "tz": organization.timezone,
    }
    digest = hashlib.sha256(json.dumps(normal, sort_keys=True).encode()).hexdigest()[:32]
    return org_cache_key(organization.pk, "insights-overview", digest)


def overview_for(*, organization: Organization, request: OverviewRequest) -> dict:
    key = _cache_key(organization, request)
    payload = cache.get(key)
    if payload is None:
        payload = compute_overview(organization=organization, request=request)
        cache.set(key, payload, OVERVIEW_TTL)
    return payload


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _last_30_days(window: Window) -> Window:
    return Window(start=max(window.start, window.end - RECURRING_SPAN), end=window.end)


def compute_overview(*, organization: Organization, request: OverviewRequest) -> dict:
    """Both windows at once: per table two queries (rollup days + live rest)."""
    return compute_overview_exact(organization=organization, request=request)[0]


def compute_overview_exact(*, organization: Organization, request: OverviewRequest) -> tuple[dict, dict]:
    """The overview answer, and its `comparisons` unrounded (Decimals) for exact changes."""
    window, previous, flt = request.window, request.window.previous(), request.filters
    trusted, hours = selectors.trust(organization)
    parts = {"current": Part(window), "previous": Part(previous)}
    builders: dict[str, object] = {}
    headline: dict[str, tuple] = {}

    def totals(spec, extra_parts=None, group_by=None) -> dict:
        return selectors.window_totals(
            organization=organization,
            spec=spec,
            parts={**parts, **(extra_parts or {})},
            filters=flt,
            trusted_last_day=trusted,
            group_by=group_by,
            hours_until=hours,
        )

    if "calls" in request.metrics:
        t = totals(CALLS)
        cur, prev = t["current"].get(None, {}), t["previous"].get(None, {})
        builders["calls"] = lambda exact, c=cur, p=prev: (
            metrics.calls_block(c, exact=exact),
            metrics.calls_block(p, exact=exact),
        )
        headline["calls"] = (cur.get("calls", 0), prev.get("calls", 0))
    if "leads" in request.metrics:
        # The pipeline's inflow in the same read as the windows' leads (one query set).
        moments = {"current": window.end, "previous": previous.end}
        flow_parts = {f"pipeline_{name}": part for name, part in selectors.pipeline_parts(moments).items()}
        t = totals(LEADS, flow_parts)
        cur, prev = t["current"].get(None, {}), t["previous"].get(None, {})
        pipeline = selectors.pipeline_values(
            organization=organization,
            filters=flt,
            moments=moments,
            trusted_last_day=trusted,
            hours_until=hours,
            inflow={name: t[f"pipeline_{name}"] for name in moments},
        )
        builders["leads"] = lambda exact, c=cur, p=prev: (
            metrics.leads_block(c, pipeline_value=pipeline["current"], exact=exact),
            metrics.leads_block(p, pipeline_value=pipeline["previous"], exact=exact),
        )
        headline["leads"] = (cur.get("created", 0), prev.get("created", 0))
    if "revenue" in request.metrics:
        recurring = Q(kind=SaleKind.RECURRING)
        t = totals(
            SALES,
            {
                "current_mrr": Part(_last_30_days(window), recurring),
                "previous_mrr": Part(_last_30_days(previous), recurring),
            },
        )
        cur, prev = t["current"].get(None, {}), t["previous"].get(None, {})
        before = prev.get("amount_sum", 0)
        mrr = {name: t[f"{name}_mrr"].get(None, {}).get("amount_sum", 0) for name in ("current", "previous")}
        builders["revenue"] = lambda exact, c=cur, p=prev, b=before: (
            metrics.revenue_block(c, recurring_last_30d=mrr["current"], previous_total=b, exact=exact),
            metrics.revenue_block(p, recurring_last_30d=mrr["previous"], previous_total=0, exact=exact),
        )
        headline["revenue"] = (cur.get("amount_sum", 0), before)
    if "campaigns" in request.metrics:
        builders["campaigns"], headline["campaigns"] = campaign_blocks(
            organization,
            totals(CAMPAIGNS, group_by="campaign_id"),
            window=window,
            previous=previous,
            trusted_last_day=trusted,
            hours_until=hours,
        )
    data, trends, comparisons, exact_comparisons = {}, {}, {}, {}
    for name in request.metrics:
        current_block, previous_block = builders[name](False)
        trends[name] = trend_percent(current=headline[name][0], previous=headline[name][1])
        data[name] = {**current_block, "trend": trends[name]}
        comparisons[name] = _comparison(current_block, previous_block)
        exact_comparisons[name] = _comparison(*builders[name](True))
    answer = {
        "range": {
            "label": window.label,
            "start": _utc(window.start),
            "end": _utc(window.end),
            "previousStart": _utc(previous.start),
            "timezone": organization.timezone,
            "currency": organization.currency,
        },
        "data": data,
        "trends": trends,
        "comparisons": comparisons,
    }
    return answer, exact_comparisons


def _comparison(current_block: dict, previous_block: dict) -> dict:
    return {
        "current": {k: v for k, v in current_block.items() if k != "campaigns"},
        "previous": {k: v for k, v in previous_block.items() if k not in ("campaigns", "growthRate")},
    }


def campaign_blocks(
    organization: Organization,
    counted: dict,
    *,
    window: Window,
    previous: Window,
    trusted_last_day: dt.date | None,
    hours_until: dt.datetime | None = None,
):
    """A builder of the campaign blocks of both windows (exact or rounded) and the messages
    sent in each: the message counts given, last-touch revenue and leads touched per campaign
    from their rollups (+ live rest), campaign names and spend, distinct leads of each set."""
    attributed = selectors.window_totals(
        organization=organization,
        spec=selectors.ATTRIBUTION,
        parts={"current": Part(window), "previous": Part(previous)},
        filters=Filters(),
        trusted_last_day=trusted_last_day,
        group_by="campaign_id",
        hours_until=hours_until,
    )
    revenue = {
        name: {cid: t["amount_sum"] for cid, t in attributed[name].items() if t.get("amount_sum")}
        for name in ("current", "previous")
    }
    listed = {
        name: {cid for cid, c in counted[name].items() if c.get("sent", 0)} | set(revenue[name])
        for name in ("current", "previous")
    }
    every = listed["current"] | listed["previous"]
    info = selectors.campaigns_by_id(organization=organization, ids=every) if every else {}
    # Leads touched by each campaign and by each window's campaigns together: one read of the
    # campaigns' lead sets for both (selectors.distinct_leads_touched).
    touched = (
        selectors.distinct_leads_touched(
            organization=organization,
            sets={**{cid: {cid} for cid in every}, **{("listed", name): ids for name, ids in listed.items()}},
            trusted_last_day=trusted_last_day,
        )
        if every
        else {}
    )
    per_campaign = {cid: touched[cid] for cid in every}
    distinct = {name: touched[("listed", name)] for name in listed} if every else {}

    def _inputs(name: str) -> list[metrics.CampaignInput]:
        return [
            metrics.CampaignInput(
                external_id=info[cid]["external_id"],
                name=info[cid]["name"],
                counts=counted[name].get(cid, {}),
                spend=info[cid]["spend"],
                attributed_revenue=revenue[name].get(cid, 0),
                leads=per_campaign.get(cid, 0),
            )
            for cid in listed[name]
            if cid in info
        ]

    def block(name: str, exact: bool) -> dict:
        return metrics.campaigns_block(_inputs(name), distinct_leads=distinct.get(name, 0), exact=exact)

    sent = [sum(c.get("sent", 0) for c in counted[name].values()) for name in ("current", "previous")]
    return (lambda exact: (block("current", exact), block("previous", exact))), tuple(sent)
