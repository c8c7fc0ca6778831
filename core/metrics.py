"""Pure arithmetic behind the numbers of every page, API answer and export (docs/metrics.md,
"Shared rules"). One function per rule; both apps call these, never a copy:

- Rounding: half up (half away from zero), on Decimals, once, at the edge that shows the
  number (`round_half_up`). Binary floats and Python's `round()` would show 12.25 as 12.2.
- Percent: `part / whole * 100`, unrounded; `None` for a zero or missing denominator.
- Trend of a count, an amount or a mean (DESIGN section 4): `(current - previous) / previous
  * 100` on the unrounded values, one decimal (`trend_percent`); `None` when the previous
  value is zero or missing, or the current value is missing.
- Trend of a rate: the difference in percentage points, one decimal (`trend_points`), never a
  percent of a percent; `None` when either rate is missing.
- Currency: amounts are never converted. A sale counts in the money figures when it is in the
  organization's currency or has none (`counted_currencies`); the others are excluded, counted
  and said so, never summed.
- Goal progress: one rule for every goal (`goal_progress`); a zero target is "no target".

No ORM, no request, no clock: plain numbers in, plain numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

Number = int | float | Decimal

HUNDRED = Decimal(100)


def decimal(value: Number) -> Decimal:
    """Exact for ints and Decimals; a float goes through its shortest repr (0.1 -> 0.1, not
    0.1000000000000000055...), so 12.25 stays 12.25."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def round_half_up(value: Number | None, places: int) -> float | None:
    """`value` rounded half up (away from zero) to `places` decimals; None stays None."""
    if value is None:
        return None
    exponent = Decimal(1).scaleb(-places)
    return float(decimal(value).quantize(exponent, rounding=ROUND_HALF_UP))


def ratio(numerator: Number, denominator: Number) -> Decimal | None:
    """`numerator / denominator`, unrounded (a mean: total over count); None over nothing
    (a zero or missing denominator), never 0. Decimal, so 4.125 is not 4.12499... before
    rounding."""
    return None if not denominator else decimal(numerator) / decimal(denominator)


def percent(part: Number | None, whole: Number | None) -> Decimal | None:
    """`part / whole * 100`, unrounded; None when the whole is zero or missing (a rate over
    nothing is not 0) or the part is missing."""
    if part is None or whole is None or whole == 0:
        return None
    return decimal(part) / decimal(whole) * HUNDRED


def trend_percent(*, current: Number | None, previous: Number | None) -> float | None:
    """The change from `previous` to `current` in percent, one decimal; None without a base."""
    if current is None or previous is None or previous == 0:
        return None
    return round_half_up((decimal(current) - decimal(previous)) / decimal(previous) * HUNDRED, 1)


def trend_points(current: Number | None, previous: Number | None) -> float | None:
    """The change of a rate (0-100) in percentage points, one decimal; None when either rate
    is missing. Pass the unrounded rates."""
    if current is None or previous is None:
        return None
    return round_half_up(decimal(current) - decimal(previous), 1)


def counted_currencies(organization_currency: str) -> tuple[str, str]:
    """The sale currencies whose amounts are summed: the organization's own, and "" (a sale
    stored without a currency is taken to be in the organization's)."""
    return (organization_currency, "")


@dataclass(frozen=True)
class GoalProgress:
    # percent of the target reached, unrounded, may exceed 100; None: no target, or no value
    completion: Decimal | None
    achieved: bool


def goal_progress(*, actual: Number | None, target: Number, lower_is_better: bool = False) -> GoalProgress:
    """How far `actual` is towards `target`.

    - A zero target is "no target": completion None, never achieved (100 % of nothing, or a
      goal met before the period starts, would say something nobody set).
    - Higher is better (conversions, revenue, calls): completion = actual / target x 100;
      achieved when actual >= target.
    - Lower is better (response time): completion = target / actual x 100 (100 when actual is
      0); achieved when actual <= target.
    - No actual value (a mean over nothing): completion None, not achieved.
    """
    if not target or actual is None:
        return GoalProgress(completion=None, achieved=False)
    actual_dec, target_dec = decimal(actual), decimal(target)
    if not lower_is_better:
        return GoalProgress(completion=percent(actual_dec, target_dec), achieved=actual_dec >= target_dec)
    if actual_dec == 0:
        return GoalProgress(completion=HUNDRED, achieved=True)
    return GoalProgress(completion=percent(target_dec, actual_dec), achieved=actual_dec <= target_dec)
