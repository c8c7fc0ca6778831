"""One run of the business-intelligence generators for an organization: the performance
series first (detectors may read them), then the insights, then the opportunities.

Each generator writes in its own transaction and is idempotent, so a run that stops halfway
is completed by the next one. The run's state is kept in the cache for the page's progress
line ("queued", "running", "done" with the counts, or "failed").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from typing import Any

from django.core.cache import cache

from core.stats.fillstate import trusted_through
from core.stats.refresh import statistics_refresh
from crm.models import Organization

logger = logging.getLogger(__name__)

STATUS_TTL_SECONDS = 24 * 3600
STEPS = ("performance", "insights", "opportunities")


def _status_key(organization_id: int) -> str:
    return f"insights:bi-refresh:{organization_id}"


def refresh_status(organization_id: int) -> dict[str, Any] | None:
    """The last known state of a run for the organization (None: never run, or expired)."""
    return cache.get(_status_key(organization_id))


def set_refresh_status(organization_id: int, state: str, **details: Any) -> None:
    cache.set(_status_key(organization_id), {"state": state, **details}, STATUS_TTL_SECONDS)


def _counts(report: object) -> dict[str, Any]:
    if isinstance(report, dict):
        return report
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        return {
            k: v for k, v in dataclasses.asdict(report).items() if isinstance(v, int | float | str | dict)
        }
    return {}


def totals(counts: dict[str, Any]) -> dict[str, int | float | str]:
    """A report's counts with per-type dicts summed ({"created": {"upsell": 2, ...}} -> 2)."""
    return {
        k: sum(v.values()) if isinstance(v, dict) else v
        for k, v in counts.items()
        if k not in ("organization_id", "as_of")
        and (not isinstance(v, dict) or all(isinstance(x, int) for x in v.values()))
    }


def performance_series_refresh(*, organization: Organization, as_of: dt.datetime) -> dict[str, str]:
    """The series step: the statistics engine brings the "performance" family up to
    yesterday, rewriting only stale and new days' periods; nothing when the nightly
    engine run (or the refresh queued after an import) already did."""
    # Imported here for the same reason as the generators in bi_refresh.
    from insights.bi.performance.selectors import STATISTICS_FAMILY, fill_state

    yesterday = as_of.astimezone(organization.tz).date() - dt.timedelta(days=1)
    trusted = trusted_through(fill_state(organization))
    if trusted is not None and trusted >= yesterday:
        return {"up_to": trusted.isoformat()}
    span = statistics_refresh(organization=organization, family=STATISTICS_FAMILY, as_of=as_of)
    return {"rebuilt_from": span[0].isoformat(), "up_to": span[1].isoformat()} if span else {}


def bi_refresh(*, organization: Organization, as_of: dt.datetime) -> dict[str, dict[str, Any]]:
    """Run the three generators; returns each one's report counts."""
    # Imported here: the generators import the dashboards' modules, which import this app.
    from insights.bi.opportunities.services import opportunities_refresh
    from insights.bi.services import insights_refresh

    runs = {
        "performance": performance_series_refresh,
        "insights": insights_refresh,
        "opportunities": opportunities_refresh,
    }
    reports: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    for step in STEPS:
        set_refresh_status(organization.pk, "running", step=step, done=list(reports))
        reports[step] = _counts(runs[step](organization=organization, as_of=as_of))
    ms = int((time.monotonic() - started) * 1000)
    set_refresh_status(organization.pk, "done", finished_at=as_of.isoformat(), ms=ms, reports=reports)
    logger.info("bi_refresh organization=%s statistic=all steps=%d ms=%d", organization.pk, len(STEPS), ms)
    return reports
