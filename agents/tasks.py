"""Celery tasks of the agent analytics: ids and ISO timestamps in, services do the work.

The agent daily rows are a family of the statistics engine (agents/statistics.py), refreshed
by core.refresh_statistics; what is left here is the ranking cache.
"""

from __future__ import annotations

from celery import shared_task

from agents import analytics, services
from core.tasks import TASK_OPTIONS, reference_time
from core.timeranges import parse_range
from crm.models import Organization

# Rankings precomputed for the ranges the pages offer.
RANKED_RANGES = ("7d", "30d", "90d", "1y")


@shared_task(name="agents.refresh_rankings_all", expires=14 * 60, **TASK_OPTIONS)
def refresh_rankings_all(as_of: str | None = None) -> int:
    """Every 15 minutes: one ranking refresh per organization."""
    ids = list(Organization.objects.values_list("pk", flat=True))
    for org_id in ids:
        refresh_rankings.delay(org_id, as_of)
    return len(ids)


@shared_task(name="agents.refresh_rankings", expires=14 * 60, **TASK_OPTIONS)
def refresh_rankings(organization_id: int, as_of: str | None = None) -> int:
    """Recompute and cache the team rankings, and record goals achieved meanwhile."""
    org = Organization.objects.get(pk=organization_id)
    now = reference_time(as_of)
    windows = {label: parse_range(label, as_of=now) for label in RANKED_RANGES}
    # one engine read for the four ranges (they share its queries)
    rankings = analytics.compute_rankings(organization=org, windows=windows)
    for label, window in windows.items():
        analytics.store_ranking(organization=org, window=window, ranking=rankings[label])
    return services.goals_record_achievements(organization=org, as_of=now)
