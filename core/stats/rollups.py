"""The statistics engine's rollups: a declaration per table (RollupSpec: its raw rows, the
local-day column, the key columns, the additive measures), the idempotent rebuild of a span
of days as INSERT ... SELECT, and the one reader of "trusted rollup days + live rest".

The rebuild and the live part of every window are both derived from the spec, so a rollup
row and the live computation cannot disagree. Window totals = trusted rollup days + live
aggregates over the raw tables for the rest (the partial first day, today, days marked
stale): two queries per table whatever the size, and several windows (current, previous,
the last 30 days of each) share those two queries through conditional aggregation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Protocol

from django.db import connection, transaction
from django.db.models import Aggregate, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from core.dbstats import analyze
from core.stats.fillstate import window_plan
from core.timeranges import Window, day_window
from crm.models import Organization

# A rebuild writing at least this many rows refreshes the planner statistics of the rollups.
ANALYZE_AFTER_ROWS = 100_000


@dataclass(frozen=True)
class Measure:
    """One additive column: `function(expression, filter=own filter & window filter)`."""

    function: type[Aggregate]
    expression: str
    where: Q | None = None
    # Count(distinct=True): additive over days only where each counted value belongs to one
    # day (CAMPAIGN_LEADS: a lead's first touch with a campaign).
    distinct: bool = False

    def build(self, extra: Q | None = None) -> Aggregate:
        options = {"distinct": True} if self.distinct else {}
        conditions = [q for q in (self.where, extra) if q is not None]
        if not conditions:
            return self.function(self.expression, **options)
        combined = conditions[0]
        for q in conditions[1:]:
            combined &= q
        return self.function(self.expression, filter=combined, **options)


@dataclass(frozen=True)
class RollupSpec:
    name: str
    model: type
    raw: Callable[[Organization], QuerySet]
    time_field: str
    # rollup column -> raw lookup; text keys are stored "" when the raw value is empty/NULL
    keys: dict[str, str]
    measures: dict[str, Measure]
    text_keys: tuple[str, ...] = field(default=())
    # Coarser levels of the same rows (fewer key columns), coarsest first: a read that needs
    # none of the keys a level drops is answered from that level (the rollup hierarchy:
    # e.g. organization x day for a dashboard without filters). See `coarser_level`.
    coarser: tuple[RollupSpec, ...] = field(default=(), compare=False)
    # A coarser level is rebuilt from its finer one (a SUM over the finer rollup's rows of the
    # same days), not from the raw rows: far fewer rows to read.
    rebuilt_from: RollupSpec | None = field(default=None, compare=False, repr=False)

    def level(self, *, name: str, model: type, keys: tuple[str, ...]) -> RollupSpec:
        """A coarser level of this spec keeping only `keys`, rebuilt from this spec's rows."""
        return replace(
            self,
            name=name,
            model=model,
            keys={column: self.keys[column] for column in keys},
            text_keys=tuple(k for k in self.text_keys if k in keys),
            coarser=(),
            rebuilt_from=self,
        )

    def with_levels(self, *levels: RollupSpec) -> RollupSpec:
        return replace(self, coarser=levels)

    def levels(self) -> tuple[RollupSpec, ...]:
        """This spec and its coarser levels, in rebuild order (finest first)."""
        return (self, *reversed(self.coarser))


def q_columns(q: Q | None) -> set[str]:
    """The columns a Q names (the part of each lookup before "__")."""
    if q is None:
        return set()
    columns: set[str] = set()
    for child in q.children:
        if isinstance(child, Q):
            columns |= q_columns(child)
        else:
            columns.add(child[0].split("__")[0])
    return columns


def coarser_level(spec: RollupSpec, *, needed: set[str]) -> RollupSpec:
    """The coarsest level of `spec` that has every key column in `needed` (filters, grouping
    and `where` columns); `spec` itself when no coarser level has them all."""
    for level in spec.coarser:
        if needed <= set(level.keys):
            return level
    return spec


class KeyFilter(Protocol):
    """Restricts a spec's key columns, spelled for the rollup table and for the raw rows."""

    def columns(self) -> set[str]:
        """The rollup key columns the filter restricts (so a level without them can't answer)."""
        ...

    def rollup_q(self, spec: RollupSpec) -> Q: ...

    def raw_q(self, spec: RollupSpec) -> Q: ...


# --- reading: window totals ---------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One window of a window_totals call. `where` restricts it further and must name
    columns spelled the same in the rollup and the raw table (e.g. Q(kind="recurring"))."""

    window: Window
    where: Q | None = None


Totals = dict[str, int | Decimal]
Grouped = dict[object, Totals]


def _in_window(spec: RollupSpec, start: dt.datetime, end: dt.datetime) -> Q:
    return Q(**{f"{spec.time_field}__gte": start, f"{spec.time_field}__lt": end})


def _and(q: Q, where: Q | None) -> Q:
    return q if where is None else q & where


def _collect(qs: QuerySet, aggregates: dict, aliases: dict, group: str | None, out: dict) -> None:
    rows = qs.values(group).annotate(**aggregates).order_by() if group else [qs.aggregate(**aggregates)]
    for row in rows:
        key = row[group] if group else None
        for alias, (name, measure) in aliases.items():
            if row[alias]:
                target = out[name].setdefault(key, {})
                target[measure] = target.get(measure, 0) + row[alias]


def window_totals(
    *,
    organization: Organization,
    spec: RollupSpec,
    parts: dict[str, Part],
    filters: KeyFilter,
    trusted_last_day: dt.date | None,
    group_by: str | None = None,
) -> dict[str, Grouped]:
    """{part: {group (None without group_by): {measure: total}}} in at most two queries.

    A measure with nothing to count is absent (read it with .get(measure, 0)). The rollup
    days are read from the coarsest level of `spec` that has the key columns the filters,
    the grouping and the parts' `where` need.
    """
    needed = filters.columns() | ({group_by} if group_by else set())
    for part in parts.values():
        needed |= q_columns(part.where)
    spec = coarser_level(spec, needed=needed)
    plans = {
        name: window_plan(p.window, tz=organization.tz, trusted_last_day=trusted_last_day)
        for name, p in parts.items()
    }
    out: dict[str, Grouped] = {name: {} for name in parts}
    rollup_aggs, rollup_aliases, day_filter = {}, {}, Q()
    live_aggs, live_aliases, time_filter = {}, {}, Q()
    for index, (name, plan) in enumerate(plans.items()):
        where = parts[name].where
        if plan.rollup_days is not None:
            days = Q(day__gte=plan.rollup_days[0], day__lte=plan.rollup_days[1])
            day_filter |= days
            for measure in spec.measures:
                alias = f"r{index}_{measure}"
                rollup_aggs[alias] = Sum(measure, filter=_and(days, where))
                rollup_aliases[alias] = (name, measure)
        if plan.live_ranges:
            span = Q()
            for start, end in plan.live_ranges:
                span |= _in_window(spec, start, end)
            time_filter |= span
            for measure, definition in spec.measures.items():
                alias = f"l{index}_{measure}"
                live_aggs[alias] = definition.build(_and(span, where))
                live_aliases[alias] = (name, measure)
    if rollup_aggs:
        qs = spec.model.objects.for_org(organization).filter(day_filter).filter(filters.rollup_q(spec))
        _collect(qs, rollup_aggs, rollup_aliases, group_by, out)
    if live_aggs:
        qs = spec.raw(organization).filter(time_filter).filter(filters.raw_q(spec))
        raw_group = spec.keys[group_by] if group_by else None
        _collect(qs, live_aggs, live_aliases, raw_group, out)
        if raw_group and raw_group != group_by:
            for grouped in out.values():
                for key in list(grouped):
                    grouped.setdefault(key, {})
    return out


def raw_totals(
    *,
    organization: Organization,
    spec: RollupSpec,
    window: Window,
    filters: KeyFilter,
    where: Q | None = None,
    group_by: str | None = None,
) -> Grouped:
    """The same totals straight from the raw tables: the reference the rollups must equal."""
    qs = spec.raw(organization).filter(_in_window(spec, window.start, window.end)).filter(filters.raw_q(spec))
    if where is not None:
        qs = qs.filter(where)
    aggregates = {f"x_{m}": d.build() for m, d in spec.measures.items()}
    aliases = {f"x_{m}": ("raw", m) for m in spec.measures}
    out: dict[str, Grouped] = {"raw": {}}
    _collect(qs, aggregates, aliases, spec.keys[group_by] if group_by else None, out)
    return out["raw"]


# --- writing: the rebuild of a span of days ----------------------------------------------


def _grouped(*, organization: Organization, spec: RollupSpec, first_day: dt.date, last_day: dt.date):
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


def _regrouped(*, organization: Organization, spec: RollupSpec, first_day: dt.date, last_day: dt.date):
    """A coarser level's GROUP BY over its finer level's rows of the days [first_day, last_day]
    (the finer rows of those days are rebuilt first, in the same transaction)."""
    finer = spec.rebuilt_from
    return (
        finer.model.objects.for_org(organization)
        .filter(day__gte=first_day, day__lte=last_day)
        .annotate(rollup_day=F("day"), **{f"k_{c}": F(c) for c in spec.keys})
        .values("rollup_day", *(f"k_{c}" for c in spec.keys))
        .annotate(**{m: Sum(m) for m in spec.measures})
        .order_by()
    )


def _insert_grouped(
    *, organization: Organization, spec: RollupSpec, first_day: dt.date, last_day: dt.date
) -> int:
    """INSERT ... SELECT of the GROUP BY: the rows never pass through Python, so a full
    rebuild runs at the database's speed with flat memory (docs/performance.md, B4)."""
    grouping = _regrouped if spec.rebuilt_from is not None else _grouped
    sql, params = grouping(
        organization=organization, spec=spec, first_day=first_day, last_day=last_day
    ).query.sql_with_params()
    qn = connection.ops.quote_name
    columns = ["organization_id", "day", *spec.keys, *spec.measures]
    selected = [
        "%s",
        f"g.{qn('rollup_day')}",
        *(f"g.{qn('k_' + c)}" for c in spec.keys),
        *(f"COALESCE(g.{qn(m)}, 0)" for m in spec.measures),
    ]
    statement = (
        f"INSERT INTO {qn(spec.model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) "
        f"SELECT {', '.join(selected)} FROM ({sql}) g"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, (organization.pk, *params))
        return max(cursor.rowcount, 0)


def _analyze_rollups(specs: tuple[RollupSpec, ...]) -> None:
    # After a large rewrite the planner took the rollups for their old size: the next one-day
    # rebuild's delete ran as a scan of millions of rows (25.6 s, not 2.8 s; docs/performance.md).
    analyze(spec.model for spec in specs)


def rollups_rebuild(
    *, organization: Organization, specs: Iterable[RollupSpec], first_day: dt.date, last_day: dt.date
) -> int:
    """Replace every row of `specs` of the local days [first_day, last_day] in one
    transaction; returns the rows written. Idempotent: running it twice, or after a crash
    halfway, gives the same rows."""
    specs = tuple(level for spec in specs for level in spec.levels())
    written = 0
    with transaction.atomic():
        for spec in specs:
            spec.model.objects.for_org(organization).filter(day__gte=first_day, day__lte=last_day).delete()
            written += _insert_grouped(
                organization=organization, spec=spec, first_day=first_day, last_day=last_day
            )
    if written >= ANALYZE_AFTER_ROWS:
        _analyze_rollups(specs)
    return written
