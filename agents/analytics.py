"""The agent analytics answers: one function per figure, used by the API and the pages.

Each function takes the organization, the agent and the reference time, reads through
agents.selectors, computes with agents.metrics / agents.ranking, caches per organization
data version (core.cache: ingestion invalidates), and returns the payload of seed 003.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache

from agents import metrics, selectors
from agents.models import GoalPeriod
from agents.ranking import AgentScoreInput, RankedAgent, team_ranking
from agents.services import goal_window, period_bounds
from core.cache import org_cache_key
from core.errors import ApplicationError
from core.metrics import goal_progress, round_half_up, trend_percent
from core.pagination import cursor_decode, cursor_encode, cursor_id, cursor_moment
from core.timeranges import Window, local_midnight, parse_range, week_start
from crm.models import Member, Organization

KPI_TTL = 5 * 60
RANKING_TTL = 15 * 60
TREND_TTL = 60 * 60
TIMELINE_MAX_LIMIT = 100
TIMELINE_DEFAULT_LIMIT = 20
TREND_DEFAULT_RANGES = {"daily": "30d", "weekly": "90d", "monthly": "1y"}


def _cached(key: str, ttl: int, compute):
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, ttl)
    return value


# --- ranking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRanking:
    ranked: tuple[RankedAgent, ...]

    def position_of(self, agent_id: int) -> int | None:
        return next((r.rank for r in self.ranked if r.agent_id == agent_id), None)

    @property
    def size(self) -> int:
        return len(self.ranked)


def compute_ranking(
    *, organization: Organization, window: Window, state=None, totals: dict | None = None
) -> TeamRanking:
    """One pass over all agents: the window's totals (the engine's three or four queries
    unless given), then the pure ranking."""
    if totals is not None:
        return _ranking(selectors.ranked_agent_keys(organization), totals)
    return compute_rankings(organization=organization, windows={window.label: window}, state=state)[
        window.label
    ]


def compute_rankings(
    *, organization: Organization, windows: dict[str, Window], state=None
) -> dict[str, TeamRanking]:
    """The rankings of several windows from one read of the agents and one engine read of
    every window's totals (the windows share its queries).

    Without `state` the fill state is read here, so the trusted days come from the rollups
    (the ranking job used to pass none and scanned the raw tables for the whole window).
    """
    agents = selectors.ranked_agent_keys(organization)
    if state is None:
        state = selectors.fill_state(organization)
    totals = selectors.agent_windows_totals(organization=organization, windows=windows, state=state)
    return {name: _ranking(agents, totals[name]) for name in windows}


def _ranking(agents: list[tuple[int, str]], totals: dict[int, metrics.AgentTotals]) -> TeamRanking:
    inputs = []
    empty = metrics.AgentTotals()
    for agent_id, email in agents:
        kpis = metrics.agent_kpis(totals.get(agent_id, empty))
        inputs.append(
            AgentScoreInput(
                agent_id=agent_id,
                email=email,
                conversion_rate=kpis.conversion_rate,
                satisfaction=kpis.satisfaction_score,
                response_hours=kpis.response_time_hours,
            )
        )
    return TeamRanking(ranked=tuple(team_ranking(inputs)))


def _ranking_key(organization: Organization, window: Window) -> str:
    # Ranked windows end "now": the key carries the range only, and the TTL bounds how
    # far the cached window's end lags behind (ingestion bumps the version anyway).
    return org_cache_key(organization.pk, "ranking", window.label)


def team_ranking_for(*, organization: Organization, window: Window, state=None) -> TeamRanking:
    return _cached(
        _ranking_key(organization, window),
        RANKING_TTL,
        lambda: compute_ranking(organization=organization, window=window, state=state),
    )


def store_ranking(*, organization: Organization, window: Window, ranking: TeamRanking) -> None:
    cache.set(_ranking_key(organization, window), ranking, RANKING_TTL)


# --- KPIs ---------------------------------------------------------------------------------


def kpis(*, organization: Organization, agent: Member, range_value: str | None, as_of: dt.datetime) -> dict:
    window = parse_range(range_value, as_of=as_of)
    key = org_cache_key(organization.pk, "agent-kpis", agent.pk, window.label)
    return _cached(
        key, KPI_TTL, lambda: _kpis(organization=organization, agent=agent, window=window, as_of=as_of)
    )


def _days_label(window: Window) -> str:
    days = window.length.total_seconds() / 86400
    return str(int(days)) if days >= 1 else f"{window.length.total_seconds() / 3600:g}h"


def _agent_totals_and_rankings(
    *, organization: Organization, agent: Member, windows: dict[str, Window], state
) -> tuple[dict[str, metrics.AgentTotals], dict[str, TeamRanking]]:
    """The agent's totals and the team ranking of each window, the windows sharing one
    engine read: of the agent alone when every ranking is cached, else of the whole team
    (which gives both the missing rankings and the agent's rows)."""
    rankings = {name: cache.get(_ranking_key(organization, window)) for name, window in windows.items()}
    if all(ranking is not None for ranking in rankings.values()):
        own = selectors.agent_windows_totals(
            organization=organization, windows=windows, state=state, agent_id=agent.pk
        )
        return {name: own[name].get(agent.pk, metrics.AgentTotals()) for name in windows}, rankings
    team = selectors.agent_windows_totals(organization=organization, windows=windows, state=state)
    agents = selectors.ranked_agent_keys(organization)
    for name, window in windows.items():
        if rankings[name] is None:
            rankings[name] = _ranking(agents, team[name])
            store_ranking(organization=organization, window=window, ranking=rankings[name])
    return {name: team[name].get(agent.pk, metrics.AgentTotals()) for name in windows}, rankings


def _kpis(*, organization: Organization, agent: Member, window: Window, as_of: dt.datetime) -> dict:
    state = selectors.fill_state(organization)
    totals, rankings = _agent_totals_and_rankings(
        organization=organization,
        agent=agent,
        windows={"current": window, "previous": window.previous()},
        state=state,
    )
    current_totals, ranking_now = totals["current"], rankings["current"]
    previous_totals, ranking_before = totals["previous"], rankings["previous"]
    monday = local_midnight(week_start(as_of.astimezone(organization.tz).date()), organization.tz)
    this_week = selectors.leads_since(organization=organization, agent_id=agent.pk, start=monday, end=as_of)
    current = metrics.agent_kpis(current_totals)
    before = metrics.agent_kpis(previous_totals)
    position = ranking_now.position_of(agent.pk)
    return {
        "agentId": str(agent.pk),
        "dateRange": _days_label(window),
        "kpis": {
            **current.payload(),
            "leadsThisWeek": this_week,
            "teamRanking": position,
            "totalAgents": ranking_now.size,
        },
        "trends": metrics.kpi_trends(
            current, before, rank_now=position, rank_before=ranking_before.position_of(agent.pk)
        ),
        "trendUnits": dict(metrics.TREND_UNITS),
    }


# --- funnel, sources, revenue trend --------------------------------------------------------


def funnel(*, organization: Organization, agent: Member, range_value: str | None, as_of: dt.datetime) -> dict:
    window = parse_range(range_value, as_of=as_of)

    def compute() -> dict:
        totals = selectors.agent_window_totals(
            organization=organization,
            window=window,
            state=selectors.fill_state(organization),
            agent_id=agent.pk,
        ).get(agent.pk, metrics.AgentTotals())
        return {"dateRange": _days_label(window), **metrics.funnel_payload(totals)}

    return _cached(org_cache_key(organization.pk, "agent-funnel", agent.pk, window.label), KPI_TTL, compute)


def lead_sources(
    *, organization: Organization, agent: Member, range_value: str | None, as_of: dt.datetime
) -> dict:
    window = parse_range(range_value, as_of=as_of)

    def compute() -> dict:
        counts = selectors.lead_source_counts(organization=organization, agent_id=agent.pk, window=window)
        revenue = selectors.revenue_by_lead_source(
            organization=organization, agent_id=agent.pk, window=window
        )
        rows = metrics.lead_source_rows(counts, revenue)
        return {"dateRange": _days_label(window), "sources": [row.payload() for row in rows]}

    return _cached(org_cache_key(organization.pk, "agent-sources", agent.pk, window.label), KPI_TTL, compute)


def revenue_trend(
    *, organization: Organization, agent: Member, period: str, range_value: str | None, as_of: dt.datetime
) -> dict:
    if period not in metrics.PERIOD_BUCKETS:
        raise ValueError(f"Unknown period {period!r}; use daily, weekly or monthly.")
    window = parse_range(range_value or TREND_DEFAULT_RANGES[period], as_of=as_of)
    key = org_cache_key(organization.pk, "agent-revenue", agent.pk, period, window.label)
    return _cached(
        key,
        TREND_TTL,
        lambda: _revenue_trend(
            organization=organization, agent=agent, period=period, window=window, as_of=as_of
        ),
    )


def _revenue_trend(
    *, organization: Organization, agent: Member, period: str, window: Window, as_of: dt.datetime
) -> dict:
    tz = organization.tz
    local_now = as_of.astimezone(tz)
    (cur_start, cur_end), (prev_start, prev_end) = metrics.month_to_date_windows(as_of_local=local_now)
    by_day = selectors.revenue_by_day(organization=organization, agent_id=agent.pk, window=window)
    first_day = window.start.astimezone(tz).date()
    last_day = (window.end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    series = metrics.revenue_series(
        revenue_by_day=by_day, first_day=first_day, last_day=last_day, period=period
    )
    month_total, month_before = selectors.revenue_in_windows(
        organization=organization,
        agent_id=agent.pk,
        current=(cur_start, cur_end),
        previous=(prev_start, prev_end),
    )
    best = max(by_day.items(), key=lambda item: (item[1], item[0]), default=None)
    return {
        "period": period,
        "dateRange": _days_label(window),
        "currency": organization.currency,
        "data": [{"date": day.isoformat(), "revenue": round_half_up(amount, 2)} for day, amount in series],
        "insights": {
            "bestDay": {"date": best[0].isoformat(), "revenue": round_half_up(best[1], 2)}
            if best and best[1] > 0
            else None,
            "monthTotal": round_half_up(month_total, 2),
            "monthChange": trend_percent(current=month_total, previous=month_before),
        },
    }


# --- activity timeline (never cached) ------------------------------------------------------


class CursorError(ApplicationError):
    """A `cursor` that is not one of ours (400)."""

    field = "cursor"


def encode_cursor(moment: dt.datetime, kind: str, pk: int) -> str:
    return cursor_encode(moment, kind, pk)


def decode_cursor(cursor: str) -> tuple[dt.datetime, str, int]:
    """(moment, kind, id) of a timeline row: "a" an activity, "g" a goal (ids may be negative)."""
    invalid = CursorError("Invalid cursor; use the nextCursor value of the previous page.")
    moment_text, kind, pk = cursor_decode(cursor, parts=3, invalid=invalid)
    if kind not in ("a", "g"):
        raise invalid
    return cursor_moment(moment_text, invalid=invalid), kind, cursor_id(pk, invalid=invalid, signed=True)


def _activity_item(row: dict) -> dict:
    metadata = dict(row["metadata"] or {})
    if row["lead__external_id"]:
        metadata.setdefault("leadId", row["lead__external_id"])
    if row["outcome"]:
        metadata.setdefault("outcome", row["outcome"])
    if row["duration_seconds"] is not None:
        metadata.setdefault("durationSeconds", row["duration_seconds"])
    title = row["title"] or row["type"].replace("_", " ").capitalize()
    return {
        "id": row["external_id"],
        "type": row["type"],
        "title": title,
        "description": row["description"] or (row["lead__name"] or ""),
        "timestamp": row["occurred_at"].isoformat().replace("+00:00", "Z"),
        "metadata": metadata,
        "_key": (row["occurred_at"], "a", row["id"]),
    }


GOAL_LABELS = {"conversions": "conversions", "revenue": "revenue", "responseTimeHours": "response time"}


def _goal_item(row: dict) -> dict:
    label = GOAL_LABELS.get(row["goal_type"], row["goal_type"])
    return {
        "id": f"goal-{row['id']}",
        "type": "goal_achieved",
        "title": "Goal achieved",
        "description": f"{row['period'].capitalize()} {label} goal of {row['target'].normalize():f} reached",
        "timestamp": row["achieved_at"].isoformat().replace("+00:00", "Z"),
        "metadata": {"goalType": row["goal_type"], "period": row["period"], "target": float(row["target"])},
        "_key": (row["achieved_at"], "g", row["id"]),
    }


def activities(
    *, organization: Organization, agent: Member, filter_name: str, cursor: str | None, limit: int
) -> dict:
    """Newest first, keyset pagination over activities merged with goal achievements."""
    if filter_name not in selectors.TIMELINE_TYPES:
        raise ValueError(f"Unknown filter {filter_name!r}; use all, calls, emails or conversions.")
    before = decode_cursor(cursor) if cursor else None
    items = [
        _activity_item(row)
        for row in selectors.activity_page(
            organization=organization,
            agent_id=agent.pk,
            types=selectors.TIMELINE_TYPES[filter_name],
            before=_position_for("a", before),
            limit=limit,
        )
    ]
    if filter_name in ("all", "conversions"):
        items += [
            _goal_item(row)
            for row in selectors.achieved_goals_page(
                organization=organization, agent_id=agent.pk, before=_position_for("g", before), limit=limit
            )
        ]
    items.sort(key=lambda item: (item["_key"][0], item["_key"][1], item["_key"][2]), reverse=True)
    page, rest = items[:limit], items[limit:]
    next_cursor = encode_cursor(*page[-1]["_key"]) if rest else None
    for item in page:
        del item["_key"]
    return {"activities": page, "nextCursor": next_cursor, "hasMore": next_cursor is not None}


def _position_for(kind: str, before: tuple[dt.datetime, str, int] | None) -> tuple[dt.datetime, int] | None:
    """Translate the merged cursor into one source's keyset position.

    The merged order is (time, kind, id) descending with kind "g" > "a". Rows of the same
    kind continue after the cursor's id; rows of the other kind at the same instant come
    after it only when their kind sorts lower.
    """
    if before is None:
        return None
    moment, cursor_kind, pk = before
    if kind == cursor_kind:
        return moment, pk
    if kind < cursor_kind:  # "a" rows at the same instant all come after a "g" cursor
        return moment, 2**63 - 1
    return moment, -1  # "g" rows at the same instant came before an "a" cursor


# --- goals --------------------------------------------------------------------------------


def goals(*, organization: Organization, agent: Member, as_of: dt.datetime) -> dict:
    today = as_of.astimezone(organization.tz).date()
    bounds = {period: period_bounds(period, today) for period in GoalPeriod.values}
    current = selectors.current_goals(
        organization=organization, agent_id=agent.pk, period_starts={p: b[0] for p, b in bounds.items()}
    )
    state = selectors.fill_state(organization) if current else None
    totals_by_period: dict[str, metrics.AgentTotals] = {}
    payload = []
    for goal in current:
        if goal.period not in totals_by_period:
            window = goal_window(goal, tz=organization.tz, as_of=as_of)
            totals_by_period[goal.period] = selectors.agent_window_totals(
                organization=organization, window=window, state=state, agent_id=agent.pk
            ).get(agent.pk, metrics.AgentTotals())
        totals = totals_by_period[goal.period]
        actual = metrics.goal_actual(goal_type=goal.goal_type, kpis=metrics.agent_kpis(totals), totals=totals)
        progress = goal_progress(
            actual=actual, target=goal.target, lower_is_better=metrics.LOWER_IS_BETTER[goal.goal_type]
        )
        payload.append(
            {
                "id": goal.pk,
                "period": goal.period,
                "type": goal.goal_type,
                "target": float(goal.target),
                # conversions are a count; revenue (money) and response hours two decimals
                "current": actual if isinstance(actual, int) else round_half_up(actual, 2),
                "completion": round_half_up(progress.completion, 1),
                "achieved": progress.achieved,
                "achievedAt": goal.achieved_at.isoformat() if goal.achieved_at else None,
                "periodStart": goal.period_start.isoformat(),
                "periodEnd": goal.period_end.isoformat(),
                "lowerIsBetter": metrics.LOWER_IS_BETTER[goal.goal_type],
            }
        )
    return {"goals": payload}
