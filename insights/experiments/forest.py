"""The geometry of an experiment's interval (forest) plot: each variant's difference from the
control as a point with its interval, against a vertical zero line (docs/experiments.md,
"Pages").

Pure: values in, coordinates out, no ORM and no markup. The template draws the SVG from these
numbers as attributes (x1, cx, width...), which the Content-Security-Policy allows where a
style= attribute would be refused. Coordinates are in the SVG's user units, rounded to two
decimals so the same results always draw the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reports.charts import nice_ticks

WIDTH = 640
# Left column: the variant's key; right column: the difference and its interval in words.
LABEL_WIDTH = 110
TEXT_WIDTH = 220
ROW_HEIGHT = 36
TOP = 8
# Below the rows: the axis line, its tick labels and its title.
AXIS_HEIGHT = 44
TICK_COUNT = 5


@dataclass(frozen=True)
class Interval:
    """One comparison with the control, in the unit the plot shows (percentage points for a
    rate, money for revenue per contact); None where there is no data yet."""

    label: str
    estimate: float | None
    low: float | None
    high: float | None
    text: str = ""


@dataclass(frozen=True)
class Row:
    label: str
    text: str
    y: float
    x: float | None  # the estimate; None: nothing to draw
    x_low: float | None
    x_high: float | None
    # Where the interval lies: "above" zero (the variant does better), "below", "across" (the
    # data cannot tell), or "none" (no interval yet).
    side: str


@dataclass(frozen=True)
class Tick:
    value: float
    x: float


@dataclass(frozen=True)
class ForestPlot:
    width: float
    height: float
    plot_left: float
    plot_right: float
    zero_x: float
    top: float
    axis_y: float
    label_x: float  # where the variant labels end (text-anchor end)
    text_x: float  # where the right-hand texts start
    tick_label_y: float  # the baseline of the tick labels under the axis
    title_x: float  # the middle of the plot, for the axis title
    title_y: float
    rows: tuple[Row, ...]
    ticks: tuple[Tick, ...]


def _side(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "none"
    if low > 0:
        return "above"
    if high < 0:
        return "below"
    return "across"


def forest_plot(intervals: Sequence[Interval], *, width: float = WIDTH) -> ForestPlot:
    """Lay out one row per interval, top to bottom in the order given, on an axis of round
    ticks that always includes zero and every estimate and interval end.

    x(v) = plot_left + (v - first tick) / (last tick - first tick) x (plot_right - plot_left),
    with plot_left = LABEL_WIDTH and plot_right = width - TEXT_WIDTH; row i is centred at
    y = TOP + (i + 0.5) x ROW_HEIGHT. A row without data keeps its place with no marks.
    """
    values = [0.0]
    for interval in intervals:
        values += [v for v in (interval.estimate, interval.low, interval.high) if v is not None]
    ticks = nice_ticks(min(values), max(values), TICK_COUNT)
    first, last = ticks[0], ticks[-1]
    left, right = float(LABEL_WIDTH), float(width - TEXT_WIDTH)

    def x(value: float | None) -> float | None:
        if value is None:
            return None
        return round(left + (value - first) / (last - first) * (right - left), 2)

    rows = tuple(
        Row(
            label=interval.label,
            text=interval.text,
            y=round(TOP + (i + 0.5) * ROW_HEIGHT, 2),
            x=x(interval.estimate),
            x_low=x(interval.low),
            x_high=x(interval.high),
            side=_side(interval.low, interval.high),
        )
        for i, interval in enumerate(intervals)
    )
    axis_y = float(TOP + len(intervals) * ROW_HEIGHT)
    return ForestPlot(
        width=float(width),
        height=axis_y + AXIS_HEIGHT,
        plot_left=left,
        plot_right=right,
        zero_x=x(0.0),
        top=float(TOP),
        axis_y=axis_y,
        label_x=left - 10,
        text_x=right + 12,
        tick_label_y=axis_y + 16,
        title_x=round((left + right) / 2, 2),
        title_y=axis_y + AXIS_HEIGHT - 6,
        rows=rows,
        ticks=tuple(Tick(value=t, x=x(t)) for t in ticks),
    )
