"""XLSX: a Summary sheet (the cover and every section's figures), one sheet per table, and a
native Excel chart for a section's first line or bar chart, on a sheet holding its data.

Written with openpyxl in write-only mode (rows stream to lxml's incremental writer, memory
stays flat). Numbers stay numbers with an Excel number format (docs/reports.md, "Formats");
dates are dates in the organization's time zone; text goes through `safe_cell`.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart as ExcelBarChart
from openpyxl.chart import LineChart as ExcelLineChart
from openpyxl.chart import Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from reports.cells import safe_cell
from reports.charts import BarChart, LineChart, ValueFormat, format_value, render_table
from reports.charts.svg.canvas import color
from reports.document import ReportDocument, Section, Table

from .cover import cover_lines

# Excel number formats for reports.charts.ValueFormat kinds. Percent values are already 0-100,
# so "%" is a literal (Excel's own 0.0% would multiply by 100).
NUMBER_FORMATS = {
    "integer": "#,##0",
    "number": "#,##0.00",
    "percent": '0.0"%"',
    "hours": '0.0" h"',
}
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

MAX_SHEET_NAME = 31  # Excel refuses longer sheet names
MAX_CELL_TEXT = 32767  # characters in one cell, Excel's limit
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
# Column widths (in characters) are measured on the header and this many rows: enough to see
# a column's usual width, and the cost stays the same for a million rows.
WIDTH_SAMPLE_ROWS = 200
MIN_WIDTH, MAX_WIDTH = 8, 60
CHART_WIDTH_CM, CHART_HEIGHT_CM = 24, 12

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)


def number_format(fmt: ValueFormat) -> str:
    """`"KES" #,##0.00` for money (the currency on every cell), `0.0"%"` for percent, ..."""
    if fmt.kind == "money":
        return f'"{fmt.currency}" #,##0.00'
    return NUMBER_FORMATS[fmt.kind]


class SheetNames:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique ignoring case."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, title: str) -> str:
        base = " ".join(_SHEET_NAME_FORBIDDEN.sub(" ", title).split()).strip("'") or "Sheet"
        # "History" is reserved by Excel.
        if base.lower() == "history":
            base = "History table"
        name, n = base[:MAX_SHEET_NAME], 1
        while name.lower() in self._taken:
            n += 1
            suffix = f" ({n})"
            name = base[: MAX_SHEET_NAME - len(suffix)].rstrip() + suffix
        self._taken.add(name.lower())
        return name


_NUMBER_TYPES = (int, float, Decimal)


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool)


def _xml_text(value: Any) -> Any:
    # XML (so XLSX) cannot hold control characters other than tab and newlines: drop them.
    # isprintable() is one C loop: only text with a control character pays for the regex.
    if isinstance(value, str) and not value.isprintable():
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _cell(
    ws: WriteOnlyWorksheet, value: Any, *, number_format: str | None = None, font: Font | None = None
) -> WriteOnlyCell:
    """One styled cell of the small sheets (Summary, headers, chart data)."""
    cell = WriteOnlyCell(ws, value=_xml_text(safe_cell(value)))
    if number_format:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    return cell


def _text_width(value: Any, fmt: ValueFormat | None) -> int:
    if value is None:
        return 0
    if fmt is not None and _is_number(value):
        return len(format_value(value, fmt))
    if isinstance(value, dt.datetime):
        return len(DATETIME_FORMAT)
    return len(str(value))


def _set_widths(
    ws: WriteOnlyWorksheet,
    header: Sequence[Any],
    rows: Sequence[Sequence[Any]],
    formats: Sequence[ValueFormat | None],
) -> None:
    # Write-only sheets take column settings before the first row only.
    for index, title in enumerate(header):
        fmt = formats[index] if index < len(formats) else None
        sample = (row[index] for row in rows[:WIDTH_SAMPLE_ROWS] if index < len(row))
        widest = max([len(str(title)), *(_text_width(value, fmt) for value in sample)])
        ws.column_dimensions[get_column_letter(index + 1)].width = min(max(widest + 2, MIN_WIDTH), MAX_WIDTH)


class _PreparedCell(Cell):
    """A reusable cell whose style is set once, before it is written: openpyxl looks its style
    up in the workbook's style table for every cell it writes (a hash of the style each
    time); this cell remembers the answer."""

    __slots__ = ("_known_style_id", "_known_has_style")

    def __init__(self, ws: WriteOnlyWorksheet, number_format: str | None = None) -> None:
        super().__init__(ws, row=1, column=1)
        if number_format:
            self.number_format = number_format
        self._known_style_id: int | None = None
        self._known_has_style = Cell.has_style.fget(self)

    @property
    def style_id(self) -> int:
        if self._known_style_id is None:
            self._known_style_id = Cell.style_id.fget(self)
        return self._known_style_id

    @property
    def has_style(self) -> bool:
        return self._known_has_style


class _TypedRows:
    """Turns a table's rows into styled cells, for `WriteOnlyWorksheet.append`.

    openpyxl takes a styled cell in a write-only row only as a `WriteOnlyCell`, and finds it by
    failing to bind it as a value (an exception per cell) and then builds a new cell: that was
    about 40% of the time of a 100k-row sheet (bench/exports.py, B10). The worksheet's row
    conversion is replaced, for the data rows only, by this one, which reuses one prepared cell
    per column and kind: the writer serialises each yielded cell before asking for the next,
    so reusing is safe. It sets a cell's private `_value` where the type is already known.
    openpyxl is pinned (requirements.txt); tests/reports/test_render.py reads back the cells,
    types and number formats this produces.
    """

    def __init__(self, ws: WriteOnlyWorksheet, formats: Sequence[ValueFormat | None], tz: ZoneInfo) -> None:
        self.tz = tz
        self.text = _PreparedCell(ws)
        self.numbers = [_PreparedCell(ws, number_format(fmt) if fmt else None) for fmt in formats]
        self.plain_number = _PreparedCell(ws)
        self.date = _PreparedCell(ws, DATE_FORMAT)
        self.moment = _PreparedCell(ws, DATETIME_FORMAT)

    def _pick(self, column: int, value: Any) -> tuple[WriteOnlyCell | None, Any]:
        if isinstance(value, str):
            return self.text, safe_cell(value)
        if isinstance(value, bool):
            return self.text, value
        if isinstance(value, _NUMBER_TYPES):
            if value != value:  # NaN (pandas' "missing"): an empty cell, like None
                return None, None
            return (self.numbers[column] if column < len(self.numbers) else self.plain_number), value
        if isinstance(value, dt.datetime):
            # Excel has no time zones: the wall-clock time in the organization's zone.
            local = value.astimezone(self.tz).replace(tzinfo=None) if value.tzinfo else value
            return self.moment, local
        if isinstance(value, dt.date):
            return self.date, value
        return self.text, safe_cell(str(value))

    def __call__(self, values: Sequence[Any], row_idx: int) -> Iterator[WriteOnlyCell]:
        width = len(self.numbers)
        for column, value in enumerate(values):
            if value is None:
                continue
            # This loop runs once per cell. The common exact types skip openpyxl's type
            # inference (`cell.value = ...`): their type is known, so value and type are set.
            kind = value.__class__
            if kind is str:
                cell = self.text
                text = safe_cell(value)[:MAX_CELL_TEXT]
                cell._value = _xml_text(text)
                cell.data_type = "s"
            elif (kind is int or kind is float) and column < width and value == value:
                cell = self.numbers[column]
                cell._value = value
                cell.data_type = "n"
            else:
                cell, value = self._pick(column, value)
                if cell is None:
                    continue
                cell.value = _xml_text(value)
            cell.column = column + 1
            cell.row = row_idx
            yield cell


def _table_sheet(wb: Workbook, name: str, table: Table, tz: ZoneInfo) -> None:
    ws = wb.create_sheet(name)
    formats = [table.column_format(i) for i in range(len(table.header))]
    _set_widths(ws, table.header, table.rows, formats)
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, title, font=BOLD) for title in table.header])
    ws._values_to_row = _TypedRows(ws, formats, tz)  # see _TypedRows
    for row in table.rows:
        ws.append(row)


def _summary_sheet(wb: Workbook, name: str, doc: ReportDocument) -> None:
    ws = wb.create_sheet(name)
    for letter, width in (("A", 34), ("B", 24), ("C", 16)):
        ws.column_dimensions[letter].width = width
    ws.append([_cell(ws, doc.title, font=TITLE)])
    for line in cover_lines(doc):
        value = _cell(ws, line.moment, number_format=DATETIME_FORMAT) if line.moment else _cell(ws, line.text)
        ws.append([_cell(ws, line.label, font=BOLD), value])
    ws.append([])
    ws.append([_cell(ws, title, font=BOLD) for title in ("Figure", "Value", "Change")])
    for section in doc.sections:
        ws.append([_cell(ws, section.title, font=BOLD)])
        for figure in section.figures:
            value = None
            if figure.value is not None:
                value = _cell(ws, figure.value, number_format=number_format(figure.format))
            # The change is our own trend text ("+12.5%", "-1.2 pts"), never user input, and a
            # string cell is never evaluated: no quote, which Excel would show.
            ws.append([_cell(ws, figure.label), value, WriteOnlyCell(ws, value=_xml_text(figure.change))])
        for note in section.notes:
            ws.append([_cell(ws, note)])


def _chartable(section: Section) -> LineChart | BarChart | None:
    for chart in section.charts:
        if isinstance(chart, LineChart | BarChart) and any(
            point.value is not None for series in chart.series for point in series.points
        ):
            return chart
    return None


def _excel_chart(spec: LineChart | BarChart) -> ExcelLineChart | ExcelBarChart:
    if isinstance(spec, LineChart):
        chart = ExcelLineChart()
        chart.x_axis.title = spec.x_label
        chart.y_axis.title = spec.y_label or spec.value_format.currency or None
        return chart
    chart = ExcelBarChart()
    chart.type = "bar" if spec.horizontal else "col"
    if spec.stacked:
        chart.grouping, chart.overlap = "stacked", 100
    chart.x_axis.title = spec.category_label
    chart.y_axis.title = spec.value_label or spec.value_format.currency or None
    return chart


def _chart_sheet(wb: Workbook, name: str, spec: LineChart | BarChart) -> None:
    """The chart's data (its table: a category column, one column per series) and a native
    chart drawn from it, so the numbers stay editable in Excel."""
    ws = wb.create_sheet(name)
    header, *rows = render_table(spec, formatted=False)
    value_format = number_format(spec.value_format)
    ws.column_dimensions["A"].width = max(
        MIN_WIDTH, min(MAX_WIDTH, max(len(str(r[0])) for r in [header, *rows]) + 2)
    )
    for index in range(1, len(header)):
        ws.column_dimensions[get_column_letter(index + 1)].width = max(14, len(str(header[index])) + 2)
    ws.append([_cell(ws, title, font=BOLD) for title in header])
    for label, *values in rows:
        ws.append(
            [
                _cell(ws, label),
                *(None if v is None else _cell(ws, v, number_format=value_format) for v in values),
            ]
        )
    chart = _excel_chart(spec)
    chart.title = spec.title
    # openpyxl marks axes as deleted by default, which recent Excel honours: no axis labels.
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.y_axis.number_format = value_format
    chart.width, chart.height = CHART_WIDTH_CM, CHART_HEIGHT_CM
    last_row = len(rows) + 1
    # Only the series columns: a line's band (lower, upper) stays in the table.
    chart.add_data(
        Reference(ws, min_col=2, max_col=1 + len(spec.series), min_row=1, max_row=last_row),
        titles_from_data=True,
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last_row))
    for index, (series, source) in enumerate(zip(chart.series, spec.series, strict=True)):
        paint = color(index).lstrip("#").upper()
        if isinstance(spec, LineChart):
            series.graphicalProperties.line.solidFill = paint
            series.smooth = False
            if source.dashed:
                series.graphicalProperties.line.dashStyle = "dash"
        else:
            series.graphicalProperties.solidFill = paint
            series.graphicalProperties.line.solidFill = paint
    ws.add_chart(chart, f"{get_column_letter(len(header) + 2)}2")


def render_xlsx(doc: ReportDocument) -> bytes:
    """The report as an Excel workbook: Summary first, then each section's tables and chart data."""
    wb = Workbook(write_only=True)
    names = SheetNames()
    tz = ZoneInfo(doc.timezone)
    _summary_sheet(wb, names.claim("Summary"), doc)
    for section in doc.sections:
        for table in section.tables:
            _table_sheet(wb, names.claim(table.title), table, tz)
        chart = _chartable(section)
        if chart is not None:
            _chart_sheet(wb, names.claim(f"{section.title} chart"), chart)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
