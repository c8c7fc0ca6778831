"""Charts as images: the SVG every page shows, and a PNG of it for slides and e-mail clients
that drop SVG.

The PNG is rasterised by CairoSVG (from the makers of WeasyPrint, over the system's cairo):
no browser and no network. The SVG writes every colour as an attribute, so it needs no
stylesheet to look right. On a page the title is the figure's caption, outside the SVG; a
PNG stands alone, so it gets the title drawn above the chart.
"""

from __future__ import annotations

import re

import cairosvg

from reports.charts import Chart, render_svg
from reports.charts.svg.canvas import FONT_FAMILY, SURFACE_COLOR, TEXT_COLOR, el, svg_text

# The SVG's text is sized for a drawing about this wide (docs/charts.md): a bigger PNG is the
# same drawing scaled up, so its labels stay readable instead of shrinking.
DRAWING_WIDTH = 640
TITLE_HEIGHT = 32  # in drawing units, above the chart
TITLE_SIZE = 14
_ROOT_HEIGHT = re.compile(r'<svg[^>]*? height="(\d+)"')


def _titled_svg(chart: Chart, *, width: int, height: int) -> tuple[str, int]:
    inner = render_svg(chart, width=width, height=max(height - TITLE_HEIGHT, 1))
    # A horizontal bar chart grows with its categories: read back the height it took.
    inner_height = int(_ROOT_HEIGHT.match(inner).group(1))
    total = inner_height + TITLE_HEIGHT
    body = (
        el("rect", width=width, height=total, fill=SURFACE_COLOR)
        + svg_text(chart.title, x=8, y=22, font_size=TITLE_SIZE, font_weight=600, fill=TEXT_COLOR)
        + el("g", inner, transform=f"translate(0 {TITLE_HEIGHT})")
    )
    svg = el(
        "svg",
        body,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {width} {total}",
        width=width,
        height=total,
        font_family=FONT_FAMILY,
    )
    return svg, total


def render_png(chart: Chart, *, width: int = 1280, height: int = 640) -> bytes:
    """The chart under its title as a `width` x `height` PNG on white (a horizontal bar chart
    with many categories grows taller, as its SVG does)."""
    scale = max(1.0, width / DRAWING_WIDTH)
    svg, drawn_height = _titled_svg(chart, width=round(width / scale), height=round(height / scale))
    return cairosvg.svg2png(
        bytestring=svg.encode("utf-8"),
        output_width=width,
        output_height=round(drawn_height * width / round(width / scale)),
        unsafe=False,
    )
