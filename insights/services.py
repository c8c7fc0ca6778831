"""Writes of the manager analytics: the daily rollups, their fill state and stale marks;
organization goals and saved dashboard views (audited)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from crm.audit import audit_record
from crm.cache import org_data_changed
from crm.dbstats import analyze
from crm.events import Ingested
from crm.fillstate import mark_stale
from crm.models import Member, Organization
from crm.timeranges import day_window
from insights import selectors
from insights.models import InsightsFillState, OrganizationGoal, SavedView
from insights.selectors import SPECS, RollupSpec

logger = logging.getLogger(__name__)

# Days always rebuilt by the nightly job, so a change the stale marks miss (a lead's region
# edited after its calls, a call logged before its lead existed) is corrected within a week.
TRAILING_DAYS = 7
# Touchpoints too: a new touchpoint can change the last touch, so the attribution, of later sales.
STALE_ENTITIES = ("leads", "activities", "sales", "campaign_messages", "touchpoints")
# A rebuild writing at least this many rows refreshes the planner statistics of the rollups.
ANALYZE_AFTER_ROWS = 100_000


def _grouped(*, organization: Organization, spec: RollupSpec, first_day: dt.date, last_day: dt.date):  # noqa: ANN202
    """One GROUP BY over the raw rows of the local days [first_day, last_day]."""
    window = day_window(first_day, last_day, organization.tz)
    keys = {
        column: Coalesce(lookup, Value("")) if column in spec.text_keys else F(lookup)
        for column, lookup in spec.keys.items()
    }
    return (
        spec.raw(organization)
        .filter(**{f"{spec.time_field}__gte": window.start, f"{spec.time_field}__lt": window.end})
        .annotate(
            rollup_day=TruncDate(spec.time_field, tzinfo=organization.tz),
            **{f"k_{c}": e for c, e in keys.items()},
        )
        .values("rollup_day", *(f"k_{c}" for c in keys))
        .annotate(**{m: d.build() for m, d in spec.measures.items()})
        .order_by()
    )


def _insert_grouped(
    *, organization: Organization, spec: RollupSpec, first_day: dt.date, last_day: dt.date
) -> int:
    """INSERT ... SELECT of the GROUP BY: the rows never pass through Python, so a full
    rebuild runs at the database's speed with flat memory (docs/performance.md, B4)."""
    sql, params = _grouped(
        organization=organization, spec=spec, first_day=first_day, last_day=last_day
    ).query.sql_with_params()
    qn = connection.ops.quote_name
    columns = ["organization_id", "day", *spec.keys, *spec.measures]
    selected = ["%s", f"g.{qn('rollup_day')}", *(f"g.{qn('k_' + c)}" for c in spec.keys),
                *(f"COALESCE(g.{qn(m)}, 0)" for m in spec.measures)]  # fmt: skip
    statement = (
        f"INSERT INTO {qn(spec.model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
        f"SELECT {', '.join(selected)} FROM ({sql}) g"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, (organization.pk, *params))
        return max(cursor.rowcount, 0)


def _analyze_rollups() -> None:
    # After a large rewrite the planner took the rollups for their old size: the next one-day
    # rebuild's delete ran as a scan of millions of rows (25.6 s, not 2.8 s; docs/performance.md).
    analyze(spec.model for spec in SPECS)


def insights_rollups_rebuild(*, organization: Organization, first_day: dt.date, last_day: dt.date) -> int:
    """Replace every insights rollup row of [first_day, last_day] in one transaction.

    Idempotent: running it twice, or after a crash halfway, gives the same rows.
    """
    started = time.monotonic()
    written = 0
    with transaction.atomic():
        for spec in SPECS:
            spec.model.objects.for_org(organization).filter(day__gte=first_day, day__lte=last_day).delete()
            written += _insert_grouped(
                organization=organization, spec=spec, first_day=first_day, last_day=last_day
            )
    if written >= ANALYZE_AFTER_ROWS:
        _analyze_rollups()
    logger.info(
        "rollup organization=%s statistic=insights_daily first=%s last=%s rows=%d ms=%d",
        organization.pk,
        first_day,
        last_day,
        written,
        (time.monotonic() - started) * 1000,
    )
    return written


def insights_rollups_refresh(
    *, organization: Organization, as_of: dt.datetime
) -> tuple[dt.date, dt.date] | None:
    """Bring the rollups up to the last complete local day, rebuilding stale days.

    Rebuilds from the earliest of: the first stale day, the day after the last filled one
    (or the first day with data on a first fill), and TRAILING_DAYS ago. Clears the stale
    mark only when no ingestion marked anything while it ran (the version check).
    """
    state, _ = InsightsFillState.objects.get_or_create(organization=organization)
    version = state.version
    yesterday = as_of.astimezone(organization.tz).date() - dt.timedelta(days=1)
    candidates = [yesterday - dt.timedelta(days=TRAILING_DAYS - 1)]
    if state.dirty_from is not None:
        candidates.append(state.dirty_from)
    if state.filled_through is not None:
        candidates.append(state.filled_through + dt.timedelta(days=1))
    else:
        earliest = selectors.earliest_data_day(organization)
        if earliest is not None:
            candidates.append(earliest)
    first = min(candidates)
    if first <= yesterday:
        insights_rollups_rebuild(organization=organization, first_day=first, last_day=yesterday)
    filled_through = max(yesterday, state.filled_through) if state.filled_through else yesterday
    cleared = InsightsFillState.objects.filter(pk=state.pk, version=version).update(
        filled_through=filled_through, dirty_from=None, updated_at=timezone.now()
    )
    if not cleared:
        # Something was ingested meanwhile: keep its stale mark for the next run.
        InsightsFillState.objects.filter(pk=state.pk).update(
            filled_through=filled_through, updated_at=timezone.now()
        )
    return (first, yesterday) if first <= yesterday else None


def insights_rollups_mark_stale(event: Ingested) -> bool:
    """Ingestion listener: rollup days from the first stored business timestamp on are no
    longer trusted (a lead converted today rewrites its creation day's cohort counts)."""
    if event.entity not in STALE_ENTITIES or event.first_at is None:
        return False
    mark_stale(InsightsFillState, organization_id=event.organization_id, first_at=event.first_at)
    transaction.on_commit(lambda: _schedule_refresh(event.organization_id))
    return True


def _schedule_refresh(organization_id: int) -> None:
    from insights import tasks

    tasks.schedule_rollups_refresh(organization_id)


# --- organization goals and saved views ---------------------------------------------------


def organization_goal_set(
    *, organization: Organization, actor: Member, month: dt.date, metric: str, target: Decimal
) -> OrganizationGoal:
    """Create or change a month's target (audited); target 0 removes nothing, it is a target."""
    with transaction.atomic():
        goal = (
            OrganizationGoal.objects.for_org(organization)
            .select_for_update()
            .filter(month=month, metric=metric)
            .first()
        )
        before = None if goal is None else {"target": str(goal.target)}
        if goal is None:
            goal = OrganizationGoal(organization=organization, month=month, metric=metric)
        goal.target, goal.set_by, goal.updated_at = target, actor, timezone.now()
        goal.save()
        audit_record(organization=organization, actor=actor, action="organization_goal.set",
                     object_type="OrganizationGoal", object_id=goal.pk, before=before,
                     after={"month": month.isoformat(), "metric": metric, "target": str(target)})  # fmt: skip
        # The overview tab's cached payload holds the goals.
        transaction.on_commit(lambda: org_data_changed(organization.pk))
    return goal


def saved_view_create(
    *, organization: Organization, actor: Member, name: str, tab: str, query: str
) -> SavedView:
    view = SavedView.objects.create(
        organization=organization, name=name, tab=tab, query=query, created_by=actor
    )
    audit_record(organization=organization, actor=actor, action="saved_view.create", object_type="SavedView",
                 object_id=view.pk, after={"name": name, "tab": tab, "query": query})  # fmt: skip
    return view


def saved_view_delete(*, view: SavedView, actor: Member) -> None:
    audit_record(organization=view.organization, actor=actor, action="saved_view.delete", object_type="SavedView",
                 object_id=view.pk, before={"name": view.name, "tab": view.tab, "query": view.query})  # fmt: skip
    view.delete()
