"""Pure arithmetic behind the numbers of the CRM pages (docs/metrics.md).

- Trend (DESIGN section 4): `(current - previous) / previous * 100`, computed on the
  unrounded values and rounded once to one decimal (half away from zero); `None` when the
  previous value is zero or missing, or the current value is missing.

No ORM, no request, no clock: plain numbers in, plain numbers out.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

Number = int | float | Decimal

ONE_DECIMAL = Decimal("0.1")


def trend_percent(*, current: Number | None, previous: Number | None) -> float | None:
    """The change from `previous` to `current` in percent, one decimal; None without a base."""
    if current is None or previous is None or previous == 0:
        return None
    # Decimal keeps x.x5 cases exact (binary floats would round 0.25 down to 0.2).
    change = (Decimal(str(current)) - Decimal(str(previous))) / Decimal(str(previous)) * 100
    return float(change.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP))
