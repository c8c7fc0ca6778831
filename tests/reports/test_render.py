"""reports.render: one hand-built ReportDocument rendered to every format and read back
(docs/reports.md, "Formats").

The organization is in Africa/Nairobi (UTC+3, no DST): the window [28 Feb 21:00, 31 Mar 21:00)
UTC is 1 Mar 00:00 - 1 Apr 00:00 local, generated at 1 Apr 06:30 UTC = 09:30 local.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import zipfile
from dataclasses import replace
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.chart import BarChart as ExcelBarChart
from openpyxl.chart import LineChart as ExcelLineChart
from PIL import Image
from pypdf import PdfReader

from reports import charts
from reports.charts import BarChart, LineChart, Point, Series, ValueFormat
from reports.document import Figure, ReportDocument, Section, Table
from reports.render import (
    csv_rows_stream,
    render_csv,
    render_csv_bundle,
    render_pdf,
    render_png,
    render_svg,
    render_xlsx,
)
from reports.render.csv_files import CHUNK_ROWS
from reports.render.pdf import FetchRefused, _fetch_nothing, display_cell
from reports.render.xlsx import SheetNames

UTC = dt.UTC
MONEY = ValueFormat.money("KES")
PERCENT = ValueFormat("percent")
COUNT = ValueFormat("integer")

AGENTS = Table(
    "agents",
    "Agents",
    ("Agent", "Deals", "Revenue", "Win rate", "Closed"),
    (
        ('=HYPERLINK("http://x","y")', 3, -1500.25, 33.3, dt.datetime(2026, 3, 3, 9, 0, tzinfo=UTC)),
        ("+1", -2, None, None, dt.date(2026, 3, 4)),
        ("-2", 12000, 250000.0, 50.0, None),
        ("@SUM(A1)", 1, 10.0, 100.0, None),
        ("\tTab", 0, 0.0, 0.0, None),
    ),
    (None, COUNT, MONEY, PERCENT, None),
)
OUTCOMES = Table(
    "outcomes", "Outcomes", ("Outcome", "Calls"), (("Answered", 800), ("Missed", 400)), (None, COUNT)
)
REVENUE_CHART = LineChart(
    "Revenue by week",
    (Series("Revenue", (Point("W1", 100.0), Point("W2", None), Point("W3", 300.0))),),
    MONEY,
)
CALLS_CHART = BarChart(
    "Calls by outcome", (Series("Calls", (Point("Answered", 800), Point("Missed", 400))),), COUNT
)
DOC = ReportDocument(
    title="Monthly report",
    organization="Acme Kenya",
    timezone="Africa/Nairobi",
    currency="KES",
    range_label="March 2026",
    start=dt.datetime(2026, 2, 28, 21, 0, tzinfo=UTC),
    end=dt.datetime(2026, 3, 31, 21, 0, tzinfo=UTC),
    generated_at=dt.datetime(2026, 4, 1, 6, 30, tzinfo=UTC),
    filters=(("Region", "Nairobi"),),
    audience="As Mia Manager sees them",
    sections=(
        Section(
            "overview",
            "Overview",
            figures=(
                Figure("revenue.total", "Revenue", 1234567.5, MONEY, "+12.5%", "good"),
                Figure("leads.conversion", "Conversion", 42.04, PERCENT, "-1.2 pts", "bad"),
                Figure("calls.total", "Calls made", None, COUNT, "—"),
                Figure("revenue.refunds", "Refunds", -980.4, MONEY, "+3.0%", "bad"),
            ),
            charts=(REVENUE_CHART,),
            tables=(AGENTS,),
            notes=("Refunds are counted on the day they are paid.",),
        ),
        Section(
            "calls",
            "Calls",
            figures=(Figure("calls.answered", "Answered", 800, COUNT, "+3.0%", "good"),),
            charts=(CALLS_CHART,),
            tables=(OUTCOMES,),
        ),
    ),
)


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# --- PDF ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf_and_progress():
    calls: list[float] = []
    return render_pdf(DOC, progress=calls.append), calls


@pytest.fixture(scope="module")
def pdf_text(pdf_and_progress) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf_and_progress[0]))
    return [page.extract_text() for page in reader.pages]


def test_pdf_has_a_cover_and_one_page_per_section_numbered_in_the_footer(pdf_text):
    assert len(pdf_text) == 3
    for number, text in enumerate(pdf_text, 1):
        assert f"Page {number} of 3" in text


def test_pdf_cover_shows_organization_range_in_local_time_filters_and_audience(pdf_text):
    cover = pdf_text[0]
    for expected in (
        "Monthly report",
        "Acme Kenya",
        "March 2026",
        "1 Mar 2026 00:00",  # 28 Feb 21:00 UTC + 3 h
        "1 Apr 2026 00:00",  # 31 Mar 21:00 UTC + 3 h
        "1 Apr 2026 09:30",  # generated at 06:30 UTC + 3 h
        "Africa/Nairobi",
        "Region",
        "Nairobi",
        "As Mia Manager sees them",
    ):
        assert expected in cover
    assert "28 Feb" not in cover


def test_pdf_sections_show_formatted_figures_charts_and_tables(pdf_text):
    overview, calls = pdf_text[1], pdf_text[2]
    # figures: format_value with the organization's currency; None is an em dash
    for expected in ("Revenue", "KES 1,234,567.50", "+12.5%", "42.0%", "-1.2 pts", "Calls made", "—"):
        assert expected in overview
    assert "KES -980.40" in overview
    # the chart is drawn (its caption and axis labels), its screen-reader table is not printed
    assert "Revenue by week" in overview
    assert "W3" in overview
    assert "Data: Revenue by week" not in overview
    # the table: formatted by column, the formula text printed as it is, local time
    for expected in ("KES -1,500.25", "KES 250,000.00", "33.3%", "12,000", '=HYPERLINK("http://x","y")'):
        assert expected in overview
    assert "2026-03-03 12:00" in overview  # 09:00 UTC + 3 h
    assert "Refunds are counted on the day they are paid." in overview
    for expected in ("Calls by outcome", "Answered", "800", "Outcomes"):
        assert expected in calls


def test_pdf_reports_progress_per_section_and_ends_at_one(pdf_and_progress):
    _, calls = pdf_and_progress
    # the two sections' HTML (0.2 x 1/2, 0.2 x 2/2), the layout, the written file
    assert calls == [0.1, 0.2, 0.9, 1.0]


def test_pdf_renders_without_warnings(caplog):
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = render_pdf(DOC)
    assert pdf.startswith(b"%PDF")
    assert [record.getMessage() for record in caplog.records] == []


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (-1500.25, MONEY, ("KES -1,500.25", True)),
        (None, MONEY, ("—", True)),
        (float("nan"), PERCENT, ("—", True)),
        (12345, None, ("12,345", True)),
        (dt.datetime(2026, 3, 31, 22, 15, tzinfo=UTC), None, ("2026-04-01 01:15", False)),  # + 3 h
        (dt.date(2026, 3, 4), None, ("2026-03-04", False)),
        ("=1+1", None, ("=1+1", False)),
    ],
)
def test_pdf_table_cells(value, fmt, expected):
    assert display_cell(value, fmt, ZoneInfo("Africa/Nairobi")) == expected


@pytest.mark.parametrize("url", ["http://example.com/font.woff", "file:///etc/passwd", "https://x/y.css"])
def test_pdf_fetches_nothing(url):
    with pytest.raises(FetchRefused):
        _fetch_nothing(url)


# --- XLSX --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workbook():
    return openpyxl.load_workbook(io.BytesIO(render_xlsx(DOC)))


def _row_of(ws, label: str):
    return next(row for row in ws.iter_rows() if row[0].value == label)


def test_xlsx_has_summary_then_a_sheet_per_table_and_per_chart(workbook):
    assert workbook.sheetnames == ["Summary", "Agents", "Overview chart", "Outcomes", "Calls chart"]


def test_xlsx_summary_holds_the_cover_and_typed_figures(workbook):
    ws = workbook["Summary"]
    assert ws["A1"].value == "Monthly report"
    assert ws["A1"].font.b
    assert _row_of(ws, "Organization")[1].value == "Acme Kenya"
    start = _row_of(ws, "From")[1]
    assert start.value == dt.datetime(2026, 3, 1, 0, 0)  # local wall-clock time
    assert start.number_format == "yyyy-mm-dd hh:mm"
    assert _row_of(ws, "Generated at")[1].value == dt.datetime(2026, 4, 1, 9, 30)
    assert _row_of(ws, "Region")[1].value == "Nairobi"

    label, value, change = _row_of(ws, "Revenue")[:3]
    assert (value.value, value.data_type, value.number_format) == (1234567.5, "n", '"KES" #,##0.00')
    assert change.value == "+12.5%"
    conversion = _row_of(ws, "Conversion")[1]
    assert (conversion.value, conversion.number_format) == (42.04, '0.0"%"')
    assert _row_of(ws, "Calls made")[1].value is None
    answered = _row_of(ws, "Answered")[1]
    assert (answered.value, answered.number_format) == (800, "#,##0")


def test_xlsx_table_sheet_has_a_bold_frozen_header_and_typed_cells(workbook):
    ws = workbook["Agents"]
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == ["Agent", "Deals", "Revenue", "Win rate", "Closed"]
    assert all(c.font.b for c in ws[1])
    assert ws.column_dimensions["A"].width >= len('=HYPERLINK("http://x","y")')

    deals, revenue, win_rate, closed = ws["B2"], ws["C2"], ws["D2"], ws["E2"]
    assert (deals.value, deals.data_type, deals.number_format) == (3, "n", "#,##0")
    assert (revenue.value, revenue.data_type, revenue.number_format) == (-1500.25, "n", '"KES" #,##0.00')
    assert (win_rate.value, win_rate.number_format) == (33.3, '0.0"%"')
    # 09:00 UTC written as 12:00, Nairobi's wall clock; a date stays a date
    assert (closed.value, closed.number_format) == (dt.datetime(2026, 3, 3, 12, 0), "yyyy-mm-dd hh:mm")
    assert (ws["E3"].value, ws["E3"].number_format) == (dt.datetime(2026, 3, 4, 0, 0), "yyyy-mm-dd")
    # a real negative number is a number; None is an empty cell
    assert (ws["B3"].value, ws["B3"].data_type) == (-2, "n")
    assert ws["C3"].value is None


def test_xlsx_escapes_formula_text(workbook):
    ws = workbook["Agents"]
    cells = [ws[f"A{row}"] for row in range(2, 7)]
    assert [c.value for c in cells] == ['\'=HYPERLINK("http://x","y")', "'+1", "'-2", "'@SUM(A1)", "'\tTab"]
    assert {c.data_type for c in cells} == {"s"}


def test_xlsx_draws_native_charts_from_data_on_their_sheet(workbook):
    line_sheet, bar_sheet = workbook["Overview chart"], workbook["Calls chart"]
    assert [[c.value for c in row] for row in line_sheet.iter_rows()] == [
        ["Category", "Revenue"],
        ["W1", 100],
        ["W2", None],
        ["W3", 300],
    ]
    assert line_sheet["B2"].number_format == '"KES" #,##0.00'
    (line,) = line_sheet._charts
    (bar,) = bar_sheet._charts
    assert isinstance(line, ExcelLineChart)
    assert isinstance(bar, ExcelBarChart)
    assert line.series[0].val.numRef.f == "'Overview chart'!$B$2:$B$4"
    assert bar.series[0].val.numRef.f == "'Calls chart'!$B$2:$B$3"


class Kind(str, Enum):
    FORMULA = "=1+1"


def test_xlsx_writes_unusual_values_safely():
    # given: NaN, a control character, Decimal, bool, a str subclass, a column without a format
    table = Table(
        "t",
        "T",
        ("Name", "Value", "Kind", "Flag", "Extra"),
        (
            ("bad\x01name", float("nan"), Kind.FORMULA, True, Decimal("-7.25")),
            ("ok", Decimal("12.50"), "#N/A", False, 3),
        ),
        (None, MONEY),
    )
    doc = replace(DOC, sections=(Section("s", "S", tables=(table,)),))

    # when
    ws = openpyxl.load_workbook(io.BytesIO(render_xlsx(doc)))["T"]

    # then
    assert [c.value for c in ws[2]] == ["badname", None, "'=1+1", True, -7.25]
    assert (ws["B3"].value, ws["B3"].number_format) == (12.5, '"KES" #,##0.00')
    assert (ws["C3"].value, ws["C3"].data_type) == ("#N/A", "s")  # text, not an error cell
    assert (ws["E3"].value, ws["E3"].number_format) == (3, "General")


@pytest.mark.parametrize(
    ("titles", "expected"),
    [
        (["Summary", "summary"], ["Summary", "summary (2)"]),
        (["Leads: by source [7d]?"], ["Leads by source 7d"]),
        (["A" * 40, "A" * 40], ["A" * 31, "A" * 27 + " (2)"]),
        (["History", "'quoted'", "///"], ["History table", "quoted", "Sheet"]),
    ],
)
def test_sheet_names_are_valid_and_unique(titles, expected):
    names = SheetNames()
    assert [names.claim(title) for title in titles] == expected


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_is_utf8_with_bom_raw_numbers_empty_none_and_escaped_text():
    data = render_csv(AGENTS)

    assert data.startswith(b"\xef\xbb\xbf")
    assert _csv_rows(data) == [
        ["Agent", "Deals", "Revenue", "Win rate", "Closed"],
        ['\'=HYPERLINK("http://x","y")', "3", "-1500.25", "33.3", "2026-03-03 09:00:00+00:00"],
        ["'+1", "-2", "", "", "2026-03-04"],
        ["'-2", "12000", "250000.0", "50.0", ""],
        ["'@SUM(A1)", "1", "10.0", "100.0", ""],
        ["'\tTab", "0", "0.0", "0.0", ""],
    ]


def test_csv_bundle_of_several_tables_is_a_zip_of_one_csv_each():
    data, content_type = render_csv_bundle(DOC)

    assert content_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        assert bundle.namelist() == ["overview-agents.csv", "calls-outcomes.csv"]
        assert _csv_rows(bundle.read("calls-outcomes.csv")) == [
            ["Outcome", "Calls"],
            ["Answered", "800"],
            ["Missed", "400"],
        ]
        assert _csv_rows(bundle.read("overview-agents.csv"))[1][0] == '\'=HYPERLINK("http://x","y")'


def test_csv_bundle_of_one_table_is_that_csv():
    doc = replace(DOC, sections=DOC.sections[1:])

    data, content_type = render_csv_bundle(doc)

    assert (data, content_type) == (render_csv(OUTCOMES), "text/csv")


def test_csv_bundle_names_repeated_tables_apart():
    section = Section("calls", "Calls", tables=(OUTCOMES, OUTCOMES))
    doc = replace(DOC, sections=(section,))

    with zipfile.ZipFile(io.BytesIO(render_csv_bundle(doc)[0])) as bundle:
        assert bundle.namelist() == ["calls-outcomes.csv", "calls-outcomes-2.csv"]


def test_csv_bundle_without_tables_gives_the_figures():
    section = Section("s", "Overview", figures=DOC.sections[0].figures[:3])
    doc = replace(DOC, sections=(section,))

    data, content_type = render_csv_bundle(doc)

    assert content_type == "text/csv"
    assert _csv_rows(data) == [
        ["Section", "Figure", "Value", "Change"],
        ["Overview", "Revenue", "1234567.5", "'+12.5%"],
        ["Overview", "Conversion", "42.04", "'-1.2 pts"],
        ["Overview", "Calls made", "", "—"],
    ]


def test_csv_stream_reads_rows_lazily_in_chunks():
    consumed = []

    def rows():
        for i in range(2 * CHUNK_ROWS + 1):
            consumed.append(i)
            yield (f"=x{i}" if i == 0 else f"r{i}", -i)

    # when
    stream = csv_rows_stream(("Name", "Value"), rows())
    first = next(stream)

    # then: one chunk read, not the whole iterator
    assert len(consumed) == CHUNK_ROWS
    chunks = [first, *stream]
    assert len(chunks) == 3
    parsed = _csv_rows(b"".join(chunks))
    assert len(parsed) == 2 * CHUNK_ROWS + 2
    assert parsed[:3] == [["Name", "Value"], ["'=x0", "0"], ["r1", "-1"]]
    assert parsed[-1] == [f"r{2 * CHUNK_ROWS}", f"-{2 * CHUNK_ROWS}"]


# --- SVG and PNG -------------------------------------------------------------------------------


def test_svg_is_the_chart_renderer():
    assert render_svg is charts.render_svg


def test_png_is_a_picture_of_the_chart_at_the_asked_size():
    data = render_png(CALLS_CHART)

    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert image.size == (1280, 640)
    colours = image.getcolors(maxcolors=1_000_000)
    assert len(colours) > 10  # white, the bars' blue, text and grid greys, anti-aliasing
    # the bar colour of the palette's first series (#3355d1) is drawn
    assert any(rgb == (0x33, 0x55, 0xD1) for _, rgb in colours)


def test_png_takes_other_sizes():
    image = Image.open(io.BytesIO(render_png(REVENUE_CHART, width=640, height=320)))
    assert image.size == (640, 320)
