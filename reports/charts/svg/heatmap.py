"""Heatmap: a grid of cells coloured by value; missing cells are hatched grey, not zero."""

from __future__ import annotations

from ..formats import MISSING, format_tick, format_value
from ..spec import HeatmapChart
from .axes import category_labels
from .canvas import (
    BASELINE_SHIFT,
    LABEL_SIZE,
    MUTED_COLOR,
    TEXT_COLOR,
    TICK_SIZE,
    document,
    el,
    empty_state,
    hover_text,
    label,
    link,
    svg_text,
    text_width,
    title,
)

# Sequential: light to dark brand blue. Diverging: orange below zero, blue above, near-white at
# zero; orange/blue rather than red/green so colour-blind readers see the split.
SEQUENTIAL = ((0xEE, 0xF2, 0xFD), (0x6D, 0x8A, 0xE6), (0x1A, 0x2F, 0x8A))
NEGATIVE = ((0xF7, 0xF7, 0xF7), (0xF0, 0xA4, 0x5D), (0xA8, 0x4A, 0x00))
POSITIVE = ((0xF7, 0xF7, 0xF7), (0x7F, 0x9B, 0xEA), (0x1A, 0x2F, 0x8A))
MISSING_FILL = "#f0f3f8"
GAP = 2.0


def _ramp(stops: tuple[tuple[int, int, int], ...], share: float) -> str:
    share = min(1.0, max(0.0, share))
    position = share * (len(stops) - 1)
    index = min(int(position), len(stops) - 2)
    within = position - index
    low, high = stops[index], stops[index + 1]
    rgb = (round(a + (b - a) * within) for a, b in zip(low, high, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def cell_color(value: float, *, low: float, high: float, scale: str) -> str:
    """The fill of a cell: darker means larger (sequential) or further from zero (diverging)."""
    if scale == "diverging":
        reach = max(abs(low), abs(high)) or 1.0
        return _ramp(POSITIVE if value >= 0 else NEGATIVE, abs(value) / reach)
    share = (value - low) / (high - low) if high != low else 1.0
    return _ramp(SEQUENTIAL, share)


def _is_dark(hex_color: str) -> bool:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    # Rec. 709 luma: above ~0.55 dark text reads better, below it white text does.
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255 < 0.55


def render_heatmap(spec: HeatmapChart, *, width: int, height: int) -> str:
    values = [v for row in spec.cells for v in row if v is not None]
    if not values:
        return empty_state(spec, width=width, height=height)
    fmt = spec.value_format
    low, high = min(values), max(values)

    top, parts = 8.0, []
    parts.append(_scale_legend(spec, low, high, x=width - 8, y=top))
    if spec.y_label:
        parts.append(
            label(
                spec.y_label,
                x=8,
                y=top + LABEL_SIZE,
                max_width=width / 2,
                size=LABEL_SIZE,
                class_="chart-axis-title",
            )
        )
    top += LABEL_SIZE + 14
    row_room = min(max(text_width(t, TICK_SIZE) for t in spec.y_labels), width * 0.28)
    left = 16 + row_room
    bottom = height - 24 - (LABEL_SIZE + 8 if spec.x_label else 0)
    cell_w = (width - 8 - left) / len(spec.x_labels)
    cell_h = (bottom - top) / len(spec.y_labels)

    for r, text in enumerate(spec.y_labels):
        y = top + cell_h * (r + 0.5) + TICK_SIZE * BASELINE_SHIFT
        parts.append(label(text, x=left - 8, y=y, max_width=row_room, text_anchor="end", class_="chart-tick"))
    centers = [left + cell_w * (c + 0.5) for c in range(len(spec.x_labels))]
    parts.append(category_labels(spec.x_labels, centers, y=bottom + 17, width=width))
    if spec.x_label:
        parts.append(
            label(
                spec.x_label,
                x=left + (width - 8 - left) / 2,
                y=height - 8,
                max_width=width - left,
                size=LABEL_SIZE,
                text_anchor="middle",
                class_="chart-axis-title",
            )
        )

    marks, texts = [], []
    widest = max(text_width(format_tick(v, fmt), TICK_SIZE) for v in values)
    show_values = widest + 6 <= cell_w - GAP and cell_h - GAP >= TICK_SIZE + 4
    for r, row in enumerate(spec.cells):
        for c, value in enumerate(row):
            x, y = left + c * cell_w + GAP / 2, top + r * cell_h + GAP / 2
            href = spec.hrefs[r][c] if spec.hrefs is not None else None
            hover = hover_text(f"{spec.y_labels[r]} · {spec.x_labels[c]}", format_value(value, fmt))
            fill = MISSING_FILL if value is None else cell_color(value, low=low, high=high, scale=spec.scale)
            css = "chart-cell chart-cell--missing" if value is None else "chart-cell chart-mark"
            rect = el(
                "rect",
                title(hover),
                x=x,
                y=y,
                width=cell_w - GAP,
                height=cell_h - GAP,
                rx=2,
                fill=fill,
                class_=css,
            )
            marks.append(rect if value is None else link(href, hover, rect))
            if show_values:
                ink = MUTED_COLOR if value is None else "#ffffff" if _is_dark(fill) else TEXT_COLOR
                text = MISSING if value is None else format_tick(value, fmt)
                texts.append(
                    svg_text(
                        text,
                        x=x + (cell_w - GAP) / 2,
                        y=y + (cell_h - GAP) / 2 + TICK_SIZE * BASELINE_SHIFT,
                        text_anchor="middle",
                        fill=ink,
                        class_="chart-value",
                    )
                )
    parts.append(el("g", "".join(marks), class_="chart-cells"))
    if texts:
        # Labels over a linked bar or cell must not swallow its clicks.
        parts.append(
            el("g", "".join(texts), class_="chart-values", aria_hidden="true", pointer_events="none")
        )

    has_links = spec.hrefs is not None and any(
        h and v is not None
        for hr, vr in zip(spec.hrefs, spec.cells, strict=True)
        for h, v in zip(hr, vr, strict=True)
    )
    desc = (
        f"Heatmap of {len(spec.y_labels)} rows by {len(spec.x_labels)} columns; values from "
        f"{format_value(low, fmt)} to {format_value(high, fmt)}; darker cells are "
        + ("further from zero." if spec.scale == "diverging" else "higher.")
    )
    return document(spec, width=width, height=height, body="".join(parts), desc=desc, has_links=has_links)


def _scale_legend(spec: HeatmapChart, low: float, high: float, *, x: float, y: float) -> str:
    """Five swatches from the lowest to the highest value, right-aligned at x."""
    fmt = spec.value_format
    if spec.scale == "diverging":
        reach = max(abs(low), abs(high))
        low, high = -reach, reach
    steps = [low + (high - low) * i / 4 for i in range(5)]
    low_text, high_text = format_tick(low, fmt), format_tick(high, fmt)
    high_width = text_width(high_text, TICK_SIZE)
    swatch_x = x - high_width - 6 - 5 * 14
    parts = [svg_text(high_text, x=x, y=y + 10, text_anchor="end", fill=MUTED_COLOR, class_="chart-tick")]
    for i, step in enumerate(steps):
        fill = cell_color(step, low=low, high=high, scale=spec.scale)
        parts.append(el("rect", x=swatch_x + i * 14, y=y + 1, width=14, height=12, fill=fill))
    parts.append(
        svg_text(low_text, x=swatch_x - 6, y=y + 10, text_anchor="end", fill=MUTED_COLOR, class_="chart-tick")
    )
    return el("g", "".join(parts), class_="chart-legend", aria_hidden="true")
