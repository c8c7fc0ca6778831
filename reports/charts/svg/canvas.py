"""Low-level SVG writing: escaping, numbers, text fitting, palette and the document shell.

Everything a chart module writes goes through `el()`/`esc()`, so every label, tooltip and
link is XML-escaped exactly once. Output is deterministic: coordinates are printed with
fixed rounding and attributes in insertion order, so the same spec gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from xml.sax.saxutils import escape

from ..spec import Chart

FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif"
TEXT_COLOR = "#1b2333"
MUTED_COLOR = "#5d6b82"
GRID_COLOR = "#e4e9f1"
AXIS_COLOR = "#b7c1d1"
SURFACE_COLOR = "#ffffff"
TICK_SIZE = 11
LABEL_SIZE = 12

# Colour-blind-safe categorical palette led by the brand blue (--color-primary). The same
# order is exposed as .chart-series-N classes in static/css/charts.css so a theme can change it.
PALETTE = (
    "#3355d1",  # blue
    "#e8830c",  # orange
    "#1a9e8f",  # teal
    "#c0487e",  # magenta
    "#7a5cc9",  # purple
    "#8c6d46",  # brown
    "#4aa3df",  # sky
    "#b8960f",  # ochre
)

EMPTY_TEXT = "No data for this period"
ELLIPSIS = "…"
# Moves a text baseline so the glyphs are vertically centred on y; `dominant-baseline` would
# say this directly but WeasyPrint ignores it, and PDFs must look the same as the page.
BASELINE_SHIFT = 0.35


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def series_class(index: int) -> str:
    return f"chart-series-{index % len(PALETTE)}"


def esc(text: object) -> str:
    return escape(str(text), {'"': "&quot;", "'": "&#x27;"})


def num(value: float) -> str:
    """A coordinate: two decimals at most, no "-0", so output is stable across platforms."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def attrs(**values: object) -> str:
    # Keyword names use "_" for "-" (stroke_width) and a trailing "_" for Python keywords (class_).
    parts = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        key = name.rstrip("_").replace("_", "-")
        text = num(value) if isinstance(value, float) else str(value)
        parts.append(f' {key}="{esc(text)}"')
    return "".join(parts)


def el(tag: str, content: str = "", **values: object) -> str:
    """One element; `content` must already be markup (escape text with esc())."""
    if content:
        return f"<{tag}{attrs(**values)}>{content}</{tag}>"
    return f"<{tag}{attrs(**values)}/>"


def svg_text(content: str, **values: object) -> str:
    """A <text> element with escaped content."""
    return el("text", esc(content), **values)


def title(text: str) -> str:
    return f"<title>{esc(text)}</title>"


# Average glyph advance as a fraction of the font size, measured on DejaVu Sans (the widest
# of the fonts a page or WeasyPrint will pick), so estimates err on the side of fitting.
_NARROW = set("il.,:;'|!()[]ft ")
_WIDE = set("mwMW%@")


def text_width(text: str, size: float) -> float:
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 0.34
        elif char in _WIDE:
            width += 0.9
        elif char.isupper() or char.isdigit():
            width += 0.66
        else:
            width += 0.58
    return width * size


def fit(text: str, max_width: float, size: float) -> str:
    """`text` cut with an ellipsis so it fits `max_width`; the caller keeps the full text in a <title>."""
    if text_width(text, size) <= max_width:
        return text
    for end in range(len(text) - 1, 0, -1):
        candidate = text[:end].rstrip() + ELLIPSIS
        if text_width(candidate, size) <= max_width:
            return candidate
    return ELLIPSIS


def label(
    text: str, *, x: float, y: float, max_width: float, size: float = TICK_SIZE, **values: object
) -> str:
    """A <text> that never overflows: truncated with an ellipsis, full text in its <title>."""
    shown = fit(text, max_width, size)
    inner = esc(shown) if shown == text else title(text) + esc(shown)
    values.setdefault("fill", MUTED_COLOR)
    return el("text", inner, x=float(x), y=float(y), font_size=size, **values)


def link(href: str | None, hover: str, content: str) -> str:
    """Wrap a data mark in a drill-down link; the link's name is its hover text."""
    if href is None:
        return content
    return el("a", content, href=href, class_="chart-link", aria_label=hover.replace("\n", ". "))


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _chart_id(spec: Chart, width: int, height: int) -> str:
    # Stable, so output is deterministic; distinct per spec, so two charts on a page do not clash.
    payload = json.dumps([spec.to_dict(), width, height], sort_keys=True, default=str)
    return "chart-" + hashlib.sha1(payload.encode(), usedforsecurity=False).hexdigest()[:10]


def document(spec: Chart, *, width: int, height: int, body: str, desc: str, has_links: bool) -> str:
    """The <svg> root with its accessible name (<title>) and summary (<desc>).

    A chart without links is one image to assistive technology (role="img"). With drill-down
    links it is a group instead: role="img" makes children presentational and would hide
    the links from screen readers.
    """
    chart_id = _chart_id(spec, width, height)
    head = el("title", esc(spec.title), id=f"{chart_id}-title") + el("desc", esc(desc), id=f"{chart_id}-desc")
    return el(
        "svg",
        head + body,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {width} {height}",
        width=width,
        height=height,
        role="group" if has_links else "img",
        aria_labelledby=f"{chart_id}-title",
        aria_describedby=f"{chart_id}-desc",
        class_=f"chart-svg chart-svg--{spec.type}",
        font_family=FONT_FAMILY,
        font_size=TICK_SIZE,
    )


def empty_state(spec: Chart, *, width: int, height: int) -> str:
    body = el(
        "rect",
        x=0.5,
        y=0.5,
        width=width - 1,
        height=height - 1,
        rx=8,
        fill="#f0f3f8",
        stroke="#dde3ec",
        stroke_dasharray="4 4",
        class_="chart-empty-frame",
    )
    body += svg_text(
        EMPTY_TEXT,
        x=float(width / 2),
        y=float(height / 2 + 14 * BASELINE_SHIFT),
        text_anchor="middle",
        font_size=14,
        fill=MUTED_COLOR,
        class_="chart-empty",
    )
    desc = f"{EMPTY_TEXT}."
    return document(spec, width=width, height=height, body=body, desc=desc, has_links=False)


def hover_text(
    label_text: str, value_text: str, *, series: str | None = None, tooltip: str | None = None
) -> str:
    """The text shown on hover (<title>) and read as the link name: "Won · March: KES 1,200.00"."""
    head = f"{series} · {label_text}" if series else label_text
    text = f"{head}: {value_text}"
    return f"{text}\n{tooltip}" if tooltip else text


def ordered_labels(groups: list[list[str]]) -> list[str]:
    """Labels of several series in order of first appearance (the categories of an axis)."""
    seen: dict[str, None] = {}
    for group in groups:
        for text in group:
            seen.setdefault(text, None)
    return list(seen)
