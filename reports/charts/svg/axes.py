"""Axes shared by line and bar charts: nice ticks, a linear scale, gridlines, labels, legend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..formats import format_tick
from ..spec import ValueFormat
from .canvas import (
    AXIS_COLOR,
    BASELINE_SHIFT,
    GRID_COLOR,
    LABEL_SIZE,
    MUTED_COLOR,
    TEXT_COLOR,
    TICK_SIZE,
    clamp,
    el,
    fit,
    label,
    svg_text,
    text_width,
)


def _nice_step(value: float) -> float:
    # Heckbert's "nice numbers" (Graphics Gems, 1990): 1, 2, 5 or 10 times a power of ten.
    exponent = math.floor(math.log10(value))
    fraction = value / 10**exponent
    nice = 1 if fraction < 1.5 else 2 if fraction < 3 else 5 if fraction < 7 else 10
    return nice * 10**exponent


def nice_ticks(low: float, high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values covering [low, high] with about `count` ticks: (0, 97) -> 0, 20, ..., 100.

    The first tick is <= low and the last >= high. A zero-width range is widened to include
    zero ((0, 0) becomes (0, 1)). With `integer`, the step is at least 1 (counts of records).
    """
    if low > high:
        low, high = high, low
    if low == high:
        low, high = (0.0, 1.0) if low == 0 else (min(0.0, low), max(0.0, high))
    step = _nice_step((high - low) / max(count - 1, 1))
    if integer:
        step = max(step, 1.0)
    # Multiples of the step, rounded to the step's precision so 0.1 * 3 prints as 0.3.
    digits = max(0, -math.floor(math.log10(step))) + 1
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(k * step, digits) + 0.0 for k in range(first, last + 1)]


def value_ticks(values: Sequence[float], fmt: ValueFormat) -> list[float]:
    """Ticks for a value axis: always includes zero, so bar lengths and line levels read true."""
    return nice_ticks(min(0.0, *values), max(0.0, *values), 5, integer=fmt.kind == "integer")


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class Scale:
    """Maps a value in [low, high] linearly onto [start, end] (pixels; end may be < start)."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low) if self.high != self.low else 0.0
        return self.start + share * (self.end - self.start)


def tick_label_width(ticks: Sequence[float], fmt: ValueFormat) -> float:
    return max(text_width(format_tick(t, fmt), TICK_SIZE) for t in ticks)


def axis_title(fmt: ValueFormat, text: str | None) -> str | None:
    # Money ticks are short numbers ("1.5k"); the currency code is said once, in the title.
    if fmt.kind == "money":
        return f"{text} ({fmt.currency})" if text else fmt.currency
    return text


def value_grid(ticks: Sequence[float], scale: Scale, fmt: ValueFormat, box: Box, *, vertical: bool) -> str:
    """Gridlines and tick labels; `vertical` means values go up the y axis."""
    parts = []
    for tick in ticks:
        pos = scale(tick)
        stroke = AXIS_COLOR if tick == 0 else GRID_COLOR
        text = format_tick(tick, fmt)
        if vertical:
            parts.append(
                el("line", x1=box.left, x2=box.right, y1=pos, y2=pos, stroke=stroke, class_="chart-grid")
            )
            parts.append(
                svg_text(
                    text,
                    x=box.left - 8,
                    y=pos + TICK_SIZE * BASELINE_SHIFT,
                    text_anchor="end",
                    fill=MUTED_COLOR,
                    class_="chart-tick",
                )
            )
        else:
            parts.append(
                el("line", x1=pos, x2=pos, y1=box.top, y2=box.bottom, stroke=stroke, class_="chart-grid")
            )
            parts.append(
                svg_text(
                    text,
                    x=pos,
                    y=box.bottom + 16,
                    text_anchor="middle",
                    fill=MUTED_COLOR,
                    class_="chart-tick",
                )
            )
    return el("g", "".join(parts), class_="chart-axis chart-axis--value", aria_hidden="true")


def category_labels(labels: Sequence[str], centers: Sequence[float], *, y: float, width: float) -> str:
    """Labels under the x axis, thinned to every k-th so they never overlap, kept inside the chart."""
    if not labels:
        return ""
    spacing = (centers[-1] - centers[0]) / (len(centers) - 1) if len(centers) > 1 else width
    widest = max(text_width(text, TICK_SIZE) for text in labels)
    every = max(1, math.ceil((min(widest, 110) + 10) / spacing))
    room = min(spacing * every - 8, 110)
    parts = []
    for index in range(0, len(labels), every):
        shown_width = text_width(fit(labels[index], room, TICK_SIZE), TICK_SIZE)
        x = clamp(centers[index], shown_width / 2 + 2, width - shown_width / 2 - 2)
        parts.append(
            label(labels[index], x=x, y=y, max_width=room, text_anchor="middle", class_="chart-tick")
        )
    return el("g", "".join(parts), class_="chart-axis chart-axis--category")


@dataclass(frozen=True)
class LegendItem:
    name: str
    color: str
    css_class: str
    mark: str = "rect"  # "rect", "line", "dashed" or "band"


def _swatch(item: LegendItem, x: float, y: float) -> str:
    cls = f"chart-swatch {item.css_class}"
    if item.mark in ("line", "dashed"):
        dash = "5 3" if item.mark == "dashed" else None
        return el(
            "line",
            x1=x,
            x2=x + 16,
            y1=y,
            y2=y,
            stroke=item.color,
            stroke_width=2.5,
            stroke_dasharray=dash,
            class_=cls,
        )
    opacity = 0.2 if item.mark == "band" else None
    return el(
        "rect",
        x=x,
        y=y - 5,
        width=16 if item.mark == "band" else 10,
        height=10,
        rx=2,
        fill=item.color,
        fill_opacity=opacity,
        class_=cls,
    )


def legend(items: Sequence[LegendItem], *, x: float, y: float, max_width: float) -> tuple[str, float]:
    """Legend rows starting at (x, y), wrapping at max_width; returns the markup and its height."""
    row_height = LABEL_SIZE + 8
    parts, cursor, row = [], x, 0
    room = min(180, max_width - 24)
    for item in items:
        offset = 16 if item.mark == "rect" else 22
        item_width = offset + text_width(fit(item.name, room, LABEL_SIZE), LABEL_SIZE) + 16
        if cursor > x and cursor + item_width > x + max_width:
            cursor, row = x, row + 1
        middle = y + row * row_height + row_height / 2
        parts.append(_swatch(item, cursor, middle))
        baseline = middle + LABEL_SIZE * BASELINE_SHIFT
        parts.append(
            label(item.name, x=cursor + offset, y=baseline, max_width=room, size=LABEL_SIZE, fill=TEXT_COLOR)
        )
        cursor += item_width
    markup = el("g", "".join(parts), class_="chart-legend")
    return markup, (row + 1) * row_height
