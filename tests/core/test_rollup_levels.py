"""The engine's month levels and merged sources (core.stats.rollups), without a database:
how a span of trusted days splits into whole months and edge days, the rebuild order of
levels, and what a merged source must share. The tables built this way are checked against
the raw rows in tests/agents/test_months.py and tests/agents/test_rollups.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count, Sum

from agents.models import AgentDailyMetrics, AgentMonthlyMetrics
from agents.selectors import AGENT_METRICS
from core.stats.rollups import DAY, MONTH, Measure, RollupSpec, coarser_level, month_level, month_split
from core.timeranges import add_months

D = dt.date


@pytest.mark.parametrize(
    ("first", "last", "day_spans", "months"),
    [
        # 30 days: at most 90, days only
        (D(2026, 11, 1), D(2026, 11, 30), ((D(2026, 11, 1), D(2026, 11, 30)),), None),
        # exactly 90 days (1 Sep .. 29 Nov) still days only
        (D(2026, 9, 1), D(2026, 11, 29), ((D(2026, 9, 1), D(2026, 11, 29)),), None),
        # 91 days (1 Sep .. 30 Nov): three whole months, no edge days
        (D(2026, 9, 1), D(2026, 11, 30), (), (D(2026, 9, 1), D(2026, 11, 1))),
        # a trailing year: 23-30 Nov 2025 and 1-21 Nov 2026 around December .. October
        (
            D(2025, 11, 23),
            D(2026, 11, 21),
            ((D(2025, 11, 23), D(2025, 11, 30)), (D(2026, 11, 1), D(2026, 11, 21))),
            (D(2025, 12, 1), D(2026, 10, 1)),
        ),
        # 15 Jan .. 20 Apr (96 days): February and March whole
        (
            D(2026, 1, 15),
            D(2026, 4, 20),
            ((D(2026, 1, 15), D(2026, 1, 31)), (D(2026, 4, 1), D(2026, 4, 20))),
            (D(2026, 2, 1), D(2026, 3, 1)),
        ),
        # the last day of a month closes it: 10 Oct 2025 .. 31 Jan 2026
        (
            D(2025, 10, 10),
            D(2026, 1, 31),
            ((D(2025, 10, 10), D(2025, 10, 31)),),
            (D(2025, 11, 1), D(2026, 1, 1)),
        ),
    ],
)
def test_month_split(first, last, day_spans, months):
    assert month_split(first, last) == (day_spans, months)


def test_month_split_covers_every_day_once():
    first, last = D(2025, 2, 17), D(2026, 3, 3)
    day_spans, (months_from, months_last) = month_split(first, last)
    covered = sum((b - a).days + 1 for a, b in day_spans)
    covered += (add_months(months_last, 1) - months_from).days
    assert covered == (last - first).days + 1


def test_levels_are_picked_by_period_and_rebuilt_after_their_days():
    months = AGENT_METRICS.coarser[0]
    assert (months.period, months.model, months.rebuilt_from) == (MONTH, AgentMonthlyMetrics, AGENT_METRICS)
    # the month level answers per agent; the day level is the spec itself
    assert coarser_level(AGENT_METRICS, needed={"agent_id"}) is AGENT_METRICS
    assert month_level(AGENT_METRICS, needed={"agent_id"}) is months
    assert month_level(AGENT_METRICS, needed={"region"}) is None
    assert [level.period for level in AGENT_METRICS.levels()] == [DAY, MONTH]
    # a level keeps every source's measures: the month rows sum leads and sales alike
    assert set(months.all_measures()) == set(AGENT_METRICS.all_measures())
    assert [s.keys for s in months.sources()] == [{"agent_id": "assigned_agent_id"}, {"agent_id": "agent_id"}]


def _spec(name: str, keys: dict, measures: dict, model=AgentDailyMetrics) -> RollupSpec:
    return RollupSpec(
        name=name, model=model, raw=lambda o: None, time_field="t", keys=keys, measures=measures
    )


def test_a_merged_source_shares_the_table_and_keys_but_not_measures():
    base = _spec("a", {"agent_id": "agent_id"}, {"leads_assigned": Measure(Count, "id")})
    with pytest.raises(ValueError, match="table and key columns"):
        base.merge(_spec("b", {"agent_id": "x", "day2": "y"}, {"revenue": Measure(Sum, "amount")}))
    with pytest.raises(ValueError, match="table and key columns"):
        base.merge(
            _spec("b", {"agent_id": "x"}, {"revenue": Measure(Sum, "amount")}, model=AgentMonthlyMetrics)
        )
    with pytest.raises(ValueError, match="measures of its own"):
        base.merge(_spec("b", {"agent_id": "x"}, {"leads_assigned": Measure(Count, "id")}))
    merged = base.merge(_spec("b", {"agent_id": "x"}, {"revenue": Measure(Sum, "amount")}))
    assert list(merged.all_measures()) == ["leads_assigned", "revenue"]
