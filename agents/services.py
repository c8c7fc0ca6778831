"""Writes of the agent analytics: daily rows, staleness marks, goals and achievements."""

from __future__ import annotations

import datetime as dt
import logging
import time
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from agents import selectors
from agents.metrics import agent_kpis, goal_progress
from agents.models import AgentDailyMetrics, AgentGoal, AgentMetricsFillState, GoalPeriod, GoalType
from agents.selectors import micros
from crm.audit import audit_record
from crm.events import Ingested
from crm.fillstate import mark_stale
from crm.models import Member, Organization
from crm.timeranges import Window, add_months, day_window, local_midnight, month_start, quarter_start

logger = logging.getLogger(__name__)

# Days always rebuilt by the nightly job, so a lead re-assigned to another recent day
# (which only marks its new day stale) is corrected within a week.
TRAILING_DAYS = 7
STALE_ENTITIES = ("leads", "sales")


def _daily_rows(
    *, organization: Organization, first_day: dt.date, last_day: dt.date
) -> list[AgentDailyMetrics]:
    tz = organization.tz
    window = day_window(first_day, last_day, tz)
    rows: dict[tuple[int, dt.date], dict] = {}
    leads = (
        selectors.agent_leads(organization)
        .filter(selectors.handled_in(window.start, window.end))
        .annotate(day=TruncDate(Coalesce("assigned_at", "created_at"), tzinfo=tz))
        .values("assigned_agent_id", "day")
        .annotate(**selectors.lead_aggregates())
    )
    for row in leads:
        duration = row["response_duration"]
        rows[(row["assigned_agent_id"], row["day"])] = {
            "leads_assigned": row["assigned"],
            "leads_contacted": row["contacted"],
            "leads_interested": row["interested"],
            "leads_converted": row["converted"],
            "response_microseconds": micros(duration),
            "response_count": row["response_count"],
            "satisfaction_sum": row["satisfaction_sum"] or 0,
            "satisfaction_count": row["satisfaction_count"],
        }
    sales = (
        selectors.agent_sales(organization)
        .filter(closed_at__gte=window.start, closed_at__lt=window.end)
        .annotate(day=TruncDate("closed_at", tzinfo=tz))
        .values("agent_id", "day")
        .annotate(**selectors.sale_aggregates())
    )
    for row in sales:
        target = rows.setdefault((row["agent_id"], row["day"]), {})
        target["revenue"] = row["revenue"] or Decimal(0)
        target["sales_count"] = row["sales_count"]
    return [
        AgentDailyMetrics(organization=organization, agent_id=agent_id, day=day, **values)
        for (agent_id, day), values in sorted(rows.items())
    ]


def agent_daily_metrics_rebuild(*, organization: Organization, first_day: dt.date, last_day: dt.date) -> int:
    """Replace the daily rows of [first_day, last_day] in one transaction (idempotent)."""
    started = time.monotonic()
    new_rows = _daily_rows(organization=organization, first_day=first_day, last_day=last_day)
    with transaction.atomic():
        AgentDailyMetrics.objects.for_org(organization).filter(day__gte=first_day, day__lte=last_day).delete()
        AgentDailyMetrics.objects.bulk_create(new_rows, batch_size=5000)
    logger.info(
        "rollup organization=%s statistic=agent_daily first=%s last=%s rows=%d ms=%d",
        organization.pk,
        first_day,
        last_day,
        len(new_rows),
        (time.monotonic() - started) * 1000,
    )
    return len(new_rows)


def agent_metrics_refresh(
    *, organization: Organization, as_of: dt.datetime
) -> tuple[dt.date, dt.date] | None:
    """Bring the daily rows up to the last complete local day, rebuilding stale days.

    Rebuilds from the earliest of: the first stale day, the day after the last filled one
    (or the first day with data on a first fill), and TRAILING_DAYS ago. Clears the stale
    mark only when no ingestion marked anything while it ran (the version check).
    """
    state, _ = AgentMetricsFillState.objects.get_or_create(organization=organization)
    version = state.version
    yesterday = as_of.astimezone(organization.tz).date() - dt.timedelta(days=1)
    candidates = [yesterday - dt.timedelta(days=TRAILING_DAYS - 1)]
    if state.dirty_from is not None:
        candidates.append(state.dirty_from)
    if state.filled_through is not None:
        candidates.append(state.filled_through + dt.timedelta(days=1))
    else:
        earliest = selectors.earliest_activity_day(organization=organization)
        if earliest is not None:
            candidates.append(earliest)
    first = min(candidates)
    if first <= yesterday:
        agent_daily_metrics_rebuild(organization=organization, first_day=first, last_day=yesterday)
    filled_through = max(yesterday, state.filled_through) if state.filled_through else yesterday
    cleared = AgentMetricsFillState.objects.filter(pk=state.pk, version=version).update(
        filled_through=filled_through, dirty_from=None, updated_at=timezone.now()
    )
    if not cleared:
        # Something was ingested meanwhile: keep its stale mark for the next run.
        AgentMetricsFillState.objects.filter(pk=state.pk).update(
            filled_through=filled_through, updated_at=timezone.now()
        )
    return (first, yesterday) if first <= yesterday else None


def agent_metrics_mark_stale(event: Ingested) -> bool:
    """Ingestion listener: days from the first stored lead/sale on are no longer trusted."""
    if event.entity not in STALE_ENTITIES or event.first_at is None:
        return False
    mark_stale(AgentMetricsFillState, organization_id=event.organization_id, first_at=event.first_at)
    transaction.on_commit(lambda: _schedule_refresh(event.organization_id))
    return True


def _schedule_refresh(organization_id: int) -> None:
    from agents import tasks

    tasks.schedule_metrics_refresh(organization_id)


# --- goals --------------------------------------------------------------------------------

GOAL_TYPES = tuple(GoalType.values)
PERIODS = tuple(GoalPeriod.values)


class GoalError(ValueError):
    """Bad goal input; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


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
    raise GoalError("period", f"Unknown period {period!r}; use one of {', '.join(PERIODS)}.")


def _clean_targets(goals: object) -> dict[str, Decimal]:
    if not isinstance(goals, dict) or not goals:
        raise GoalError("goals", 'Give at least one goal, e.g. {"conversions": 15}.')
    clean: dict[str, Decimal] = {}
    for goal_type, raw in goals.items():
        if goal_type not in GOAL_TYPES:
            raise GoalError(
                f"goals.{goal_type}", f"Unknown goal {goal_type!r}; use one of {', '.join(GOAL_TYPES)}."
            )
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise GoalError(f"goals.{goal_type}", "The target must be a number.")
        try:
            target = Decimal(str(raw))
        except InvalidOperation as exc:
            raise GoalError(f"goals.{goal_type}", "The target must be a number.") from exc
        if not target.is_finite() or target < 0:
            raise GoalError(f"goals.{goal_type}", "The target must be zero or more.")
        if target >= Decimal("1e12"):
            raise GoalError(f"goals.{goal_type}", "The target is too large.")
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
            goal_type=goal.goal_type, target=goal.target, kpis=agent_kpis(totals), totals=totals
        )
        if progress.achieved:
            recorded += AgentGoal.objects.filter(pk=goal.pk, achieved_at__isnull=True).update(
                achieved_at=as_of
            )
    return recorded
