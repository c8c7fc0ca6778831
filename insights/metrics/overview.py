"""Pure arithmetic of the Overview tab: goal progress and pace (docs/metrics.md, "Overview tab").

Completion and "achieved" are core.metrics.goal_progress, the rule of every goal (a zero
target is "no target"); the pace is this tab's own.
"""

from __future__ import annotations

from decimal import Decimal

from core.metrics import Number, decimal, goal_progress
from insights.metrics import money, one_decimal


def month_elapsed_percent(*, elapsed_seconds: float, month_seconds: float) -> float:
    """Share of the local month gone by, 0-100, one decimal."""
    return one_decimal(Decimal(str(elapsed_seconds)) / Decimal(str(month_seconds)) * 100) or 0.0


def month_goal(*, metric: str, target: Number, actual: Number, elapsed_percent: float) -> dict:
    """A month goal as the tab shows it: completion and achieved by core.metrics.goal_progress;
    expected by now = target x the share of the month elapsed (a straight-line pace); on track
    = actual >= expected. Without a target (zero) the pace is None too."""
    target_dec, actual_dec = decimal(target), decimal(actual)
    progress = goal_progress(actual=actual_dec, target=target_dec)
    as_money = metric == "revenue"
    expected = target_dec * decimal(elapsed_percent) / 100 if target_dec else None
    return {
        "metric": metric,
        "target": money(target_dec) if as_money else float(target_dec),
        "actual": money(actual_dec) if as_money else float(actual_dec),
        "completion": one_decimal(progress.completion),
        "expectedByNow": money(expected) if as_money else one_decimal(expected),
        "onTrack": None if expected is None else actual_dec >= expected,
        "achieved": progress.achieved,
    }
