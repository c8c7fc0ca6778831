"""The statistics engine's rollups: a declaration per table (RollupSpec: its raw rows, the
local-day column, the key columns, the additive measures), the idempotent rebuild of a span
of days as INSERT ... SELECT, and the one reader of "trusted rollup days + live rest".

The rebuild and the live part of every window are both derived from the spec, so a rollup
row and the live computation cannot disagree. Window totals = trusted rollup days + live
aggregates over the raw tables for the rest (the partial first day, today, days marked
stale): two queries per table whatever the size (one more for a month level, one more per
merged source), and several windows (current, previous, the last 30 days of each) share
those queries through conditional aggregation.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from typing import Protocol

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    BigIntegerField,
    Case,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, TruncDate, TruncHour, TruncMonth

from core.dbstats import analyze
from core.stats.fillstate import window_plan
from core.timeranges import (
    Window,
    add_months,
    day_window,
    hour_ceil,
    hour_floor,
    month_start,
    whole_hour_offsets,
)
from crm.models import Organization

# A rebuild writing at least this many rows refreshes the planner statistics of the rollups.
ANALYZE_AFTER_ROWS = 100_000
# A window whose trusted days span more than this reads its whole months from a month level
# (BENCHMARKS.md: "agent x day for ranges up to about 90 days and agent x month beyond"); a
# shorter one holds at most two whole months, not worth a third query.
MONTHS_AFTER_DAYS = 90
# RollupSpec.period values: one row per local day, per local month (stored in the `day`
# column as the month's first day), or per UTC hour (an `hour` column next to the local
# `day`, so the hour that holds a half-hour time zone's midnight has a row for each day).
DAY, MONTH, HOUR = "day", "month", "hour"


class Microseconds(Func):
    """An interval (a DurationField expression, e.g. F("contacted_at") - F("assigned_at")) as
    whole microseconds, computed in the database so a Sum of it is an additive integer
    measure. SQLite holds durations as integer microseconds already; PostgreSQL extracts them
    from the interval (EXTRACT(EPOCH ...) is numeric since PostgreSQL 14: exact)."""

    template = "%(expressions)s"
    output_field = BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(EXTRACT(EPOCH FROM %(expressions)s) * 1000000 AS bigint)",
            **extra_context,
        )


@dataclass(frozen=True)
class Measure:
    """One additive column: `function(expression, filter=own filter & window filter)`."""

    function: type[Aggregate]
    # A column of the raw rows, or an expression over them (e.g. Microseconds(...))
    expression: str | Combinable
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
    # The raw rows of [start, end) when `time_field` is an expression (an annotation of `raw`,
    # e.g. COALESCE(assigned_at, created_at)): the same rows spelled as index-friendly ranges.
    # By default the range of `time_field`.
    window: Callable[[dt.datetime, dt.datetime], Q] | None = field(default=None, compare=False, repr=False)
    # More raw tables whose measures share this spec's rows (same model and key columns; their
    # own raw rows, time column, key lookups and measures): e.g. an agent's leads by handling
    # day and sales by closing day in one agent x day row. `merge()` declares them.
    merged: tuple[RollupSpec, ...] = field(default=(), compare=False)
    # DAY: one row per local day; MONTH: per local month; HOUR: per UTC hour (see `level`).
    period: str = DAY

    def level(self, *, name: str, model: type, keys: tuple[str, ...], period: str = DAY) -> RollupSpec:
        """A coarser level of this spec keeping only `keys`: with period=MONTH one row per
        local month, rebuilt from this spec's day rows; with period=HOUR one row per UTC hour
        (and local day), finer in time, so rebuilt from the raw rows."""

        def narrowed(source: RollupSpec) -> RollupSpec:
            return replace(
                source,
                name=name,
                model=model,
                keys={column: source.keys[column] for column in keys},
                text_keys=tuple(k for k in source.text_keys if k in keys),
                coarser=(),
                merged=(),
                rebuilt_from=None if period == HOUR else self,
                period=period,
            )

        return replace(narrowed(self), merged=tuple(narrowed(source) for source in self.merged))

    def with_levels(self, *levels: RollupSpec) -> RollupSpec:
        return replace(self, coarser=levels)

    def merge(self, *sources: RollupSpec) -> RollupSpec:
        """This spec with `sources` summed into the same rows (declare levels after merging)."""
        for source in sources:
            if source.model is not self.model or set(source.keys) != set(self.keys):
                raise ValueError(f"{source.name}: a merged source needs {self.name}'s table and key columns")
            if set(source.measures) & set(self.all_measures()):
                raise ValueError(f"{source.name}: a merged source needs measures of its own")
        return replace(self, merged=(*self.merged, *sources))

    def sources(self) -> tuple[RollupSpec, ...]:
        """The raw sources of this table's rows: this spec and its merged ones."""
        return (self, *self.merged)

    def all_measures(self) -> dict[str, Measure]:
        """Every measure column of the table, over all sources."""
        return {name: m for source in self.sources() for name, m in source.measures.items()}

    def levels(self) -> tuple[RollupSpec, ...]:
        """This spec and its coarser levels, in rebuild order: finest first, the month levels
        after the day levels they are rebuilt from, then the hour levels (from the raw rows)."""
        coarser = tuple(reversed(self.coarser))
        return (
            self,
            *(level for level in coarser if level.period == DAY),
            *(level for level in coarser if level.period == MONTH),
            *(level for level in coarser if level.period == HOUR),
        )


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
    """The coarsest day level of `spec` that has every key column in `needed` (filters,
    grouping and `where` columns); `spec` itself when no coarser level has them all."""
    for level in spec.coarser:
        if level.period == DAY and needed <= set(level.keys):
            return level
    return spec


def month_level(spec: RollupSpec, *, needed: set[str]) -> RollupSpec | None:
    """The coarsest month level of `spec` that has every key column in `needed`, if any."""
    for level in spec.coarser:
        if level.period == MONTH and needed <= set(level.keys):
            return level
    return None


def hour_level(spec: RollupSpec, *, needed: set[str]) -> RollupSpec | None:
    """The coarsest hour level of `spec` that has every key column in `needed`, if any."""
    for level in spec.coarser:
        if level.period == HOUR and needed <= set(level.keys):
            return level
    return None


def hour_split(
    ranges: tuple[tuple[dt.datetime, dt.datetime], ...], *, until: dt.datetime
) -> tuple[list[tuple[dt.datetime, dt.datetime]], list[tuple[dt.datetime, dt.datetime]]]:
    """Live ranges as (ranges still live, hour spans): the whole UTC hours inside each range
    that end by `until` (the hour level is valid before it) are read from the hour level;
    the minutes before the first of them and after the last stay live."""
    live, hours = [], []
    for start, end in ranges:
        first, last = hour_ceil(start), hour_floor(min(end, until))
        if first >= last:
            live.append((start, end))
            continue
        hours.append((first, last))
        if start < first:
            live.append((start, first))
        if last < end:
            live.append((last, end))
    return live, hours


def month_split(
    first: dt.date, last: dt.date
) -> tuple[tuple[tuple[dt.date, dt.date], ...], tuple[dt.date, dt.date] | None]:
    """The local days [first, last] as (day spans, month span): the whole calendar months
    inside them as (first day of the first month, first day of the last month), and the days
    before and after those months. Spans of MONTHS_AFTER_DAYS days or fewer stay days."""
    if (last - first).days + 1 <= MONTHS_AFTER_DAYS:
        return ((first, last),), None
    months_from = first if first.day == 1 else add_months(month_start(first), 1)
    months_until = month_start(last + dt.timedelta(days=1))  # exclusive
    if months_from >= months_until:
        return ((first, last),), None
    spans = []
    if first < months_from:
        spans.append((first, months_from - dt.timedelta(days=1)))
    if months_until <= last:
        spans.append((months_until, last))
    return tuple(spans), (months_from, add_months(months_until, -1))


class KeyFilter(Protocol):
    """Restricts a spec's key columns, spelled for the rollup table and for the raw rows."""

    def columns(self) -> set[str]:
        """The rollup key columns the filter restricts (so a level without them can't answer)."""
        ...

    def rollup_q(self, spec: RollupSpec) -> Q: ...

    def raw_q(self, spec: RollupSpec) -> Q: ...


@dataclass(frozen=True)
class KeyValues:
    """A KeyFilter of equalities on key columns, e.g. KeyValues({"agent_id": 7}); empty: all."""

    values: dict[str, object] = field(default_factory=dict)

    def columns(self) -> set[str]:
        return set(self.values)

    def rollup_q(self, spec: RollupSpec) -> Q:
        return Q(**self.values)

    def raw_q(self, spec: RollupSpec) -> Q:
        return Q(**{spec.keys[column]: value for column, value in self.values.items()})


# --- reading: window totals ---------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One window of a window_totals call. `where` restricts it further and must name
    columns spelled the same in the rollup and the raw table (e.g. Q(kind="recurring"))."""

    window: Window
    where: Q | None = None
    # Only these measures are needed from this part (None: all): an overlapping part then
    # costs one filtered aggregate per measure it needs, not per measure of the table.
    measures: frozenset[str] | None = None


Totals = dict[str, int | Decimal]
Grouped = dict[object, Totals]


def _in_window(spec: RollupSpec, start: dt.datetime, end: dt.datetime) -> Q:
    if spec.window is not None:
        return spec.window(start, end)
    return Q(**{f"{spec.time_field}__gte": start, f"{spec.time_field}__lt": end})


def _and(q: Q, where: Q | None) -> Q:
    return q if where is None else q & where


def _collect(qs: QuerySet, aggregates: dict, aliases: dict, group: str | None, out: dict) -> None:
    if not aggregates:
        return  # no part needs a measure of this table
    rows = qs.values(group).annotate(**aggregates).order_by() if group else [qs.aggregate(**aggregates)]
    for row in rows:
        key = row[group] if group else None
        for alias, (name, measure) in aliases.items():
            if row[alias]:
                target = out[name].setdefault(key, {})
                target[measure] = target.get(measure, 0) + row[alias]


def _disjoint(spans: list[tuple]) -> bool:
    """Whether half-open [start, end) spans (of every part together) never overlap."""
    ordered = sorted(spans)
    return all(a[1] <= b[0] for a, b in itertools.pairwise(ordered))


@dataclass
class _Read:
    """One query over one table for several parts: each part's rows are those of its spans.

    A single part needs no per-measure filter but its own `where` (the query's WHERE is its
    rows). When the parts' spans never overlap and no part has its own `where`, a row belongs to
    exactly one part: the query groups by a CASE naming the row's part and aggregates each
    measure once. Otherwise every (part, measure) is its own FILTERed aggregate. Both give the
    same totals; the first builds a far smaller query (the ORM's building and compiling of
    dozens of filtered aggregates was about half of a cold agent KPI answer).
    """

    # measure -> its aggregate with an extra filter (None: none)
    measures: dict[str, Callable[[Q | None], Aggregate]]
    parts: list[tuple[str, Q, Q | None]] = field(default_factory=list)
    spans: list[tuple] = field(default_factory=list)
    # part name -> the measures it needs (absent: all)
    needs: dict[str, frozenset[str]] = field(default_factory=dict)

    def add(
        self, name: str, rows: Q, where: Q | None, spans: list[tuple], measures: frozenset[str] | None = None
    ) -> None:
        self.parts.append((name, rows, where))
        self.spans.extend(spans)
        if measures is not None:
            self.needs[name] = measures

    def _measures_of(self, name: str) -> list[str]:
        needed = self.needs.get(name)
        return [m for m in self.measures if needed is None or m in needed]

    def collect(self, qs: QuerySet, group: str | None, out: dict) -> None:
        if not self.parts:
            return
        rows = Q()
        for _, part_rows, _ in self.parts:
            rows |= part_rows
        qs = qs.filter(rows)
        if len(self.parts) == 1:
            # the query's WHERE is the part's rows: only the part's own `where` filters
            name, _, where = self.parts[0]
            measures = self._measures_of(name)
            aggregates = {f"p0_{m}": self.measures[m](where) for m in measures}
            _collect(qs, aggregates, {f"p0_{m}": (name, m) for m in measures}, group, out)
            return
        if all(w is None for _, _, w in self.parts) and _disjoint(self.spans):
            case = Case(
                *(When(part_rows, then=Value(i)) for i, (_, part_rows, _) in enumerate(self.parts)),
                output_field=IntegerField(),
            )
            columns = [group, "rollup_part"] if group else ["rollup_part"]
            grouped = qs.annotate(rollup_part=case).values(*columns)
            for row in grouped.annotate(**{m: build(None) for m, build in self.measures.items()}).order_by():
                name = self.parts[row["rollup_part"]][0]
                key = row[group] if group else None
                for measure in self.measures:
                    if row[measure]:
                        target = out[name].setdefault(key, {})
                        target[measure] = target.get(measure, 0) + row[measure]
            return
        aggregates, aliases = {}, {}
        for index, (name, part_rows, where) in enumerate(self.parts):
            for measure in self._measures_of(name):
                aggregates[f"p{index}_{measure}"] = self.measures[measure](_and(part_rows, where))
                aliases[f"p{index}_{measure}"] = (name, measure)
        _collect(qs, aggregates, aliases, group, out)


def _rollup_read(spec: RollupSpec) -> _Read:
    return _Read({m: partial(_rollup_sum, m) for m in spec.all_measures()})


def _rollup_sum(measure: str, extra: Q | None) -> Aggregate:
    return Sum(measure) if extra is None else Sum(measure, filter=extra)


def _day_spans(spans: tuple[tuple[dt.date, dt.date], ...]) -> tuple[Q, list[tuple]]:
    """The rows of the local days [first, last] of each span, and the spans half-open."""
    rows = Q()
    for first, last in spans:
        rows |= Q(day__gte=first, day__lte=last)
    return rows, [(first, last + dt.timedelta(days=1)) for first, last in spans]


def window_totals(
    *,
    organization: Organization,
    spec: RollupSpec,
    parts: dict[str, Part],
    filters: KeyFilter,
    trusted_last_day: dt.date | None,
    group_by: str | None = None,
    hours_until: dt.datetime | None = None,
) -> dict[str, Grouped]:
    """{part: {group (None without group_by): {measure: total}}} in at most two queries (plus
    one when a month level answers whole months, one when an hour level answers whole hours,
    one per merged source).

    A measure with nothing to count is absent (read it with .get(measure, 0)). The rollup
    days are read from the coarsest level of `spec` that has the key columns the filters,
    the grouping and the parts' `where` need; the whole months of a part whose trusted days
    span more than MONTHS_AFTER_DAYS from its month level, when it has one; and the whole
    hours of the rest that end by `hours_until` (fillstate.hours_trusted_until) from its
    hour level, when it has one.
    """
    needed = filters.columns() | ({group_by} if group_by else set())
    for part in parts.values():
        needed |= q_columns(part.where)
    months = month_level(spec, needed=needed)
    hours = hour_level(spec, needed=needed) if hours_until is not None else None
    spec = coarser_level(spec, needed=needed)
    plans = {
        name: window_plan(p.window, tz=organization.tz, trusted_last_day=trusted_last_day)
        for name, p in parts.items()
    }
    out: dict[str, Grouped] = {name: {} for name in parts}
    daily = _rollup_read(spec)
    monthly = _rollup_read(months) if months is not None else None
    hourly = _rollup_read(hours) if hours is not None else None
    live = [_Read({m: d.build for m, d in source.measures.items()}) for source in spec.sources()]
    for name, plan in plans.items():
        where = parts[name].where
        if plan.rollup_days is not None:
            day_spans: tuple[tuple[dt.date, dt.date], ...] = (plan.rollup_days,)
            if monthly is not None:
                day_spans, month_span = month_split(*plan.rollup_days)
                if month_span is not None:
                    rows, _ = _day_spans((month_span,))
                    # one row per month, dated its first day: the span is the whole months
                    monthly.add(
                        name,
                        rows,
                        where,
                        [(month_span[0], add_months(month_span[1], 1))],
                        parts[name].measures,
                    )
            if day_spans:
                rows, spans = _day_spans(day_spans)
                daily.add(name, rows, where, spans, parts[name].measures)
        live_ranges = list(plan.live_ranges)
        if hourly is not None and live_ranges:
            live_ranges, hour_spans = hour_split(plan.live_ranges, until=hours_until)
            if hour_spans:
                rows = Q()
                for start, end in hour_spans:
                    rows |= Q(hour__gte=start, hour__lt=end)
                hourly.add(name, rows, where, hour_spans, parts[name].measures)
        if live_ranges:
            for read, source in zip(live, spec.sources(), strict=True):
                rows = Q()
                for start, end in live_ranges:
                    rows |= _in_window(source, start, end)
                read.add(name, rows, where, live_ranges, parts[name].measures)
    rollup_rows = spec.model.objects.for_org(organization).filter(filters.rollup_q(spec))
    daily.collect(rollup_rows, group_by, out)
    if monthly is not None:
        month_rows = months.model.objects.for_org(organization).filter(filters.rollup_q(months))
        monthly.collect(month_rows, group_by, out)
    if hourly is not None:
        hour_rows = hours.model.objects.for_org(organization).filter(filters.rollup_q(hours))
        hourly.collect(hour_rows, group_by, out)
    for read, source in zip(live, spec.sources(), strict=True):
        raw_rows = source.raw(organization).filter(filters.raw_q(source))
        read.collect(raw_rows, source.keys[group_by] if group_by else None, out)
    return out


def local_time_totals(
    *,
    organization: Organization,
    spec: RollupSpec,
    window: Window,
    filters: KeyFilter,
    groups: dict[str, Callable[[str], Combinable]],
    hours_until: dt.datetime | None,
) -> dict[tuple, Totals]:
    """{(group values...): {measure: total}} over W, grouped by expressions of each row's time
    (`groups`: name -> a function of the time column, e.g. its local weekday and hour). Where
    the organization's zone is a whole number of hours from UTC (a UTC hour is one local
    hour) and `spec` has an hour level with the keys the filters need, the whole hours of W
    before `hours_until` are read from that level and only the rest from the raw rows (two
    queries); otherwise one query over the raw rows."""
    names = list(groups)
    out: dict[tuple, Totals] = {}

    def collect(rows: Iterable[dict], measures: Iterable[str]) -> None:
        for row in rows:
            target = out.setdefault(tuple(row[n] for n in names), {})
            for m in measures:
                if row[m]:
                    target[m] = target.get(m, 0) + row[m]

    ranges = [(window.start, window.end)]
    hours = hour_level(spec, needed=filters.columns()) if hours_until is not None else None
    if hours is not None and whole_hour_offsets(organization.tz, window):
        ranges, spans = hour_split(tuple(ranges), until=hours_until)
        if spans:
            rows = Q()
            for start, end in spans:
                rows |= Q(hour__gte=start, hour__lt=end)
            measures = hours.all_measures()
            collect(
                hours.model.objects.for_org(organization)
                .filter(rows, filters.rollup_q(hours))
                .annotate(**{n: group("hour") for n, group in groups.items()})
                .values(*names)
                .annotate(**{m: Sum(m) for m in measures})
                .order_by(),
                measures,
            )
    for source in spec.sources():
        if not ranges:
            break
        rows = Q()
        for start, end in ranges:
            rows |= _in_window(source, start, end)
        collect(
            source.raw(organization)
            .filter(rows, filters.raw_q(source))
            .annotate(**{n: group(source.time_field) for n, group in groups.items()})
            .values(*names)
            .annotate(**{m: d.build() for m, d in source.measures.items()})
            .order_by(),
            source.measures,
        )
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
    out: dict[str, Grouped] = {"raw": {}}
    for source in spec.sources():
        qs = source.raw(organization).filter(_in_window(source, window.start, window.end))
        qs = qs.filter(filters.raw_q(source))
        if where is not None:
            qs = qs.filter(where)
        aggregates = {f"x_{m}": d.build() for m, d in source.measures.items()}
        aliases = {f"x_{m}": ("raw", m) for m in source.measures}
        _collect(qs, aggregates, aliases, source.keys[group_by] if group_by else None, out)
    return out["raw"]


# --- writing: the rebuild of a span of days ----------------------------------------------


def _buckets(spec: RollupSpec) -> tuple[str, ...]:
    """The time columns of a level's rows (as named in the SELECT of a rebuild)."""
    return ("rollup_day", "rollup_hour") if spec.period == HOUR else ("rollup_day",)


def _grouped(
    *,
    organization: Organization,
    spec: RollupSpec,
    first_day: dt.date,
    last_day: dt.date,
    until: dt.datetime | None = None,
):
    """One GROUP BY over the raw rows of the local days [first_day, last_day] (before
    `until`, when given: today's hours up to the last whole one)."""
    window = day_window(first_day, last_day, organization.tz)
    end = window.end if until is None else min(window.end, until)
    keys = {
        column: Coalesce(lookup, Value("")) if column in spec.text_keys else F(lookup)
        for column, lookup in spec.keys.items()
    }
    buckets = {"rollup_day": TruncDate(spec.time_field, tzinfo=organization.tz)}
    if spec.period == HOUR:
        # UTC hours: every time zone's local midnight starts one (or splits one, which the
        # local day then tells apart), whatever its offset or daylight saving.
        buckets["rollup_hour"] = TruncHour(spec.time_field, tzinfo=dt.UTC)
    return (
        spec.raw(organization)
        .filter(_in_window(spec, window.start, end))
        .annotate(**buckets, **{f"k_{c}": e for c, e in keys.items()})
        .values(*buckets, *(f"k_{c}" for c in keys))
        .annotate(**{m: d.build() for m, d in spec.measures.items()})
        .order_by()
    )


def _regrouped(*, organization: Organization, spec: RollupSpec, first_day: dt.date, last_day: dt.date):
    """A coarser level's GROUP BY over its finer level's rows of the days [first_day, last_day]
    (the finer rows of those days are rebuilt first, in the same transaction); a month
    level's over the finer rows of the whole months holding those days."""
    finer = spec.rebuilt_from
    rows = finer.model.objects.for_org(organization)
    if spec.period == MONTH:
        rows = rows.filter(day__gte=month_start(first_day), day__lt=add_months(month_start(last_day), 1))
        bucket = TruncMonth("day")
    else:
        rows = rows.filter(day__gte=first_day, day__lte=last_day)
        bucket = F("day")
    return (
        rows.annotate(rollup_day=bucket, **{f"k_{c}": F(c) for c in spec.keys})
        .values("rollup_day", *(f"k_{c}" for c in spec.keys))
        .annotate(**{m: Sum(m) for m in spec.all_measures()})
        .order_by()
    )


def _select_grouped(
    *,
    organization: Organization,
    spec: RollupSpec,
    first_day: dt.date,
    last_day: dt.date,
    until: dt.datetime | None = None,
) -> tuple[str, tuple]:
    """The SELECT of (rollup_day, k_<key>..., <measure>...) rows for the table of `spec`: a
    level's regrouping, one source's GROUP BY, or the sum of its merged sources' GROUP BYs
    (a UNION ALL, each source's missing measures 0, summed per day and key)."""
    qn = connection.ops.quote_name
    if spec.rebuilt_from is not None:
        query = _regrouped(organization=organization, spec=spec, first_day=first_day, last_day=last_day).query
        return query.sql_with_params()
    if not spec.merged:
        query = _grouped(
            organization=organization, spec=spec, first_day=first_day, last_day=last_day, until=until
        ).query
        return query.sql_with_params()
    keys = [*(qn(b) for b in _buckets(spec)), *(qn(f"k_{c}") for c in spec.keys)]
    branches, params = [], []
    for source in spec.sources():
        sql, source_params = _grouped(
            organization=organization, spec=source, first_day=first_day, last_day=last_day, until=until
        ).query.sql_with_params()
        measures = [
            f"g.{qn(m)} AS {qn(m)}" if m in source.measures else f"0 AS {qn(m)}" for m in spec.all_measures()
        ]
        branches.append(
            f"SELECT {', '.join(f'g.{k} AS {k}' for k in keys)}, {', '.join(measures)} FROM ({sql}) g"
        )
        params.extend(source_params)
    sums = ", ".join(f"SUM(u.{qn(m)}) AS {qn(m)}" for m in spec.all_measures())
    union = " UNION ALL ".join(branches)
    grouping = ", ".join(f"u.{k}" for k in keys)
    return f"SELECT {grouping}, {sums} FROM ({union}) u GROUP BY {grouping}", tuple(params)


def _insert_grouped(
    *,
    organization: Organization,
    spec: RollupSpec,
    first_day: dt.date,
    last_day: dt.date,
    until: dt.datetime | None = None,
) -> int:
    """INSERT ... SELECT of the GROUP BY: the rows never pass through Python, so a full
    rebuild runs at the database's speed with flat memory (docs/performance.md, B4)."""
    sql, params = _select_grouped(
        organization=organization, spec=spec, first_day=first_day, last_day=last_day, until=until
    )
    qn = connection.ops.quote_name
    measures = spec.all_measures()
    hour = ["hour"] if spec.period == HOUR else []
    columns = ["organization_id", "day", *hour, *spec.keys, *measures]
    selected = [
        "%s",
        f"g.{qn('rollup_day')}",
        *(f"g.{qn('rollup_hour')}" for _ in hour),
        *(f"g.{qn('k_' + c)}" for c in spec.keys),
        *(f"COALESCE(g.{qn(m)}, 0)" for m in measures),
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
    """Replace every row of `specs` of the local days [first_day, last_day] (for a month
    level: of the months holding them) in one transaction; returns the rows written.
    Idempotent: running it twice, or after a crash halfway, gives the same rows."""
    specs = tuple(level for spec in specs for level in spec.levels())
    written = 0
    with transaction.atomic():
        for spec in specs:
            _delete_days(organization=organization, spec=spec, first_day=first_day, last_day=last_day)
            written += _insert_grouped(
                organization=organization, spec=spec, first_day=first_day, last_day=last_day
            )
    if written >= ANALYZE_AFTER_ROWS:
        _analyze_rollups(specs)
    return written


def _delete_days(
    *, organization: Organization, spec: RollupSpec, first_day: dt.date, last_day: dt.date
) -> None:
    rows = spec.model.objects.for_org(organization)
    first = month_start(first_day) if spec.period == MONTH else first_day
    if spec.period == HOUR:
        # By the hours too, which lead the hour level's key (an index range, not a scan);
        # a local day lies within the UTC hours from its midnight's to the next one's.
        window = day_window(first_day, last_day, organization.tz)
        rows = rows.filter(hour__gte=hour_floor(window.start), hour__lt=window.end)
    rows.filter(day__gte=first, day__lte=last_day).delete()


def hours_rebuild(
    *,
    organization: Organization,
    specs: Iterable[RollupSpec],
    first_day: dt.date,
    last_day: dt.date,
    until: dt.datetime,
) -> int:
    """Replace the hour-level rows of the local days [first_day, last_day] with those of the
    raw rows before `until` (a whole UTC hour: the intraday refresh of today's hours, and of
    any day after the last filled one); returns the rows written. Idempotent."""
    levels = tuple(level for spec in specs for level in spec.levels() if level.period == HOUR)
    written = 0
    with transaction.atomic():
        for level in levels:
            _delete_days(organization=organization, spec=level, first_day=first_day, last_day=last_day)
            written += _insert_grouped(
                organization=organization, spec=level, first_day=first_day, last_day=last_day, until=until
            )
    return written
