"""`{% load charts %}{% chart spec %}`: a chart as a figure with caption, inline SVG and a
visually hidden data table for screen readers (docs/charts.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from reports.charts import Chart, ValueFormat, chart_from_dict, format_value, render_svg, render_table

register = template.Library()


def _table(spec: Chart, *, visible: bool) -> SafeString:
    header, *rows = render_table(spec)
    head = format_html_join("", '<th scope="col">{}</th>', ((cell,) for cell in header))
    body = format_html_join(
        "",
        '<tr><th scope="row">{}</th>{}</tr>',
        ((row[0], format_html_join("", "<td>{}</td>", ((cell,) for cell in row[1:]))) for row in rows),
    )
    # Hidden by its wrapper, not by the table itself: a table ignores width: 1px and would
    # still widen the page's scroll area.
    return format_html(
        '<div class="{}"><table class="chart__table{}"><caption>{}</caption>'
        "<thead><tr>{}</tr></thead><tbody>{}</tbody></table></div>",
        "chart__data chart__data--visible" if visible else "chart__data",
        " table table--compact" if visible else "",
        f"Data: {spec.title}",
        head,
        body,
    )


@register.simple_tag
def chart(
    spec: Chart | Mapping[str, Any], width: int = 640, height: int = 320, show_table: bool = False
) -> SafeString:
    """Render a spec (or its `to_dict()` form, as stored in a saved report).

    The data table is always there for screen readers; `show_table` also shows it (PDFs).
    """
    if isinstance(spec, Mapping):
        spec = chart_from_dict(spec)
    # render_svg writes every label, tooltip and link through canvas.esc()/el(), so its output is
    # safe markup (tests/reports/test_charts.py renders "<script>" labels and links).
    svg = mark_safe(render_svg(spec, width=width, height=height))  # nosec B308, B703  # render_svg escapes every value
    return format_html(
        '<figure class="chart chart--{}"><figcaption class="chart__caption">{}</figcaption>'
        '<div class="chart__canvas">{}</div>{}</figure>',
        spec.type,
        spec.title,
        svg,
        _table(spec, visible=show_table),
    )


@register.filter
def formatted(value: float | None, fmt: ValueFormat | str) -> str:
    """`{{ value|formatted:fmt }}`: a number as the charts show it (fmt a ValueFormat or a kind)."""
    return format_value(value, fmt if isinstance(fmt, ValueFormat) else ValueFormat(fmt))
