"""Small display records shared by every page: how a change is shown (docs/charts.md,
docs/metrics.md "Trend convention")."""

from __future__ import annotations

from dataclasses import dataclass

# How a missing value is shown everywhere (never as 0): pages, charts, exports.
MISSING = "—"

# The unit of a change (core.metrics): a relative change of a count, an amount or a mean
# (trend_percent), or the difference of two rates in percentage points (trend_points).
PERCENT = "percent"
POINTS = "points"
UNIT_SUFFIXES = {PERCENT: "%", POINTS: " pts"}


@dataclass(frozen=True)
class Trend:
    """A change shown as an arrow; `sense` says whether it is good news, whatever its sign."""

    arrow: str  # "▲", "▼" or ""
    text: str
    sense: str  # "good", "bad", "flat" or "none"


def trend(value: float | int | None, *, unit: str = PERCENT, lower_is_better: bool = False) -> Trend:
    """A KPI's change, "+12.5%" (unit PERCENT) or "+41.7 pts" (unit POINTS, a rate's change):
    up is green, except where lower is better (response time), where a negative change is the
    improvement and shows green."""
    suffix = UNIT_SUFFIXES[unit]
    if value is None:
        return Trend("", MISSING, "none")
    if value == 0:
        return Trend("", f"0.0{suffix}", "flat")
    improved = (value < 0) if lower_is_better else (value > 0)
    arrow = "▲" if value > 0 else "▼"
    return Trend(arrow, f"{value:+.1f}{suffix}", "good" if improved else "bad")
