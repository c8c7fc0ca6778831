"""Value formatting shared by every chart, its hover text and its table fallback.

Follows docs/metrics.md: percentages with one decimal, money with two decimals and the
currency code, a missing value shown as "—" (never as 0).
"""

from __future__ import annotations

from core.display import MISSING

from .spec import ValueFormat

__all__ = ["MISSING", "format_tick", "format_value"]


def no_negative_zero(value: float, decimals: int) -> float:
    # -0.004 rounds to "-0.00"; nobody wants to read a negative zero.
    return 0.0 if round(value, decimals) == 0 else value


def _trimmed(value: float, decimals: int) -> str:
    text = f"{no_negative_zero(value, decimals):,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_value(value: float | None, fmt: ValueFormat) -> str:
    """The full form, for hover text, value labels and tables: "KES 1,234.50", "42.0%"."""
    if value is None:
        return MISSING
    if fmt.kind == "integer":
        return f"{no_negative_zero(value, 0):,.0f}"
    if fmt.kind == "percent":
        return f"{no_negative_zero(value, 1):,.1f}%"
    if fmt.kind == "money":
        return f"{fmt.currency} {no_negative_zero(value, 2):,.2f}"
    if fmt.kind == "hours":
        return f"{no_negative_zero(value, 1):,.1f} h"
    return _trimmed(value, 2)


def _compact(value: float) -> str:
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return _trimmed(value / threshold, 2) + suffix
    return _trimmed(value, 2)


def format_tick(value: float, fmt: ValueFormat) -> str:
    """The short form for axis ticks ("1.5k", "20%"); the currency goes on the axis title instead."""
    if fmt.kind == "percent":
        return _compact(value) + "%"
    if fmt.kind == "hours":
        return _compact(value) + " h"
    return _compact(value)
