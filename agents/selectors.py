"""Reads of the agent analytics, scoped by organization (docs/metrics.md, "Agent metrics").

The agent rollups are statistics of the engine (core.stats.rollups): AGENT_METRICS declares
the per-agent local-day rows (AgentDailyMetrics: leads by handling day and sales by closing
day, two raw sources merged into one row) and their agent x month level
(AgentMonthlyMetrics). Window totals are the engine's one reader: trusted whole months from
the month level (windows over 90 days), trusted days from the daily rows, and live queries
over the raw tables for the rest (the partial first day, today, and any day that ingestion
marked stale), so every answer equals the raw-table computation.

Money follows the currency rule of every dashboard (core.metrics.counted_currencies, the
same filter as insights.selectors.SALES): only sales in the organization's currency (or
without one) are summed; the others are counted as `excluded_sales`, never summed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce, TruncDate

from agents.metrics import AgentTotals
from agents.models import AgentDailyMetrics, AgentGoal, AgentMonthlyMetrics
from core.metrics import counted_currencies
from core.models import FillState
from core.stats.fillstate import WindowPlan, trusted_through, window_plan  # noqa: F401 - re-exported
from core.stats.fillstate import fill_state as family_fill_state
from core.stats.rollups import (
    MONTH,
    KeyValues,
    Measure,
    Microseconds,
    Part,
    RollupSpec,
    raw_totals,
    window_totals,
)
from core.timeranges import Window
from crm.models import Activity, Lead, Member, Organization, Role, Sale

RESPONSE = ExpressionWrapper(F("contacted_at") - F("assigned_at"), output_field=DurationField())
RESPONDED = Q(contacted_at__isnull=False, assigned_at__isnull=False)


def in_organization_currency(organization: Organization) -> Q:
    """Sales whose amounts are summed (core.metrics.counted_currencies)."""
    return Q(currency__in=counted_currencies(organization.currency))


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


# --- the agent rollups (statistics of the engine) -------------------------------------------


def _handled_leads(organization: Organization) -> QuerySet:
    """The agents' leads with their handling moment (assigned, else created): its local day
    keys the daily row; windows select it through `handled_in`'s ranges."""
    return agent_leads(organization).annotate(handled_at=Coalesce("assigned_at", "created_at"))


def _sales_by_currency(organization: Organization) -> QuerySet:
    """The agents' sales, each marked `counted` when in the organization's currency."""
    return agent_sales(organization).annotate(
        counted=ExpressionWrapper(in_organization_currency(organization), output_field=BooleanField())
    )


AGENT_LEADS = RollupSpec(
    name="agent_leads",
    model=AgentDailyMetrics,
    raw=_handled_leads,
    time_field="handled_at",
    window=handled_in,
    keys={"agent_id": "assigned_agent_id"},
    measures={
        "leads_assigned": Measure(Count, "id"),
        "leads_contacted": Measure(Count, "id", Q(contacted_at__isnull=False)),
        "leads_interested": Measure(Count, "id", Q(interested_at__isnull=False)),
        "leads_converted": Measure(Count, "id", Q(converted_at__isnull=False)),
        # integer microseconds, summed in the database, so days, months and live rows add up exactly
        "response_microseconds": Measure(Sum, Microseconds(RESPONSE), RESPONDED),
        "response_count": Measure(Count, "id", RESPONDED),
        "satisfaction_sum": Measure(Sum, "satisfaction_rating"),
        "satisfaction_count": Measure(Count, "satisfaction_rating"),
    },
)

AGENT_SALES = RollupSpec(
    name="agent_sales",
    model=AgentDailyMetrics,
    raw=_sales_by_currency,
    time_field="closed_at",
    keys={"agent_id": "agent_id"},
    measures={
        "revenue": Measure(Sum, "amount", Q(counted=True)),
        "sales_count": Measure(Count, "id", Q(counted=True)),
        "excluded_sales": Measure(Count, "id", Q(counted=False)),
    },
)

_AGENT_DAYS = AGENT_LEADS.merge(AGENT_SALES)
# The agent x day rows and their agent x month level (the rollup hierarchy): a window whose
# trusted days span more than 90 reads its whole months from AgentMonthlyMetrics.
AGENT_METRICS = _AGENT_DAYS.with_levels(
    _AGENT_DAYS.level(name="agent_months", model=AgentMonthlyMetrics, keys=("agent_id",), period=MONTH)
)
# The statistics engine's family of the agent rollups (agents/statistics.py).
STATISTICS_FAMILY = "agents"
# Rollup column -> AgentTotals field (the other columns are named as the fields)
ROLLUP_TO_TOTALS = {
    "leads_assigned": "assigned",
    "leads_contacted": "contacted",
    "leads_interested": "interested",
    "leads_converted": "converted",
}


def fill_state(organization: Organization) -> FillState | None:
    return family_fill_state(organization, STATISTICS_FAMILY)


def _totals(measures: dict[str, int | Decimal]) -> AgentTotals:
    return AgentTotals.from_mapping({ROLLUP_TO_TOTALS.get(k, k): v for k, v in measures.items()})


def _agent_filter(agent_id: int | None) -> KeyValues:
    return KeyValues({} if agent_id is None else {"agent_id": agent_id})


def agent_windows_totals(
    *,
    organization: Organization,
    windows: dict[str, Window],
    state: FillState | None,
    agent_id: int | None = None,
) -> dict[str, dict[int, AgentTotals]]:
    """{window name: totals per agent}, through the engine's reader: the windows share its
    three queries (four with whole months) whatever the number of agents and leads."""
    totals = window_totals(
        organization=organization,
        spec=AGENT_METRICS,
        parts={name: Part(window) for name, window in windows.items()},
        filters=_agent_filter(agent_id),
        trusted_last_day=trusted_through(state),
        group_by="agent_id",
    )
    return {name: {agent: _totals(m) for agent, m in totals[name].items()} for name in windows}


def agent_window_totals(
    *,
    organization: Organization,
    window: Window,
    state: FillState | None,
    agent_id: int | None = None,
) -> dict[int, AgentTotals]:
    """Totals per agent over one window (agent_windows_totals)."""
    return agent_windows_totals(
        organization=organization, windows={"window": window}, state=state, agent_id=agent_id
    )["window"]


def raw_window_totals(*, organization: Organization, window: Window, agent_id: int) -> AgentTotals:
    """The same totals straight from the raw tables (the reference the rollups must equal)."""
    totals = raw_totals(
        organization=organization, spec=AGENT_METRICS, window=window, filters=_agent_filter(agent_id)
    )
    return _totals(totals.get(None, {}))


# --- what insights.bi.performance still reads through agents.facade ------------------------


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
