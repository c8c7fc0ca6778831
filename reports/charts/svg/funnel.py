"""Funnel: one centred bar per stage, width proportional to its value, with the
stage-to-stage conversion rate printed between consecutive stages."""

from __future__ import annotations

from collections.abc import Sequence

from ..formats import MISSING, format_value
from ..spec import FunnelChart
from .canvas import (
    BASELINE_SHIFT,
    LABEL_SIZE,
    MUTED_COLOR,
    TEXT_COLOR,
    color,
    document,
    el,
    empty_state,
    hover_text,
    label,
    link,
    num,
    series_class,
    svg_text,
    text_width,
    title,
)

RATE_GAP = 24.0  # px between stages when rates are shown: room for the rate text
PLAIN_GAP = 6.0
MAX_ROW = 52.0
CONNECTOR_FILL = "#e8edfd"  # --color-primary-soft


def stage_rates(values: Sequence[float | None]) -> list[float | None]:
    """Percent of the previous stage that reached each stage; None for the first stage and
    wherever either value is missing or the previous stage is zero (no rate over nothing)."""
    rates: list[float | None] = [None]
    for previous, current in zip(values, values[1:], strict=False):
        if previous is None or current is None or previous == 0:
            rates.append(None)
        else:
            rates.append(current / previous * 100)
    return rates


def format_rate(rate: float | None) -> str:
    return MISSING if rate is None else f"{rate:.1f}%"


def render_funnel(spec: FunnelChart, *, width: int, height: int) -> str:
    values = [p.value for p in spec.stages]
    present = [v for v in values if v is not None]
    if not present or max(present) <= 0:
        return empty_state(spec, width=width, height=height)
    fmt = spec.value_format
    rates = stage_rates(values)
    count = len(spec.stages)

    value_texts = [format_value(v, fmt) for v in values]
    value_room = max(text_width(t, LABEL_SIZE) for t in value_texts)
    label_room = min(max(text_width(p.label, LABEL_SIZE) for p in spec.stages), width * 0.28)
    area_left, area_right = 16 + label_room, width - 20 - value_room
    area_width = area_right - area_left
    middle = area_left + area_width / 2
    gap = RATE_GAP if spec.show_rates else PLAIN_GAP
    row = min(MAX_ROW, (height - 16 - gap * (count - 1)) / count)
    top = (height - (row * count + gap * (count - 1))) / 2
    largest = max(present)
    # A stage with any records keeps a sliver, so "few" never looks like "none".
    halves = [max(1.5, v / largest * area_width / 2) if v is not None and v > 0 else 0.0 for v in values]

    marks, connectors, texts = [], [], []
    for index, point in enumerate(spec.stages):
        y = top + index * (row + gap)
        half = halves[index]
        baseline = y + row / 2 + LABEL_SIZE * BASELINE_SHIFT
        texts.append(
            label(point.label, x=8, y=baseline, max_width=label_room, size=LABEL_SIZE, fill=TEXT_COLOR)
        )
        texts.append(
            svg_text(
                value_texts[index],
                x=width - 8,
                y=baseline,
                text_anchor="end",
                font_size=LABEL_SIZE,
                font_weight="600",
                fill=TEXT_COLOR,
                class_="chart-value",
            )
        )
        if point.value is not None:
            rate = f" ({format_rate(rates[index])} of the previous stage)" if rates[index] is not None else ""
            hover = hover_text(point.label, value_texts[index] + rate, tooltip=point.tooltip)
            rect = el(
                "rect",
                title(hover),
                x=middle - half,
                y=y,
                width=2 * half,
                height=row,
                rx=3,
                fill=color(0),
                class_=f"chart-stage chart-mark {series_class(0)}",
            )
            marks.append(link(point.href, hover, rect))
        if index and spec.show_rates:
            connectors.append(
                _connector(
                    upper=halves[index - 1],
                    lower=half,
                    top=y - gap,
                    gap=gap,
                    middle=middle,
                    rate=rates[index],
                )
            )
    parts = [
        el("g", "".join(connectors), class_="chart-rates", aria_hidden="true"),
        el("g", "".join(marks), class_="chart-stages"),
        el("g", "".join(texts), class_="chart-labels"),
    ]
    has_links = any(p.href and p.value is not None for p in spec.stages)
    desc = _describe(spec, rates)
    return document(spec, width=width, height=height, body="".join(parts), desc=desc, has_links=has_links)


def _connector(
    *, upper: float, lower: float, top: float, gap: float, middle: float, rate: float | None
) -> str:
    """The band between two stages, narrowing from the upper bar's half-width to the lower's, with the rate on it."""
    y0, y1 = top, top + gap
    corners = [(middle - upper, y0), (middle + upper, y0), (middle + lower, y1), (middle - lower, y1)]
    shape = el(
        "polygon",
        points=" ".join(f"{num(x)},{num(y)}" for x, y in corners),
        fill=CONNECTOR_FILL,
        class_="chart-connector",
    )
    rate_text = svg_text(
        format_rate(rate),
        x=middle,
        y=y0 + gap / 2 + LABEL_SIZE * BASELINE_SHIFT,
        text_anchor="middle",
        font_size=LABEL_SIZE,
        fill=MUTED_COLOR,
        class_="chart-rate",
    )
    return shape + rate_text


def _describe(spec: FunnelChart, rates: list[float | None]) -> str:
    fmt = spec.value_format
    stages = "; ".join(
        f"{p.label} {format_value(p.value, fmt)}" + (f" ({format_rate(r)})" if r is not None else "")
        for p, r in zip(spec.stages, rates, strict=True)
    )
    return f"Funnel of {len(spec.stages)} stages: {stages}."
