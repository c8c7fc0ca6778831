"""Writes of the agent analytics: the daily rows' rebuild, goals and achievements."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from agents import selectors
from agents.metrics import LOWER_IS_BETTER, agent_kpis, goal_actual
from agents.models import AgentGoal, GoalPeriod, GoalType
from core.errors import ApplicationError
from core.metrics import goal_progress
from core.stats.rollups import rollups_rebuild
from core.timeranges import Window, add_months, local_midnight, month_start, quarter_start
from crm.audit import audit_record
from crm.models import Member, Organization

logger = logging.getLogger(__name__)


def agent_daily_metrics_rebuild(*, organization: Organization, first_day: dt.date, last_day: dt.date) -> int:
    """Replace the agent rows of the days [first_day, last_day] (and of the months holding
    them) in one transaction, as INSERT ... SELECT (idempotent): the rebuild of the engine's
    "agents" family (agents/statistics.py)."""
    return rollups_rebuild(
        organization=organization, specs=(selectors.AGENT_METRICS,), first_day=first_day, last_day=last_day
    )


# --- goals --------------------------------------------------------------------------------

GOAL_TYPES = tuple(GoalType.values)
PERIODS = tuple(GoalPeriod.values)


class GoalError(ApplicationError):
    """Bad goal input (400); `field` names what is wrong, e.g. "goals.revenue"."""


class GoalConflict(Exception):
    pass


class GoalMissing(Exception):
    pass


def period_bounds(period: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """[start, end) of the current calendar month, quarter or year containing `today`."""
    if period == GoalPeriod.MONTHLY:
        start = month_start(today)
        return start, add_months(start, 1)
    if period == GoalPeriod.QUARTERLY:
        start = quarter_start(today)
        return start, add_months(start, 3)
    if period == GoalPeriod.YEARLY:
        start = dt.date(today.year, 1, 1)
        return start, dt.date(today.year + 1, 1, 1)
    raise GoalError(f"Unknown period {period!r}; use one of {', '.join(PERIODS)}.", field="period")


def _clean_targets(goals: object) -> dict[str, Decimal]:
    if not isinstance(goals, dict) or not goals:
        raise GoalError('Give at least one goal, e.g. {"conversions": 15}.', field="goals")
    clean: dict[str, Decimal] = {}
    for goal_type, raw in goals.items():
        if goal_type not in GOAL_TYPES:
            raise GoalError(
                f"Unknown goal {goal_type!r}; use one of {', '.join(GOAL_TYPES)}.", field=f"goals.{goal_type}"
            )
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise GoalError("The target must be a number.", field=f"goals.{goal_type}")
        try:
            target = Decimal(str(raw))
        except InvalidOperation as exc:
            raise GoalError("The target must be a number.", field=f"goals.{goal_type}") from exc
        if not target.is_finite() or target < 0:
            raise GoalError("The target must be zero or more.", field=f"goals.{goal_type}")
        if target >= Decimal("1e12"):
            raise GoalError("The target is too large.", field=f"goals.{goal_type}")
        clean[goal_type] = target.quantize(Decimal("0.01"))
    return clean


def goals_set(
    *, agent: Member, period: str, goals: object, actor: Member, as_of: dt.datetime, create: bool
) -> list[AgentGoal]:
    """Create (create=True: 409 if any exists) or update (404 if any is missing) the agent's
    goals for the current period. Each change is audited."""
    organization = agent.organization
    start, end = period_bounds(period, as_of.astimezone(organization.tz).date())
    targets = _clean_targets(goals)
    with transaction.atomic():
        existing = {
            g.goal_type: g
            for g in AgentGoal.objects.for_org(organization)
            .select_for_update()
            .filter(agent=agent, period=period, period_start=start, goal_type__in=targets)
        }
        if create and existing:
            raise GoalConflict(
                f"{', '.join(sorted(existing))} already set for this {period} period; use PUT."
            )
        missing = sorted(set(targets) - set(existing))
        if not create and missing:
            raise GoalMissing(f"No {period} goal for {', '.join(missing)} yet; use POST to create it.")
        saved = []
        for goal_type, target in targets.items():
            goal = existing.get(goal_type)
            before = {"target": str(goal.target)} if goal else None
            if goal is None:
                goal = AgentGoal.objects.create(
                    organization=organization,
                    agent=agent,
                    period=period,
                    goal_type=goal_type,
                    target=target,
                    period_start=start,
                    period_end=end,
                )
            else:
                goal.target = target
                goal.updated_at = timezone.now()
                goal.save(update_fields=["target", "updated_at"])
            audit_record(
                organization=organization,
                actor=actor,
                action="goal.create" if before is None else "goal.update",
                object_type="agent_goal",
                object_id=goal.pk,
                before=before,
                after={
                    "agent": agent.email,
                    "period": period,
                    "goal_type": goal_type,
                    "target": str(target),
                    "period_start": start.isoformat(),
                },
            )
            saved.append(goal)
    return saved


def goal_window(goal: AgentGoal, *, tz: dt.tzinfo, as_of: dt.datetime) -> Window:
    start = local_midnight(goal.period_start, tz)
    end = min(local_midnight(goal.period_end, tz), as_of)
    return Window(start=start, end=max(start, end), label=goal.period)


def goals_record_achievements(*, organization: Organization, as_of: dt.datetime) -> int:
    """Mark current goals achieved once (achieved_at), from the same totals as the API."""
    today = as_of.astimezone(organization.tz).date()
    starts = {period: period_bounds(period, today)[0] for period in PERIODS}
    open_goals = [
        g
        for g in AgentGoal.objects.for_org(organization).filter(achieved_at__isnull=True)
        if starts.get(g.period) == g.period_start
    ]
    if not open_goals:
        return 0
    state = selectors.fill_state(organization)
    by_period: dict[str, dict] = {}
    recorded = 0
    for goal in open_goals:
        if goal.period not in by_period:
            window = goal_window(goal, tz=organization.tz, as_of=as_of)
            by_period[goal.period] = selectors.agent_window_totals(
                organization=organization, window=window, state=state
            )
        totals = by_period[goal.period].get(goal.agent_id)
        if totals is None:
            continue
        progress = goal_progress(
            actual=goal_actual(goal_type=goal.goal_type, kpis=agent_kpis(totals), totals=totals),
            target=goal.target,
            lower_is_better=LOWER_IS_BETTER[goal.goal_type],
        )
        if progress.achieved:
            recorded += AgentGoal.objects.filter(pk=goal.pk, achieved_at__isnull=True).update(
                achieved_at=as_of
            )
    return recorded
