"""The pure arithmetic of insights.metrics and the shared rules of core.metrics it uses
(percent, half-up rounding, trends, goal progress): hand-computed tables, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core import metrics as core
from core.display import POINTS, Trend, trend
from insights import metrics
from insights.metrics.overview import month_goal


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (1, 3, 33.3),
        (2, 3, 66.7),
        (1, 8, 12.5),
        # 49 / 400 = 12.25 exactly: half up gives 12.3 (round() on the float gave 12.2)
        (49, 400, 12.3),
        (1, 16, 6.3),  # 6.25
        (0, 5, 0.0),
        (3, 0, None),
        (0, 0, None),
        (None, 5, None),
        (3, None, None),
    ],
)
def test_percent_rounded_half_up_at_the_edge(part, whole, expected):
    assert core.round_half_up(core.percent(part, whole), 1) == expected


def test_percent_is_unrounded():
    # 1 / 3 x 100, kept exact until the edge
    assert core.percent(1, 3) == Decimal(1) / Decimal(3) * 100
    assert core.percent(Decimal("49"), 400) == Decimal("12.25")


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (12.25, 1, 12.3),  # round(12.25, 1) is 12.2
        (2.675, 2, 2.68),  # round(2.675, 2) is 2.67 (binary float just below)
        (-12.25, 1, -12.3),  # away from zero
        (Decimal("100.005"), 2, 100.01),
        (0.5, 0, 1.0),
        (1.5, 0, 2.0),
        (2.5, 0, 3.0),  # round(2.5) is 2
        (None, 1, None),
    ],
)
def test_round_half_up(value, places, expected):
    assert core.round_half_up(value, places) == expected


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        # a rate: 75% against 33.33% -> 41.67 points (its relative change would be +125%)
        (Decimal(75), Decimal(100) / 3, 41.7),
        (Decimal("20"), Decimal("50"), -30.0),
        (Decimal("12.25"), Decimal("12.2"), 0.1),  # 0.05 -> 0.1, half up
        (10, 10, 0.0),
        (None, 10, None),
        (10, None, None),
    ],
)
def test_trend_points(current, previous, expected):
    assert core.trend_points(current, previous) == expected


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [(75, 100 / 3, 125.0), (5, 2, 150.0), (1, 0, None), (None, 1, None), (0, 4, -100.0)],
)
def test_trend_percent(current, previous, expected):
    assert core.trend_percent(current=current, previous=previous) == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (41.7, POINTS, Trend("▲", "+41.7 pts", "good")),
        (-30.0, POINTS, Trend("▼", "-30.0 pts", "bad")),
        (0.0, POINTS, Trend("", "0.0 pts", "flat")),
        (None, POINTS, Trend("", "—", "none")),
        (125.0, "percent", Trend("▲", "+125.0%", "good")),
    ],
)
def test_trend_display_says_its_unit(value, unit, expected):
    assert trend(value, unit=unit) == expected


@pytest.mark.parametrize(
    ("actual", "target", "lower_is_better", "completion", "achieved"),
    [
        (2, 4, False, Decimal(50), False),  # 2 / 4
        (1760.5, 1500, False, Decimal("117.3666666666666666666666667"), True),
        (0, 0, False, None, False),  # a zero target is "no target"
        (5, 0, False, None, False),
        (3.0, 0, True, None, False),
        (4.0, 2, True, Decimal(50), False),  # response time: 2 / 4
        (1.0, 2, True, Decimal(200), True),
        (0, 2, True, Decimal(100), True),  # answered at once
        (None, 2, True, None, False),  # no contacted lead: no mean
    ],
)
def test_goal_progress(actual, target, lower_is_better, completion, achieved):
    progress = core.goal_progress(actual=actual, target=target, lower_is_better=lower_is_better)
    assert (progress.completion, progress.achieved) == (completion, achieved)


def test_month_goal_with_a_zero_target_has_no_progress_and_no_pace():
    # half the month gone, target 0: nothing to reach, so no completion, pace or "on track"
    assert month_goal(metric="revenue", target=0, actual=Decimal("250.50"), elapsed_percent=50.0) == {
        "metric": "revenue",
        "target": 0.0,
        "actual": 250.5,
        "completion": None,
        "expectedByNow": None,
        "onTrack": None,
        "achieved": False,
    }
    # target 400 calls, 150 made at 40.5% of the month: 37.5% done, 162 expected -> behind
    assert month_goal(metric="calls", target=400, actual=150, elapsed_percent=40.5) == {
        "metric": "calls",
        "target": 400.0,
        "actual": 150.0,
        "completion": 37.5,
        "expectedByNow": 162.0,
        "onTrack": False,
        "achieved": False,
    }


@pytest.mark.parametrize(
    ("revenue", "spend", "expected"),
    [(250.5, 100, 150.5), (0, 100, -100.0), (50, 50, 0.0), (100, 0, None), (Decimal("1250.50"), 150, 733.7)],
)
def test_roi(revenue, spend, expected):
    assert metrics.roi_percent(revenue=revenue, spend=spend) == expected


def test_calls_block_rounds_once_at_the_edge():
    # 3 calls, 2 with durations 45 s and 46 s: mean 45.5 s = 0.758 min -> 0.8; 91 s = 1.52 min -> 2
    block = metrics.calls_block(
        {"calls": 3, "successful": 1, "duration_seconds_sum": 91, "duration_count": 2}
    )
    assert block == {
        "total": 3,
        "successful": 1,
        "successRate": 33.3,
        "averageDuration": 0.8,
        "totalMinutes": 2,
    }


def test_revenue_block_money_and_growth():
    block = metrics.revenue_block(
        {"amount_sum": Decimal("100.005"), "count": 3},
        recurring_last_30d=Decimal(0),
        previous_total=Decimal(80),
    )
    # 100.005 / 3 = 33.335 -> 33.34 (half up); growth (100.005 - 80) / 80 = 25.006 -> 25.0
    assert block == {
        "total": 100.01,
        "deals": 3,
        "averageDealSize": 33.34,
        "monthlyRecurring": 0.0,
        "growthRate": 25.0,
    }


def test_campaign_rates_over_nothing_are_null():
    row = metrics.funnel_rates({"sent": 2})
    assert (row["deliveredRate"], row["readRate"], row["replyRate"]) == (0.0, None, None)
