"""Line chart: one path per series over ordered categories; None breaks the line (a gap)."""

from __future__ import annotations

from ..formats import format_value
from ..spec import LineChart, Point
from .axes import (
    Box,
    LegendItem,
    Scale,
    axis_title,
    category_labels,
    legend,
    tick_label_width,
    value_grid,
    value_ticks,
)
from .canvas import (
    LABEL_SIZE,
    color,
    document,
    el,
    empty_state,
    hover_text,
    label,
    link,
    num,
    ordered_labels,
    series_class,
    title,
)

# Above this many points per series the dots are drawn only on hover, or the line drowns in them.
DOTS_UP_TO = 40
INNER_PAD = 8


def _segments(coords: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for coord in coords:
        if coord is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(coord)
    return [run for run in runs if run]


def _path(run: list[tuple[float, float]]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{num(x)} {num(y)}" for i, (x, y) in enumerate(run))


def _point(point: Point, *, x: float, y: float, hover: str, css: str, fill: str, dot: bool) -> str:
    mark = title(hover)
    # The transparent circle is the hover and click target: the visible dot is too small to aim at.
    mark += el("circle", cx=x, cy=y, r=9, fill="transparent", class_="chart-hit")
    dot_class = "chart-dot" if dot else "chart-dot chart-dot--on-hover"
    mark += el(
        "circle",
        cx=x,
        cy=y,
        r=3.5,
        fill=fill,
        stroke="#ffffff",
        stroke_width=1.5,
        class_=f"{dot_class} {css}",
    )
    return link(point.href, hover, el("g", mark, class_="chart-point chart-mark"))


def render_line(spec: LineChart, *, width: int, height: int) -> str:
    band_points = spec.band.points if spec.band else ()
    categories = ordered_labels(
        [[p.label for p in s.points] for s in spec.series] + [[b.label for b in band_points]]
    )
    values = [p.value for s in spec.series for p in s.points if p.value is not None]
    if not values:
        return empty_state(spec, width=width, height=height)
    bounds = [v for b in band_points for v in (b.lower, b.upper) if v is not None]
    fmt = spec.value_format
    ticks = value_ticks(values + bounds, fmt)

    top, parts = 8.0, []
    items = [
        LegendItem(s.name, color(i), series_class(i), "dashed" if s.dashed else "line")
        for i, s in enumerate(spec.series)
    ]
    if spec.band:
        items.append(LegendItem(spec.band.name, color(0), series_class(0), "band"))
    if len(items) > 1:
        markup, legend_height = legend(items, x=8, y=top, max_width=width - 16)
        parts.append(markup)
        top += legend_height + 4
    y_title = axis_title(fmt, spec.y_label)
    if y_title:
        parts.append(
            label(
                y_title,
                x=8,
                y=top + LABEL_SIZE,
                max_width=width / 2,
                size=LABEL_SIZE,
                class_="chart-axis-title",
            )
        )
        top += LABEL_SIZE + 10
    bottom = height - 24 - (LABEL_SIZE + 8 if spec.x_label else 0)
    box = Box(left=16 + tick_label_width(ticks, fmt), top=top + 6, right=width - 16, bottom=bottom)
    scale = Scale(ticks[0], ticks[-1], box.bottom, box.top)
    parts.append(value_grid(ticks, scale, fmt, box, vertical=True))

    inner = box.width - 2 * INNER_PAD
    step = inner / (len(categories) - 1) if len(categories) > 1 else 0.0
    first_x = box.left + INNER_PAD if len(categories) > 1 else box.left + box.width / 2
    xs = {text: first_x + i * step for i, text in enumerate(categories)}
    parts.append(category_labels(categories, list(xs.values()), y=box.bottom + 17, width=width))
    if spec.x_label:
        parts.append(
            label(
                spec.x_label,
                x=box.left + box.width / 2,
                y=height - 8,
                max_width=box.width,
                size=LABEL_SIZE,
                text_anchor="middle",
                class_="chart-axis-title",
            )
        )

    if spec.band:
        for run in _band_runs(spec, xs, scale):
            parts.append(
                el("path", d=run, fill=color(0), fill_opacity=0.15, class_=f"chart-band {series_class(0)}")
            )

    marks = []
    many = len(spec.series) > 1
    for index, series in enumerate(spec.series):
        css, stroke = series_class(index), color(index)
        coords = [(xs[p.label], scale(p.value)) if p.value is not None else None for p in series.points]
        runs = _segments(coords)
        dash = "6 4" if series.dashed else None
        for run in runs:
            if len(run) > 1:
                parts.append(
                    el(
                        "path",
                        d=_path(run),
                        fill="none",
                        stroke=stroke,
                        stroke_width=2.25,
                        stroke_linejoin="round",
                        stroke_linecap="round",
                        stroke_dasharray=dash,
                        class_=f"chart-line {css}",
                    )
                )
        isolated = {run[0] for run in runs if len(run) == 1}
        dense = len(series.points) > DOTS_UP_TO
        for point, coord in zip(series.points, coords, strict=True):
            if coord is None or point.value is None:
                continue
            hover = hover_text(
                point.label,
                format_value(point.value, fmt),
                series=series.name if many else None,
                tooltip=point.tooltip,
            )
            dot = not dense or coord in isolated
            marks.append(_point(point, x=coord[0], y=coord[1], hover=hover, css=css, fill=stroke, dot=dot))
    parts.append(el("g", "".join(marks), class_="chart-points"))

    has_links = any(p.href for s in spec.series for p in s.points)
    return document(
        spec,
        width=width,
        height=height,
        body="".join(parts),
        desc=_describe(spec, categories, values),
        has_links=has_links,
    )


def _band_runs(spec: LineChart, xs: dict[str, float], scale: Scale) -> list[str]:
    assert spec.band is not None
    runs: list[list[tuple[float, float, float]]] = [[]]
    for point in spec.band.points:
        if point.lower is None or point.upper is None or point.label not in xs:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((xs[point.label], scale(point.lower), scale(point.upper)))
    paths = []
    for run in runs:
        if len(run) < 2:
            continue
        upper = [(x, hi) for x, _, hi in run]
        lower = [(x, lo) for x, lo, _ in reversed(run)]
        paths.append(_path(upper + lower) + " Z")
    return paths


def _describe(spec: LineChart, categories: list[str], values: list[float]) -> str:
    names = ", ".join(s.name for s in spec.series)
    fmt = spec.value_format
    return (
        f"Line chart of {len(spec.series)} series ({names}) over {len(categories)} points "
        f"from {categories[0]} to {categories[-1]}; values from {format_value(min(values), fmt)} "
        f"to {format_value(max(values), fmt)}."
    )
