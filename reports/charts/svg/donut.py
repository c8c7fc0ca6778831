"""Donut (or pie, hole=0): slices clockwise from 12 o'clock, legend with values and shares."""

from __future__ import annotations

import math

from ..formats import format_tick, format_value
from ..spec import DonutChart, Point, ValueFormat
from .canvas import (
    BASELINE_SHIFT,
    LABEL_SIZE,
    MUTED_COLOR,
    TEXT_COLOR,
    color,
    document,
    el,
    empty_state,
    fit,
    hover_text,
    label,
    link,
    num,
    series_class,
    svg_text,
    text_width,
    title,
)

ROW = 22.0  # legend row height
FULL_TURN = 360.0

Shown = list[tuple[int, Point]]  # (palette index, slice) of the slices that are drawn


def _at(cx: float, cy: float, radius: float, degrees: float) -> tuple[str, str]:
    # Degrees clockwise from 12 o'clock, as a reader measures a pie; SVG's y axis points down.
    radians = math.radians(degrees)
    return num(cx + radius * math.sin(radians)), num(cy - radius * math.cos(radians))


def slice_path(cx: float, cy: float, outer: float, inner: float, start: float, end: float) -> str:
    """An annular sector from `start` to `end` degrees (a pie wedge when inner is 0)."""
    if end - start >= FULL_TURN - 1e-9:
        # One slice is the whole: an arc cannot start and end at the same point, so two halves.
        ring = _circle(cx, cy, outer, clockwise=True)
        return ring + (" " + _circle(cx, cy, inner, clockwise=False) if inner > 0 else "")
    large = 1 if end - start > 180 else 0
    ox0, oy0 = _at(cx, cy, outer, start)
    ox1, oy1 = _at(cx, cy, outer, end)
    r = num(outer)
    if inner <= 0:
        return f"M{num(cx)} {num(cy)} L{ox0} {oy0} A{r} {r} 0 {large} 1 {ox1} {oy1} Z"
    ix0, iy0 = _at(cx, cy, inner, start)
    ix1, iy1 = _at(cx, cy, inner, end)
    ri = num(inner)
    return f"M{ox0} {oy0} A{r} {r} 0 {large} 1 {ox1} {oy1} L{ix1} {iy1} A{ri} {ri} 0 {large} 0 {ix0} {iy0} Z"


def _circle(cx: float, cy: float, radius: float, *, clockwise: bool) -> str:
    sweep = 1 if clockwise else 0
    top, bottom = num(cy - radius), num(cy + radius)
    r, x = num(radius), num(cx)
    return f"M{x} {top} A{r} {r} 0 1 {sweep} {x} {bottom} A{r} {r} 0 1 {sweep} {x} {top} Z"


def render_donut(spec: DonutChart, *, width: int, height: int) -> str:
    # A share of a whole cannot be negative or missing; those slices stay in the table only.
    shown = [(i, p) for i, p in enumerate(spec.slices) if p.value is not None and p.value > 0]
    if not shown:
        return empty_state(spec, width=width, height=height)
    fmt = spec.value_format
    total = sum(p.value or 0.0 for _, p in shown)
    diameter = min(height - 16, width * 0.45)
    outer = diameter / 2
    inner = outer * spec.hole
    cx, cy = 8 + outer, height / 2

    marks, angle = [], 0.0
    for index, point in shown:
        share = (point.value or 0.0) / total
        end = FULL_TURN if index == shown[-1][0] else angle + share * FULL_TURN
        value_text = f"{format_value(point.value, fmt)} ({share * 100:.1f}%)"
        hover = hover_text(point.label, value_text, tooltip=point.tooltip)
        path = el(
            "path",
            title(hover),
            d=slice_path(cx, cy, outer, inner, angle, end),
            fill=color(index),
            stroke="#ffffff",
            stroke_width=1.5,
            fill_rule="evenodd",
            class_=f"chart-slice chart-mark {series_class(index)}",
        )
        marks.append(link(point.href, hover, path))
        angle = end
    parts = [el("g", "".join(marks), class_="chart-slices")]
    if inner >= 40:
        parts.append(_centre(total, fmt, cx, cy, inner))
    parts.append(_legend(spec, shown, total, x=cx + outer + 24, width=width, height=height))

    has_links = any(p.href for _, p in shown)
    desc = _describe(spec, shown, total)
    return document(spec, width=width, height=height, body="".join(parts), desc=desc, has_links=has_links)


def _centre(total: float, fmt: ValueFormat, cx: float, cy: float, inner: float) -> str:
    text = format_value(total, fmt)
    if text_width(text, 16) > inner * 1.7:
        compact = format_tick(total, fmt)
        text = f"{fmt.currency} {compact}" if fmt.kind == "money" else compact
    value = svg_text(
        fit(text, inner * 1.7, 16),
        x=cx,
        y=cy + 2,
        text_anchor="middle",
        font_size=16,
        font_weight="700",
        fill=TEXT_COLOR,
        class_="chart-total",
    )
    caption = svg_text("Total", x=cx, y=cy + 18, text_anchor="middle", fill=MUTED_COLOR, class_="chart-tick")
    return el("g", value + caption, aria_hidden="true", pointer_events="none")


def _legend(spec: DonutChart, shown: Shown, total: float, *, x: float, width: int, height: int) -> str:
    rows = max(1, int((height - 16) // ROW))
    listed = shown if len(shown) <= rows else shown[: rows - 1]
    top = height / 2 - min(len(shown), rows) * ROW / 2
    right = width - 8
    parts = []
    for row, (index, point) in enumerate(listed):
        middle = top + row * ROW + ROW / 2
        baseline = middle + LABEL_SIZE * BASELINE_SHIFT
        share = f"{(point.value or 0.0) / total * 100:.1f}%"
        figures = f"{format_value(point.value, spec.value_format)} · {share}"
        figures_width = text_width(figures, LABEL_SIZE)
        if x + 16 + figures_width + 40 > right:
            figures, figures_width = share, text_width(share, LABEL_SIZE)
        parts.append(
            el(
                "rect",
                x=x,
                y=middle - 5,
                width=10,
                height=10,
                rx=2,
                fill=color(index),
                class_=f"chart-swatch {series_class(index)}",
            )
        )
        room = right - figures_width - 12 - (x + 16)
        parts.append(
            label(point.label, x=x + 16, y=baseline, max_width=room, size=LABEL_SIZE, fill=TEXT_COLOR)
        )
        parts.append(
            svg_text(
                figures,
                x=right,
                y=baseline,
                text_anchor="end",
                font_size=LABEL_SIZE,
                fill=MUTED_COLOR,
                class_="chart-value",
            )
        )
    if len(listed) < len(shown):
        middle = top + len(listed) * ROW + ROW / 2
        more = f"+ {len(shown) - len(listed)} more"
        parts.append(
            label(
                more,
                x=x + 16,
                y=middle + LABEL_SIZE * BASELINE_SHIFT,
                max_width=right - x - 16,
                size=LABEL_SIZE,
            )
        )
    return el("g", "".join(parts), class_="chart-legend")


def _describe(spec: DonutChart, shown: Shown, total: float) -> str:
    largest = max(shown, key=lambda item: item[1].value or 0.0)[1]
    share = (largest.value or 0.0) / total * 100
    return (
        f"Donut chart of {len(shown)} slices totalling {format_value(total, spec.value_format)}; "
        f"largest: {largest.label} ({share:.1f}%)."
    )
