"""The managers' team table: every agent's KPIs and rank for one window (docs/agents.md).

All agents at once from one pass over the window totals (the engine's three or four queries
whatever the team size) instead of analytics.kpis per agent, which would be a query set per agent. The
figures are the same: metrics.agent_kpis(...).payload() is what analytics.kpis shows, and
analytics.compute_ranking is the ranking the agents' own pages use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from agents import analytics, metrics, selectors
from core.timeranges import parse_range
from crm.models import Organization


@dataclass(frozen=True)
class TeamRow:
    agent_id: int
    name: str
    email: str
    team: str
    ranked: bool  # active agents only (docs/metrics.md, teamRanking)
    leads_handled: int
    conversion_rate: float | None
    total_revenue: float
    response_time_hours: float | None
    satisfaction_score: float | None
    satisfaction_count: int
    rank: int | None


def team_table(*, organization: Organization, range_value: str | None, as_of: dt.datetime) -> list[TeamRow]:
    """One row per agent of the organization (selectors.team_agents order: name, e-mail)."""
    window = parse_range(range_value, as_of=as_of)
    totals = selectors.agent_window_totals(
        organization=organization, window=window, state=selectors.fill_state(organization)
    )
    ranking = analytics.compute_ranking(organization=organization, window=window, totals=totals)
    rows = []
    for agent in selectors.team_agents(organization):
        kpis = metrics.agent_kpis(totals.get(agent.pk, metrics.AgentTotals())).payload()
        rank = ranking.position_of(agent.pk)
        rows.append(
            TeamRow(
                agent_id=agent.pk,
                name=agent.display_name,
                email=agent.email,
                team=agent.team,
                ranked=rank is not None,
                leads_handled=kpis["leadsHandled"],
                conversion_rate=kpis["conversionRate"],
                total_revenue=kpis["totalRevenue"],
                response_time_hours=kpis["responseTimeHours"],
                satisfaction_score=kpis["satisfactionScore"],
                satisfaction_count=kpis["satisfactionCount"],
                rank=rank,
            )
        )
    return rows


def ranked_count(rows: Iterable[TeamRow]) -> int:
    """The size of the ranking: "2 of N" on the rank column."""
    return sum(1 for row in rows if row.ranked)


# Sort key -> (row attribute, the direction a first click sorts in: the "best first" one).
SORT_COLUMNS: dict[str, tuple[str, bool]] = {
    "name": ("name", False),
    "rank": ("rank", False),
    "leads": ("leads_handled", True),
    "conversion": ("conversion_rate", True),
    "revenue": ("total_revenue", True),
    "response": ("response_time_hours", False),
    "satisfaction": ("satisfaction_score", True),
}
DEFAULT_SORT = "rank"


def sort_choices() -> list[str]:
    """Every accepted `sort` value: a column key, or "-key" for descending."""
    return [value for key in SORT_COLUMNS for value in (key, f"-{key}")]


def sort_rows(rows: Iterable[TeamRow], sort: str) -> list[TeamRow]:
    """Rows sorted by a column ("-" prefix: descending). Rows without a value (no data, not
    ranked) always come last, whichever the direction; ties keep name order."""
    descending = sort.startswith("-")
    attribute = SORT_COLUMNS[sort.lstrip("-")][0]
    rows = sorted(rows, key=lambda row: (row.name.lower(), row.email))
    present = [row for row in rows if getattr(row, attribute) is not None]
    missing = [row for row in rows if getattr(row, attribute) is None]
    if attribute == "name":
        present.sort(key=lambda row: (row.name.lower(), row.email), reverse=descending)
    else:
        present.sort(key=lambda row: getattr(row, attribute), reverse=descending)
    return present + missing


def next_sort(column: str, current: str) -> str:
    """The header link's sort: the column's natural direction, or the reverse when the table
    is already sorted that way."""
    natural = f"-{column}" if SORT_COLUMNS[column][1] else column
    if current == natural:
        return column if natural.startswith("-") else f"-{column}"
    return natural
