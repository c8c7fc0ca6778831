"""PDF: a cover, then one section per page onwards (figures, charts as inline SVG, tables),
"Page N of M" in the footer. Django templates (reports/templates/reports/pdf/) laid out by
WeasyPrint with reports/static/reports/pdf.css and the pages' static/css/charts.css.

Each section's HTML is rendered on its own (progress is reported as they are), then the
whole document is laid out and written once: no Python work per page, so the cost per page
stays flat as a report grows (bench/exports.py, B11).
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils.html import format_html_join

from reports.charts import ValueFormat, format_value
from reports.charts.formats import MISSING
from reports.document import ReportDocument, Section, Table

from .cover import cover_lines

Progress = Callable[[float], None]

# Shares of the progress bar: writing the sections' HTML is quick, WeasyPrint's layout is most
# of the time, writing the PDF file the rest.
HTML_DONE, LAYOUT_DONE = 0.2, 0.9
STYLESHEETS = ("css/charts.css", "reports/pdf.css")


class FetchRefused(ValueError):
    pass


def _fetch_nothing(url: str, *args: Any, **kwargs: Any) -> dict:
    """A report is self-contained: inline SVG, installed fonts. Any URL (a link in a label, a
    stray @import) must not make the worker reach the network or read local files."""
    if url.startswith("data:"):
        return weasyprint.default_url_fetcher(url, *args, **kwargs)
    raise FetchRefused(f"PDF reports fetch no URL: {url[:80]}")


@cache
def _stylesheets() -> tuple[weasyprint.CSS, ...]:
    # Parsed once per process; WeasyPrint only reads them while laying out.
    return tuple(
        weasyprint.CSS(filename=finders.find(path), url_fetcher=_fetch_nothing) for path in STYLESHEETS
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def display_cell(value: Any, fmt: ValueFormat | None, tz: ZoneInfo) -> tuple[str, bool]:
    """A table cell as printed, and whether it is a number (right-aligned)."""
    if value is None or (isinstance(value, float) and value != value):  # None or NaN: no value
        return MISSING, fmt is not None
    if _is_number(value):
        return (format_value(value, fmt) if fmt is not None else f"{value:,}"), True
    if isinstance(value, dt.datetime):
        shown = value.astimezone(tz) if value.tzinfo else value
        return f"{shown:%Y-%m-%d %H:%M}", False
    if isinstance(value, dt.date):
        return value.isoformat(), False
    return str(value), False


def _table_context(table: Table, tz: ZoneInfo) -> dict[str, Any]:
    formats = [table.column_format(i) for i in range(len(table.header))]
    return {
        "title": table.title,
        "header": [(title, fmt is not None) for title, fmt in zip(table.header, formats, strict=True)],
        "rows": [
            [display_cell(value, table.column_format(i), tz) for i, value in enumerate(row)]
            for row in table.rows
        ],
    }


def _section_html(section: Section, tz: ZoneInfo) -> str:
    figures = [
        {
            "label": figure.label,
            "value": format_value(figure.value, figure.format),
            "change": figure.change,
            "sense": figure.sense,
        }
        for figure in section.figures
    ]
    tables = [_table_context(table, tz) for table in section.tables]
    return render_to_string(
        "reports/pdf/section.html", {"section": section, "figures": figures, "tables": tables}
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """WeasyPrint builds millions of small objects per report; the cyclic garbage collector,
    run again and again as they pile up, rescans them each time, so a 40-page report cost
    1.3-1.4x more per page than a 5-page one (B11). Paused for the render, then one
    collection of the young generation (the render's objects, garbage by then): linear."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect(0)
        if enabled:
            gc.enable()


def _report(fraction: float, progress: Progress | None) -> None:
    if progress is not None:
        progress(fraction)


def _layout_and_write(html: str, progress: Progress | None) -> bytes:
    # Its own function so that the laid-out document is garbage when it returns.
    document = weasyprint.HTML(
        string=html, base_url=str(settings.BASE_DIR), url_fetcher=_fetch_nothing
    ).render(stylesheets=list(_stylesheets()))
    _report(LAYOUT_DONE, progress)
    return document.write_pdf()


def _html(doc: ReportDocument, progress: Progress | None) -> str:
    tz = ZoneInfo(doc.timezone)
    parts: list[str] = []
    for index, section in enumerate(doc.sections, 1):
        parts.append(_section_html(section, tz))
        _report(HTML_DONE * index / len(doc.sections), progress)
    return render_to_string(
        "reports/pdf/document.html",
        {
            "doc": doc,
            "cover": cover_lines(doc),
            # Each part is the template engine's SafeString (every value escaped), which
            # format_html_join keeps as it is; a plain string slipped in would be escaped.
            "sections": format_html_join("", "{}", ((part,) for part in parts)),
        },
    )


def render_pdf(doc: ReportDocument, *, progress: Progress | None = None) -> bytes:
    """The report as a PDF. `progress(fraction)`, 0-1, is called after each section's HTML,
    after the layout, and at 1.0 when the file is written."""
    with _collector_paused():
        pdf = _layout_and_write(_html(doc, progress), progress)
    _report(1.0, progress)
    return pdf
