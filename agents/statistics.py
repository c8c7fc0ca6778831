"""The agent analytics' family of statistics for the engine (core/stats): the per-agent
daily rows (AgentDailyMetrics), keyed by the day a lead was handled and a sale closed, and
their agent x month level (AgentMonthlyMetrics), declared as agents.selectors.AGENT_METRICS
and rebuilt together by the engine's rollups_rebuild."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from agents.selectors import STATISTICS_FAMILY, earliest_activity_day
from agents.services import agent_daily_metrics_rebuild, goals_record_achievements
from core.stats.families import Family
from crm.models import Organization


def _after_refresh(*, organization: Organization, as_of: dt.datetime) -> None:
    """Fresh daily rows can complete goals and move positions: record the goals now and
    queue the rankings (they take a few seconds per range at a thousand agents)."""
    goals_record_achievements(organization=organization, as_of=as_of)
    from agents import tasks

    transaction.on_commit(lambda: tasks.refresh_rankings.delay(organization.pk, as_of.isoformat()))


FAMILY = Family(
    name=STATISTICS_FAMILY,
    stale_entities=frozenset({"leads", "sales"}),
    rebuild=agent_daily_metrics_rebuild,
    earliest_day=lambda organization: earliest_activity_day(organization=organization),
    after_refresh=_after_refresh,
)
