"""Reads of the business-intelligence API and the /insights page (docs/insights.md), scoped.

A `Scope` is an organization and optionally one member: managers and admins read the whole
organization (or one agent's part of it with ?agent=); an agent reads only their own part:
the insights whose agent is them or whose lead is assigned to them, the opportunities they
own or whose lead is theirs, their own activities, leads and metric series. Every object is
fetched through the scope, so another organization's id and a colleague's id answer the
same 404. Each read is a fixed number of aggregate queries, whatever the data size.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.db.models import Case, Count, DecimalField, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.http import Http404

from core.cache import org_cache_key
from core.errors import ApplicationError
from core.metrics import percent, trend_percent, trend_points
from core.pagination import cursor_decode, cursor_encode, cursor_id, cursor_moment
from core.tenancy import get_for_org_or_404
from core.timeranges import NAMED_RANGES, Window, local_midnight
from crm.models import Activity, ActivityType, Lead, LeadStatus, Member, Organization, Role
from insights import analytics
from insights import metrics as numbers
from insights.bi.models import (
    OPEN_OPPORTUNITY_STATUSES,
    BusinessInsight,
    InsightType,
    MetricName,
    MetricPeriod,
    Opportunity,
    OpportunityStatus,
    Priority,
)
from insights.bi.performance.selectors import metric_series
from insights.selectors import Filters

SUMMARY_DAYS = 30
SUMMARY_TTL = 5 * 60
TOP_INSIGHTS = 5
DEFAULT_LIMIT, MAX_LIMIT = 25, 100
METRICS_MAX_DAYS = 366
YEARS = (2000, 2100)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMAIL_MAX_LENGTH = 254
CENTS = Decimal("0.01")


class FilterError(ApplicationError):
    """A bad query value; `field` names it (answered 400)."""

    # (field, message): the order of its raise sites here and in insights.bi.views.
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)


class ScopeForbidden(ApplicationError):
    """An agent asked for someone else's part (answered 403, like the agents' API)."""

    status = 403


# --- scope --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    organization: Organization
    agent: Member | None = None  # None: the whole organization
    # Who reads: a manager or admin may see every member's name; an agent no colleague's.
    viewer_is_manager: bool = True

    @property
    def agent_id(self) -> int | None:
        return self.agent.pk if self.agent is not None else None

    def shows_member(self, member: Member | None) -> bool:
        """Whether a member's name may appear: an agent sees themselves and managers, never
        another agent (RELIABILITY.md G5)."""
        if member is None:
            return False
        if self.viewer_is_manager or self.agent is None:
            return True
        return member.pk == self.agent.pk or member.is_manager


def scope_for(*, member: Member, agent_email: str | None) -> Scope:
    """No ?agent=: managers and admins get the organization, agents themselves; naming
    someone else is for managers only (ScopeForbidden), and unknown e-mails are a 404."""
    organization, manager = member.organization, member.is_manager
    if not agent_email:
        return Scope(organization, None if manager else member, manager)
    # Only an empty value means "not given": one that strips to nothing names no member.
    email = agent_email.strip().lower()
    if email == member.email.lower():
        return Scope(organization, member, manager)
    if not manager:
        raise ScopeForbidden("Can only access own data")
    if "\x00" in email or len(email) > EMAIL_MAX_LENGTH:
        # No member has such an address; PostgreSQL would refuse the NUL with an error.
        raise Http404("member not found")
    return Scope(organization, get_for_org_or_404(Member, organization, email=email), manager)


def agent_choices(organization: Organization) -> list[Member]:
    return list(Member.objects.filter(organization=organization, role=Role.AGENT).order_by("name", "email"))


def insights_visible(scope: Scope) -> QuerySet:
    qs = BusinessInsight.objects.for_org(scope.organization)
    if scope.agent is None:
        return qs
    return qs.filter(Q(agent=scope.agent) | Q(lead__assigned_agent=scope.agent))


def opportunities_visible(scope: Scope) -> QuerySet:
    qs = Opportunity.objects.for_org(scope.organization)
    if scope.agent is None:
        return qs
    return qs.filter(Q(owner=scope.agent) | Q(lead__assigned_agent=scope.agent))


def _get_or_404(queryset: QuerySet, object_id: object) -> object:
    # The same answer as core.tenancy.get_for_org_or_404 for a missing id.
    try:
        return queryset.get(pk=object_id)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"{queryset.model._meta.verbose_name} not found") from exc


def insight_get(*, scope: Scope, insight_id: object) -> BusinessInsight:
    return _get_or_404(
        insights_visible(scope).select_related("lead", "contact", "agent", "resolved_by"), insight_id
    )


def opportunity_get(*, scope: Scope, opportunity_id: object) -> Opportunity:
    return _get_or_404(
        opportunities_visible(scope).select_related("lead", "contact", "owner"), opportunity_id
    )


def opportunity_history(opportunity: Opportunity) -> list:
    return list(opportunity.changes.select_related("actor").order_by("changed_at", "id"))


# --- query values -----------------------------------------------------------------------------


def _day(value: str, field: str) -> dt.date:
    if not ISO_DATE.match(value):
        raise FilterError(field, "Use a date as YYYY-MM-DD.")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise FilterError(field, "Not a valid date.") from exc
    if not YEARS[0] <= day.year <= YEARS[1]:
        raise FilterError(field, f"Use a year from {YEARS[0]} to {YEARS[1]}.")
    return day


def _choice(params: Mapping[str, str], field: str, choices: list[str]) -> str:
    value = params.get(field) or ""
    if value and value not in choices:
        raise FilterError(field, f"Use one of {', '.join(choices)}.")
    return value


def _days(params: Mapping[str, str]) -> tuple[dt.date | None, dt.date | None]:
    start = _day(params["start"], "start") if params.get("start") else None
    end = _day(params["end"], "end") if params.get("end") else None
    if start and end and start > end:
        raise FilterError("start", "The start must be on or before the end.")
    return start, end


@dataclass(frozen=True)
class InsightFilters:
    type: str = ""
    priority: str = ""
    resolved: bool | None = None
    lead_id: int | None = None
    start: dt.date | None = None  # local days, both inclusive, on created_at
    end: dt.date | None = None

    def q(self, tz: dt.tzinfo) -> Q:
        q = Q()
        if self.type:
            q &= Q(type=self.type)
        if self.priority:
            q &= Q(priority=self.priority)
        if self.resolved is not None:
            q &= Q(resolved_at__isnull=not self.resolved)
        if self.lead_id is not None:
            q &= Q(lead_id=self.lead_id)
        if self.start:
            q &= Q(created_at__gte=local_midnight(self.start, tz))
        if self.end:
            q &= Q(created_at__lt=local_midnight(self.end + dt.timedelta(days=1), tz))
        return q


def parse_insight_filters(params: Mapping[str, str], *, fixed_type: str = "") -> InsightFilters:
    resolved = params.get("resolved") or ""
    if resolved not in ("", "true", "false"):
        raise FilterError("resolved", "Use true or false.")
    lead = params.get("lead") or ""
    if lead and not (lead.isascii() and lead.isdigit() and len(lead) <= 18):
        raise FilterError("lead", "Use a lead id (a whole number).")
    start, end = _days(params)
    return InsightFilters(
        type=fixed_type or _choice(params, "type", InsightType.values),
        priority=_choice(params, "priority", Priority.values),
        resolved=None if not resolved else resolved == "true",
        lead_id=int(lead) if lead else None,
        start=start,
        end=end,
    )


def parse_limit(value: str | None) -> int:
    text = value or str(DEFAULT_LIMIT)
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= MAX_LIMIT):
        raise FilterError("limit", f"Use a whole number from 1 to {MAX_LIMIT}.")
    return int(text)


# --- insight lists --------------------------------------------------------------------------

PRIORITY_RANK = Case(
    When(priority=Priority.HIGH, then=Value(0)),
    When(priority=Priority.MEDIUM, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)
# API lists: "newest" (created_at, id) or "impact" (expected value first, unranked last).
ORDERINGS = {
    "newest": (F("created_at").desc(), F("id").desc()),
    "impact": (F("impact").desc(nulls_last=True), F("id").desc()),
}


def _insights(scope: Scope, filters: InsightFilters) -> QuerySet:
    return (
        insights_visible(scope)
        .filter(filters.q(scope.organization.tz))
        .select_related("lead", "contact", "agent", "resolved_by")
    )


def _encode_cursor(ordering: str, item: BusinessInsight) -> str:
    if ordering == "newest":
        return cursor_encode(item.created_at, item.pk)
    return cursor_encode("" if item.impact is None else item.impact, item.pk)


def _after(ordering: str, cursor: str) -> Q:
    """Rows after the cursor's (key, id) in `ordering`; FilterError on anything else."""
    invalid = FilterError("cursor", "This cursor is not valid; start again without it.")
    key, raw_id = cursor_decode(cursor, parts=2, invalid=invalid)
    last_id = cursor_id(raw_id, invalid=invalid)
    if ordering == "newest":
        moment = cursor_moment(key, invalid=invalid)
        return Q(created_at__lt=moment) | Q(created_at=moment, id__lt=last_id)
    if key == "":
        return Q(impact__isnull=True, id__lt=last_id)
    try:
        impact = Decimal(key)
    except InvalidOperation as exc:
        raise invalid from exc
    if not impact.is_finite() or abs(impact) >= Decimal(10) ** 14:
        raise invalid
    return Q(impact__lt=impact) | Q(impact=impact, id__lt=last_id) | Q(impact__isnull=True)


@dataclass(frozen=True)
class InsightPage:
    items: list[BusinessInsight]
    next_cursor: str | None


def insights_page(
    *, scope: Scope, filters: InsightFilters, limit: int, cursor: str | None = None, ordering: str = "newest"
) -> InsightPage:
    """One page of a keyset-paginated list: one query, whatever the page."""
    qs = _insights(scope, filters).order_by(*ORDERINGS[ordering])
    if cursor:
        qs = qs.filter(_after(ordering, cursor))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return InsightPage(rows, _encode_cursor(ordering, rows[-1]) if more else None)


def insights_by_priority(*, scope: Scope, filters: InsightFilters) -> QuerySet:
    """The page's list: high, medium, low; within each the largest impact, then the newest."""
    return _insights(scope, filters).order_by(
        PRIORITY_RANK, F("impact").desc(nulls_last=True), F("created_at").desc(), F("id").desc()
    )


def top_insights(scope: Scope, limit: int = TOP_INSIGHTS) -> list[BusinessInsight]:
    return list(insights_by_priority(scope=scope, filters=InsightFilters(resolved=False))[:limit])


# --- dashboard ------------------------------------------------------------------------------


def _money(value: object) -> float:
    return float(Decimal(value or 0).quantize(CENTS))


def _card(
    value: object, previous: object, *, change: float | None, unit: str = "percent", **extra: object
) -> dict:
    return {"value": value, "previous": previous, "change": change, "changeUnit": unit, **extra}


def summary_overview_request(
    scope: Scope, window: Window, metrics: tuple[str, ...] = ()
) -> analytics.OverviewRequest:
    """The overview request the summary cards are read from (calls, leads and revenue of the
    scope over `window`), with `metrics` added when a caller wants more blocks of the same
    computation (insights.live)."""
    return analytics.OverviewRequest(
        window=window,
        range_key=f"{SUMMARY_DAYS}d",
        metrics=tuple(dict.fromkeys(("calls", "leads", "revenue", *metrics))),
        filters=Filters(agent_id=scope.agent_id),
    )


def _overview_cards(scope: Scope, window: Window, computed: tuple[dict, dict] | None = None) -> dict:
    """Conversion rate, revenue and calls of the manager overview (insights.analytics, the
    same definitions as the dashboard), against the previous window; cached 5 minutes.
    `computed`: compute_overview_exact's answer for summary_overview_request, when the caller
    has it already."""
    key = org_cache_key(scope.organization.pk, "bi-summary", scope.agent_id or "all", window.end.isoformat())
    cards = cache.get(key) if computed is None else None
    if cards is not None:
        return cards
    if computed is None:
        request = summary_overview_request(scope, window)
        computed = analytics.compute_overview_exact(organization=scope.organization, request=request)
    answer, exact = computed
    comparisons = answer["comparisons"]
    rate_now, rate_before = (exact["leads"][w]["conversionRate"] for w in ("current", "previous"))
    rate_change = trend_points(rate_now, rate_before)
    cards = {
        "conversionRate": _card(
            comparisons["leads"]["current"]["conversionRate"],
            comparisons["leads"]["previous"]["conversionRate"],
            change=rate_change,
            unit="points",
        ),
        "revenue": _card(
            comparisons["revenue"]["current"]["total"],
            comparisons["revenue"]["previous"]["total"],
            change=answer["trends"]["revenue"],
        ),
        "calls": _card(
            comparisons["calls"]["current"]["total"],
            comparisons["calls"]["previous"]["total"],
            change=answer["trends"]["calls"],
        ),
    }
    cache.set(key, cards, SUMMARY_TTL)
    return cards


def _open_at(moment: dt.datetime, closed: str) -> Q:
    return Q(created_at__lt=moment) & (Q(**{f"{closed}__isnull": True}) | Q(**{f"{closed}__gte": moment}))


def _insight_counts(scope: Scope, window: Window) -> dict:
    row = insights_visible(scope).aggregate(
        **{p: Count("pk", filter=Q(resolved_at__isnull=True, priority=p)) for p in Priority.values},
        before=Count("pk", filter=_open_at(window.start, "resolved_at")),
    )
    now = sum(row[p] for p in Priority.values)
    return _card(
        now,
        row["before"],
        change=trend_percent(current=now, previous=row["before"]),
        byPriority={p: row[p] for p in Priority.values},
    )


WEIGHTED = F("estimated_value") * F("confidence") * Value(Decimal("0.01"))
DECIMAL = DecimalField(max_digits=24, decimal_places=4)


def pipeline(scope: Scope, window: Window) -> tuple[list[dict], dict]:
    """Per status: count, estimated and confidence-weighted value; and the open pipeline's
    value now against at the window's start (an opportunity is open until closed_at). One query."""
    aggregates = {}
    for s in OpportunityStatus.values:
        aggregates |= {
            f"{s}_count": Count("pk", filter=Q(status=s)),
            f"{s}_value": Sum("estimated_value", filter=Q(status=s)),
            f"{s}_weighted": Sum(WEIGHTED, filter=Q(status=s), output_field=DECIMAL),
        }
    aggregates["before"] = Sum("estimated_value", filter=_open_at(window.start, "closed_at"))
    row = opportunities_visible(scope).aggregate(**aggregates)
    columns = [
        {
            "status": s,
            "label": OpportunityStatus(s).label,
            "count": row[f"{s}_count"],
            "estimatedValue": _money(row[f"{s}_value"]),
            "weightedValue": _money(row[f"{s}_weighted"]),
        }
        for s in OpportunityStatus.values
    ]
    open_value = sum((Decimal(row[f"{s}_value"] or 0) for s in OPEN_OPPORTUNITY_STATUSES), Decimal(0))
    weighted = sum((Decimal(row[f"{s}_weighted"] or 0) for s in OPEN_OPPORTUNITY_STATUSES), Decimal(0))
    before = Decimal(row["before"] or 0)
    card = _card(
        _money(open_value),
        _money(before),
        change=trend_percent(current=open_value, previous=before),
        weightedValue=_money(weighted),
        count=sum(row[f"{s}_count"] for s in OPEN_OPPORTUNITY_STATUSES),
    )
    return columns, card


def activity_breakdown(scope: Scope, window: Window) -> list[dict]:
    """Activities per type in the window and the previous one (the scope's agent's own)."""
    previous = window.previous()
    qs = Activity.objects.for_org(scope.organization).filter(
        occurred_at__gte=previous.start, occurred_at__lt=window.end
    )
    if scope.agent is not None:
        qs = qs.filter(agent=scope.agent)
    rows = {
        r["type"]: r
        for r in qs.values("type").annotate(
            current=Count("pk", filter=Q(occurred_at__gte=window.start)),
            before=Count("pk", filter=Q(occurred_at__lt=window.start)),
        )
    }
    out = []
    for value, label in ActivityType.choices:
        now, before = (rows.get(value, {}).get(k, 0) for k in ("current", "before"))
        out.append(
            {
                "type": value,
                "label": label.capitalize().replace("_", " "),
                "count": now,
                "previous": before,
                "change": trend_percent(current=now, previous=before),
            }
        )
    return out


def lead_status_distribution(scope: Scope) -> list[dict]:
    """Every lead of the scope (assigned to the agent) by its current status."""
    qs = Lead.objects.for_org(scope.organization)
    if scope.agent is not None:
        qs = qs.filter(assigned_agent=scope.agent)
    counts = {r["status"]: r["n"] for r in qs.values("status").annotate(n=Count("pk"))}
    total = sum(counts.values())
    return [
        {
            "status": value,
            "label": value.capitalize(),
            "count": counts.get(value, 0),
            "share": numbers.one_decimal(percent(counts.get(value, 0), total)),
        }
        for value in LeadStatus.values
    ]


def summary_window(as_of: dt.datetime) -> Window:
    return Window(start=as_of - dt.timedelta(days=SUMMARY_DAYS), end=as_of, label=f"{SUMMARY_DAYS}d")


def summary(
    *, scope: Scope, window: Window, overview: tuple[dict, dict] | None = None
) -> tuple[dict, list[dict]]:
    """The summary cards, and the pipeline columns computed with them. `overview`: the answer
    to summary_overview_request, when the caller computed it already."""
    columns, pipeline_card = pipeline(scope, window)
    cards = {
        **_overview_cards(scope, window, overview),
        "openInsights": _insight_counts(scope, window),
        "openPipeline": pipeline_card,
    }
    return cards, columns


def dashboard(*, scope: Scope, as_of: dt.datetime) -> dict:
    """GET /api/bi/dashboard and the page's top (all but the top insights): plain values."""
    window = summary_window(as_of)
    cards, columns = summary(scope=scope, window=window)
    return {
        "window": window,
        "summary": cards,
        "pipeline": columns,
        "activityBreakdown": activity_breakdown(scope, window),
        "leadStatus": lead_status_distribution(scope),
    }


def opportunities_board(*, scope: Scope, per_column: int) -> dict[str, list[Opportunity]]:
    """The first `per_column` opportunities of each status: the open ones most likely first,
    the closed ones latest first. One query per column."""
    qs = opportunities_visible(scope).select_related("lead", "contact", "owner")
    order = {s: ("-confidence", "-id") for s in OPEN_OPPORTUNITY_STATUSES}
    return {
        s: list(qs.filter(status=s).order_by(*order.get(s, ("-status_changed_at", "-id")))[:per_column])
        for s in OpportunityStatus.values
    }


# --- metric series ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricQuery:
    metrics: tuple[str, ...]
    period: str
    window: Window
    first_day: dt.date  # local days of the window, both inclusive
    last_day: dt.date


def parse_metric_query(params: Mapping[str, str], *, tz: dt.tzinfo, as_of: dt.datetime) -> MetricQuery:
    metric = _choice(params, "metric", MetricName.values)
    period = _choice(params, "period", MetricPeriod.values) or MetricPeriod.DAY
    start, end = _days(params)
    range_name = params.get("range") or ""
    if start or end:
        if not (start and end):
            raise FilterError("start" if not start else "end", "Give both start and end, or a range.")
        if range_name:
            raise FilterError("range", "Give a range or start and end, not both.")
        if (end - start).days + 1 > METRICS_MAX_DAYS:
            raise FilterError("end", f"A custom range covers at most {METRICS_MAX_DAYS} days.")
        window = Window(local_midnight(start, tz), local_midnight(end + dt.timedelta(days=1), tz), "custom")
    else:
        range_name = range_name or "30d"
        if range_name not in NAMED_RANGES:
            raise FilterError("range", f"Use one of {', '.join(NAMED_RANGES)}, or start and end.")
        window = Window(as_of - NAMED_RANGES[range_name], as_of, range_name)
    return MetricQuery(
        metrics=(metric,) if metric else tuple(MetricName.values),
        period=period,
        window=window,
        first_day=window.start.astimezone(tz).date(),
        last_day=(window.end - dt.timedelta(microseconds=1)).astimezone(tz).date(),
    )


def metric_rows(*, scope: Scope, query: MetricQuery) -> list[dict]:
    """The stored series (organization-wide, or the scope's agent's) of the periods that
    overlap the window, valued as the dashboards show them (insights.bi.performance). One query."""
    return metric_series(
        organization=scope.organization,
        metric=query.metrics[0] if len(query.metrics) == 1 else None,
        period=query.period,
        start=query.first_day,
        end=query.last_day,
        agent_id=scope.agent_id,
    )
