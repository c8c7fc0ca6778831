"""The pure arithmetic of insights.metrics: hand-computed tables, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from insights import metrics


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(1, 3, 33.3), (2, 3, 66.7), (1, 8, 12.5), (0, 5, 0.0), (3, 0, None), (0, 0, None)],
)
def test_percent(part, whole, expected):
    assert metrics.percent(part, whole) == expected


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
    assert block == {"total": 100.01, "deals": 3, "averageDealSize": 33.34, "monthlyRecurring": 0.0,
                     "growthRate": 25.0}  # fmt: skip


def test_campaign_rates_over_nothing_are_null():
    row = metrics.funnel_rates({"sent": 2})
    assert (row["deliveredRate"], row["readRate"], row["replyRate"]) == (0.0, None, None)
