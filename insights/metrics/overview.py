"""Pure arithmetic of the Overview tab: goal progress and pace (docs/metrics.md, "Overview tab")."""

from __future__ import annotations

from decimal import Decimal

from insights.metrics import Number, money, one_decimal, percent


def month_elapsed_percent(*, elapsed_seconds: float, month_seconds: float) -> float:
    """Share of the local month gone by, 0-100, one decimal."""
    return one_decimal(Decimal(str(elapsed_seconds)) / Decimal(str(month_seconds)) * 100) or 0.0


def goal_progress(*, metric: str, target: Number, actual: Number, elapsed_percent: float) -> dict:
    """Completion = actual / target; on track = completion >= the share of the month elapsed
    (a straight-line pace); achieved = actual >= target."""
    target_dec, actual_dec = Decimal(str(target)), Decimal(str(actual))
    completion = percent(actual_dec, target_dec)
    expected = target_dec * Decimal(str(elapsed_percent)) / 100
    as_money = metric == "revenue"
    return {
        "metric": metric,
        "target": money(target_dec) if as_money else float(target_dec),
        "actual": money(actual_dec) if as_money else float(actual_dec),
        "completion": completion,
        "expectedByNow": money(expected) if as_money else one_decimal(expected),
        "onTrack": actual_dec >= expected,
        "achieved": target_dec > 0 and actual_dec >= target_dec,
    }
