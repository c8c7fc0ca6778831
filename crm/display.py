"""Small display records shared by every page: how a change is shown (docs/charts.md)."""

from __future__ import annotations

from dataclasses import dataclass

from reports.charts.formats import MISSING


@dataclass(frozen=True)
class Trend:
    """A change shown as an arrow; `sense` says whether it is good news, whatever its sign."""

    arrow: str  # "▲", "▼" or ""
    text: str
    sense: str  # "good", "bad", "flat" or "none"


def trend(value: float | int | None, *, lower_is_better: bool = False) -> Trend:
    """A KPI's % change: up is green, except where lower is better (response time), where a
    negative change is the improvement and shows green."""
    if value is None:
        return Trend("", MISSING, "none")
    if value == 0:
        return Trend("", "0.0%", "flat")
    improved = (value < 0) if lower_is_better else (value > 0)
    arrow = "▲" if value > 0 else "▼"
    return Trend(arrow, f"{value:+.1f}%", "good" if improved else "bad")
