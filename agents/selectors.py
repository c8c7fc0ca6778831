"""Reads of the agent analytics, scoped by organization (docs/metrics.md, "Agent metrics").

Window totals combine the trusted daily rows (AgentDailyMetrics) with live queries over the
raw tables for the rest of the window (the partial first day, today, and any day that
ingestion marked stale), so every answer equals the raw-table computation.

Money follows the currency rule of every dashboard (core.metrics.counted_currencies, the
same filter as insights.selectors.SALES): only sales in the organization's currency (or
without one) are summed; the others are counted as `excluded_sales`, never summed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from agents.metrics import TOTAL_FIELDS, AgentTotals
from agents.models import AgentDailyMetrics, AgentGoal
from core.metrics import counted_currencies
from core.models import FillState
from core.stats.fillstate import WindowPlan, trusted_through, window_plan  # noqa: F401 - re-exported
from core.stats.fillstate import fill_state as family_fill_state
from core.timeranges import Window
from crm.models import Activity, Lead, Member, Organization, Role, Sale

ROLLUP_SUMS = (
    "leads_assigned",
    "leads_contacted",
    "leads_interested",
    "leads_converted",
    "revenue",
    "sales_count",
    "excluded_sales",
    "response_microseconds",
    "response_count",
    "satisfaction_sum",
    "satisfaction_count",
)
# AgentDailyMetrics column -> AgentTotals field
ROLLUP_TO_TOTALS = {
    "leads_assigned": "assigned",
    "leads_contacted": "contacted",
    "leads_interested": "interested",
    "leads_converted": "converted",
}

RESPONSE = ExpressionWrapper(F("contacted_at") - F("assigned_at"), output_field=DurationField())
RESPONDED = Q(contacted_at__isnull=False, assigned_at__isnull=False)


def lead_aggregates() -> dict:
    """The per-lead sums of the agent metrics, for `.annotate()` or `.aggregate()`."""
    return {
        "assigned": Count("id"),
        "contacted": Count("id", filter=Q(contacted_at__isnull=False)),
        "interested": Count("id", filter=Q(interested_at__isnull=False)),
        "converted": Count("id", filter=Q(converted_at__isnull=False)),
        "response_duration": Sum(RESPONSE, filter=RESPONDED),
        "response_count": Count("id", filter=RESPONDED),
        "satisfaction_sum": Sum("satisfaction_rating"),
        "satisfaction_count": Count("satisfaction_rating"),
    }


def in_organization_currency(organization: Organization) -> Q:
    """Sales whose amounts are summed (core.metrics.counted_currencies)."""
    return Q(currency__in=counted_currencies(organization.currency))


def sale_aggregates(organization: Organization) -> dict:
    """Revenue and sales in the organization's currency; the other sales only counted."""
    counted = in_organization_currency(organization)
    return {
        "revenue": Sum("amount", filter=counted),
        "sales_count": Count("id", filter=counted),
        "excluded_sales": Count("id", filter=~counted),
    }


def handled_in(start: dt.datetime, end: dt.datetime) -> Q:
    """Leads handled in [start, end): assigned then, or created then when never assigned.

    Written as two index-friendly ranges rather than a filter on COALESCE(...).
    """
    return Q(assigned_at__gte=start, assigned_at__lt=end) | Q(
        assigned_at__isnull=True, created_at__gte=start, created_at__lt=end
    )


def agent_leads(organization: Organization) -> QuerySet:
    return Lead.objects.for_org(organization).filter(assigned_agent__isnull=False)


def agent_sales(organization: Organization) -> QuerySet:
    """Every sale with an agent, whatever its currency (for counts and first days)."""
    return Sale.objects.for_org(organization).filter(agent__isnull=False)


def agent_revenue_sales(organization: Organization) -> QuerySet:
    """The agent sales whose amounts are summed: those in the organization's currency."""
    return agent_sales(organization).filter(in_organization_currency(organization))


def _lead_row_totals(row: dict) -> dict:
    duration = row.pop("response_duration", None)
    row["response_microseconds"] = micros(duration)
    return row


def micros(duration: dt.timedelta | None) -> int:
    return 0 if duration is None else duration // dt.timedelta(microseconds=1)


# The statistics engine's family of AgentDailyMetrics (agents/statistics.py).
STATISTICS_FAMILY = "agents"


def fill_state(organization: Organization) -> FillState | None:
    return family_fill_state(organization, STATISTICS_FAMILY)


def agent_window_totals(
    *,
    organization: Organization,
    window: Window,
    state: FillState | None,
    agent_id: int | None = None,
) -> dict[int, AgentTotals]:
    """Totals per agent over the window: three queries whatever the number of agents/leads."""
    plan = window_plan(window, tz=organization.tz, trusted_last_day=trusted_through(state))
    # Running sums per agent, one AgentTotals each at the end: building and adding an
    # AgentTotals per row cost more than the queries for a thousand agents.
    sums: dict[int, list] = {}
    if plan.rollup_days is not None:
        rows = AgentDailyMetrics.objects.for_org(organization).filter(
            day__gte=plan.rollup_days[0], day__lte=plan.rollup_days[1]
        )
        if agent_id is not None:
            rows = rows.filter(agent_id=agent_id)
        for row in rows.values("agent_id").annotate(**{name: Sum(name) for name in ROLLUP_SUMS}):
            _accumulate(sums, row["agent_id"], {ROLLUP_TO_TOTALS.get(k, k): v for k, v in row.items()})
    if plan.live_ranges:
        lead_filter = Q()
        sale_filter = Q()
        for start, end in plan.live_ranges:
            lead_filter |= handled_in(start, end)
            sale_filter |= Q(closed_at__gte=start, closed_at__lt=end)
        leads = agent_leads(organization).filter(lead_filter)
        sales = agent_sales(organization).filter(sale_filter)
        if agent_id is not None:
            leads = leads.filter(assigned_agent_id=agent_id)
            sales = sales.filter(agent_id=agent_id)
        for row in leads.values("assigned_agent_id").annotate(**lead_aggregates()):
            _accumulate(sums, row["assigned_agent_id"], _lead_row_totals(row))
        for row in sales.values("agent_id").annotate(**sale_aggregates(organization)):
            _accumulate(sums, row["agent_id"], row)
    return {
        agent: AgentTotals.from_mapping(dict(zip(TOTAL_FIELDS, values, strict=True)))
        for agent, values in sums.items()
    }


def _accumulate(sums: dict[int, list], agent_id: int, row: dict) -> None:
    """Add one row (AgentTotals field -> sum; NULL counts 0) to the agent's running sums."""
    values = sums.get(agent_id)
    if values is None:
        values = sums[agent_id] = [0] * len(TOTAL_FIELDS)
    for index, name in enumerate(TOTAL_FIELDS):
        value = row.get(name)
        if value:
            values[index] += value


def raw_window_totals(*, organization: Organization, window: Window, agent_id: int) -> AgentTotals:
    """The same totals straight from the raw tables (the reference the rollups must equal)."""
    lead_row = (
        agent_leads(organization)
        .filter(handled_in(window.start, window.end), assigned_agent_id=agent_id)
        .aggregate(**lead_aggregates())
    )
    sale_row = (
        agent_sales(organization)
        .filter(agent_id=agent_id, closed_at__gte=window.start, closed_at__lt=window.end)
        .aggregate(**sale_aggregates(organization))
    )
    return AgentTotals.from_mapping(_lead_row_totals(lead_row)) + AgentTotals.from_mapping(sale_row)


def _ranked(organization: Organization) -> QuerySet:
    """The agents a team ranking covers: active members with the agent role, by e-mail."""
    return (
        Member.objects.for_org(organization)
        .filter(role=Role.AGENT, is_active=True, is_active_agent=True)
        .order_by("email")
    )


def ranked_agents(organization: Organization) -> list[Member]:
    return list(_ranked(organization).only("id", "email", "name", "team"))


def ranked_agent_keys(organization: Organization) -> list[tuple[int, str]]:
    """(id, e-mail) of the same agents, without building a model instance each (the ranking
    needs no more)."""
    return list(_ranked(organization).values_list("id", "email"))


def team_agents(organization: Organization) -> list[Member]:
    return list(
        Member.objects.for_org(organization)
        .filter(role=Role.AGENT)
        .only("id", "email", "name", "team", "is_active", "is_active_agent")
        .order_by("name", "email")
    )


def leads_since(*, organization: Organization, agent_id: int, start: dt.datetime, end: dt.datetime) -> int:
    return agent_leads(organization).filter(handled_in(start, end), assigned_agent_id=agent_id).count()


def lead_source_counts(
    *, organization: Organization, agent_id: int, window: Window
) -> list[tuple[str, int, int]]:
    rows = (
        agent_leads(organization)
        .filter(handled_in(window.start, window.end), assigned_agent_id=agent_id)
        .values("source")
        .annotate(count=Count("id"), converted=Count("id", filter=Q(converted_at__isnull=False)))
        .values_list("source", "count", "converted")
    )
    return list(rows)


def revenue_by_lead_source(
    *, organization: Organization, agent_id: int, window: Window
) -> dict[str, Decimal]:
    rows = (
        agent_revenue_sales(organization)
        .filter(agent_id=agent_id, closed_at__gte=window.start, closed_at__lt=window.end)
        .values("lead__source")
        .annotate(total=Sum("amount"))
        .values_list("lead__source", "total")
    )
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for source, total in rows:
        revenue[source or "Unknown"] += total or Decimal(0)
    return dict(revenue)


def revenue_by_day(*, organization: Organization, agent_id: int, window: Window) -> dict[dt.date, Decimal]:
    rows = (
        agent_revenue_sales(organization)
        .filter(agent_id=agent_id, closed_at__gte=window.start, closed_at__lt=window.end)
        .annotate(day=TruncDate("closed_at", tzinfo=organization.tz))
        .values("day")
        .annotate(total=Sum("amount"))
        .values_list("day", "total")
    )
    return {day: total for day, total in rows}


def revenue_in_windows(
    *,
    organization: Organization,
    agent_id: int,
    current: tuple[dt.datetime, dt.datetime],
    previous: tuple[dt.datetime, dt.datetime],
) -> tuple[Decimal, Decimal]:
    row = (
        agent_revenue_sales(organization)
        .filter(agent_id=agent_id, closed_at__gte=min(previous[0], current[0]), closed_at__lt=current[1])
        .aggregate(
            current=Sum("amount", filter=Q(closed_at__gte=current[0], closed_at__lt=current[1])),
            previous=Sum("amount", filter=Q(closed_at__gte=previous[0], closed_at__lt=previous[1])),
        )
    )
    return row["current"] or Decimal(0), row["previous"] or Decimal(0)


TIMELINE_TYPES = {
    "all": None,
    "calls": ("call",),
    "emails": ("email",),
    "conversions": ("conversion",),
}


def activity_page(
    *,
    organization: Organization,
    agent_id: int,
    types: tuple[str, ...] | None,
    before: tuple[dt.datetime, int] | None,
    limit: int,
) -> list[dict]:
    """Newest first, keyset-paginated on (occurred_at, id): stable under inserts."""
    qs = Activity.objects.for_org(organization).filter(agent_id=agent_id)
    if types is not None:
        qs = qs.filter(type__in=types)
    if before is not None:
        moment, pk = before
        qs = qs.filter(Q(occurred_at__lt=moment) | Q(occurred_at=moment, id__lt=pk))
    return list(
        qs.order_by("-occurred_at", "-id").values(
            "id",
            "external_id",
            "type",
            "title",
            "description",
            "occurred_at",
            "metadata",
            "lead__external_id",
            "lead__name",
            "outcome",
            "duration_seconds",
            "direction",
        )[: limit + 1]
    )


def achieved_goals_page(
    *, organization: Organization, agent_id: int, before: tuple[dt.datetime, int] | None, limit: int
) -> list[dict]:
    qs = AgentGoal.objects.for_org(organization).filter(agent_id=agent_id, achieved_at__isnull=False)
    if before is not None:
        moment, pk = before
        qs = qs.filter(Q(achieved_at__lt=moment) | Q(achieved_at=moment, id__lt=pk))
    return list(
        qs.order_by("-achieved_at", "-id").values(
            "id", "period", "goal_type", "target", "period_start", "achieved_at"
        )[: limit + 1]
    )


def current_goals(
    *, organization: Organization, agent_id: int, period_starts: dict[str, dt.date]
) -> list[AgentGoal]:
    query = Q()
    for period, start in period_starts.items():
        query |= Q(period=period, period_start=start)
    return list(
        AgentGoal.objects.for_org(organization)
        .filter(query, agent_id=agent_id)
        .order_by("period", "goal_type")
    )


def earliest_activity_day(*, organization: Organization) -> dt.date | None:
    """A lower bound of the first local day with an agent's lead or sale (a first fill
    starts there)."""
    leads = agent_leads(organization).aggregate(assigned=Min("assigned_at"), created=Min("created_at"))
    sales = agent_sales(organization).aggregate(closed=Min("closed_at"))
    moments = [m for m in (leads["assigned"], leads["created"], sales["closed"]) if m is not None]
    return min(moments).astimezone(organization.tz).date() if moments else None
