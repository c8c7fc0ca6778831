"""Report exports (issue 13; docs/reports.md, "Formats"): B9 CSV, B10 XLSX, B11 PDF.

    .venv/bin/pip install -r requirements-bench.txt
    .venv/bin/python bench/exports.py [--csv-rows 1000000] [--xlsx-rows 100000] [--repeat 3]

No database: the rows are generated in memory, the same for both sides of each comparison.
Times are CPU seconds of this process (time.process_time: every step is CPU-bound here, and
another process on the machine does not count in them). Runs alternate A B A B ... and the
best time of each is compared: contention slows single runs, never speeds them up.

  B9   csv_rows_stream over N record rows (safe_cell on every cell, UTF-8 chunks) against a
       plain csv.writer over the same rows, both written to /dev/null; target ratio >= 0.5.
       Peak memory (tracemalloc) of the stream at N/10 and N rows: flat means equal.
  B10  render_xlsx of a report with one N-row table (typed cells, number formats, bold frozen
       header) against xlsxwriter's constant_memory mode writing the same cells with the same
       formats; target ratio >= 0.7.
  B11  render_pdf ms per page at 5 and at 40 pages, two shapes: one-page sections (figures, a
       chart, a table) and one long table breaking across pages; target 40/5 <= 1.3.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from itertools import cycle, islice
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
import xlsxwriter  # noqa: E402
from pypdf import PdfReader  # noqa: E402

import bench.bootstrap  # noqa: E402, F401  (settings for benchmarks, then django.setup())
from reports.cells import safe_cell  # noqa: E402
from reports.charts import LineChart, Point, Series, ValueFormat  # noqa: E402
from reports.document import Figure, ReportDocument, Section, Table  # noqa: E402
from reports.render import csv_rows_stream, render_pdf, render_xlsx  # noqa: E402
from reports.render.xlsx import BOLD, DATE_FORMAT, number_format  # noqa: E402

UTC = dt.UTC
MONEY = ValueFormat.money("KES")
COUNT = ValueFormat("integer")
PERCENT = ValueFormat("percent")
SOURCES = ("web", "referral", "ads", "whatsapp", "walk-in")
STATUSES = ("New", "Contacted", "Qualified", "Won", "Lost")


def timed(fn: Callable[[], object]) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


def alternate(repeat: int, **runs: Callable[[], object]) -> dict[str, float]:
    """Best seconds of each run, the runs taken in turn `repeat` times."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, fn in runs.items():
            times[name].append(timed(fn))
    return {name: min(values) for name, values in times.items()}


# --- B9: CSV -------------------------------------------------------------------------------


def record_pool(size: int = 1000) -> list[tuple]:
    """Rows shaped like the leads records export; one name in 500 looks like a formula."""
    return [
        (
            f'=HYPERLINK("http://x/{i}","y")' if i % 500 == 0 else f"Lead {i:07d}",
            SOURCES[i % 5],
            STATUSES[i % 5],
            f"Agent {i % 40}",
            i % 100,
            round(1000 + i * 0.37, 2),
            "Nairobi",
            "Retail",
            f"2026-03-{1 + i % 28:02d} 10:{i % 60:02d}",
            "" if i % 3 else "2026-03-30 12:00",
        )
        for i in range(size)
    ]


POOL = record_pool()


def record_rows(count: int) -> Iterator[tuple]:
    """`count` rows, lazily, cycling a prepared pool: making rows costs neither side anything,
    so the ratio is the writers' alone."""
    return islice(cycle(POOL), count)


HEADER = (
    "Lead",
    "Source",
    "Status",
    "Agent",
    "Score",
    "Estimated value",
    "Region",
    "Product line",
    "Created",
    "Converted",
)


def csv_plain(count: int) -> None:
    with open(os.devnull, "w", encoding="utf-8", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(HEADER)
        writer.writerows(record_rows(count))


def csv_stream(count: int) -> None:
    with open(os.devnull, "wb") as sink:
        for chunk in csv_rows_stream(HEADER, record_rows(count)):
            sink.write(chunk)


def peak_bytes(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def bench_csv(rows: int, repeat: int) -> None:
    medians = alternate(repeat, plain=lambda: csv_plain(rows), stream=lambda: csv_stream(rows))
    small, large = peak_bytes(lambda: csv_stream(rows // 10)), peak_bytes(lambda: csv_stream(rows))
    print(
        f"B9  CSV {rows:,} rows: csv.writer {medians['plain']:.2f} s, csv_rows_stream {medians['stream']:.2f} s, "
        f"ratio {medians['plain'] / medians['stream']:.2f} (target >= 0.5); "
        f"peak memory {small / 1e6:.1f} MB at {rows // 10:,} rows, {large / 1e6:.1f} MB at {rows:,}"
    )


# --- B10: XLSX -----------------------------------------------------------------------------

XLSX_HEADER = ("Agent", "Source", "Deals", "Revenue", "Win rate", "Closed", "Calls", "Region")
XLSX_FORMATS = (None, None, COUNT, MONEY, PERCENT, None, COUNT, None)


def table_rows(count: int) -> tuple[tuple, ...]:
    day = dt.date(2026, 1, 1)
    return tuple(
        (
            f"Agent {i}",
            SOURCES[i % 5] if i % 1000 else "=cmd|' /C calc'!A0",
            i % 50,
            round(100 + i * 1.37, 2),
            round(i % 1000 / 10, 1),
            day + dt.timedelta(days=i % 300),
            None if i % 7 == 0 else i % 400,
            "Nairobi",
        )
        for i in range(count)
    )


def report_of(sections: tuple[Section, ...]) -> ReportDocument:
    return ReportDocument(
        title="Bench report",
        organization="Bench Ltd",
        timezone="Africa/Nairobi",
        currency="KES",
        range_label="March 2026",
        start=dt.datetime(2026, 2, 28, 21, tzinfo=UTC),
        end=dt.datetime(2026, 3, 31, 21, tzinfo=UTC),
        generated_at=dt.datetime(2026, 4, 1, 6, tzinfo=UTC),
        sections=sections,
    )


def xlsxwriter_same(rows: tuple[tuple, ...]) -> bytes:
    """What render_xlsx writes for the table, with xlsxwriter: same cells, formats, header."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    sheet = book.add_worksheet("Agents")
    formats = [book.add_format({"num_format": number_format(f)}) if f else None for f in XLSX_FORMATS]
    date = book.add_format({"num_format": DATE_FORMAT})
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, XLSX_HEADER, book.add_format({"bold": BOLD.b}))
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(r, c, safe_cell(value))
            elif isinstance(value, dt.date):
                sheet.write_datetime(r, c, value, date)
            else:
                sheet.write_number(r, c, value, formats[c])
    book.close()
    return out.getvalue()


def bench_xlsx(count: int, repeat: int) -> None:
    rows = table_rows(count)
    doc = report_of(
        (Section("agents", "Agents", tables=(Table("agents", "Agents", XLSX_HEADER, rows, XLSX_FORMATS),)),)
    )
    medians = alternate(repeat, xlsxwriter=lambda: xlsxwriter_same(rows), openpyxl=lambda: render_xlsx(doc))
    print(
        f"B10 XLSX {count:,} rows: xlsxwriter constant_memory {medians['xlsxwriter']:.2f} s, "
        f"render_xlsx {medians['openpyxl']:.2f} s, ratio {medians['xlsxwriter'] / medians['openpyxl']:.2f} "
        "(target >= 0.7)"
    )


# --- B11: PDF ------------------------------------------------------------------------------


def page_section(index: int) -> Section:
    """About one page: three figures, a 12-week line chart, a 14-row table."""
    weeks = tuple(Point(f"W{w}", 1000 + 37 * w * (index + 1) % 900) for w in range(1, 13))
    rows = tuple((f"Agent {r}", r * 3, 1500.5 * r, r * 4.5 % 100) for r in range(14))
    return Section(
        f"s{index}",
        f"Section {index}",
        figures=(
            Figure("revenue", "Revenue", 123456.5 + index, MONEY, "+4.2%", "good"),
            Figure("conversion", "Conversion", 31.4, PERCENT, "-1.0 pts", "bad"),
            Figure("calls", "Calls", 812 + index, COUNT, "+2.0%", "good"),
        ),
        charts=(LineChart("Revenue by week", (Series("Revenue", weeks),), MONEY),),
        tables=(
            Table(
                "agents",
                "Agents",
                ("Agent", "Deals", "Revenue", "Win rate"),
                rows,
                (None, COUNT, MONEY, PERCENT),
            ),
        ),
    )


def long_table(rows: int) -> tuple[Section, ...]:
    body = tuple((f"Agent {r}", r, 100.25 * r, r % 100 / 1.0) for r in range(rows))
    table = Table(
        "agents", "Agents", ("Agent", "Deals", "Revenue", "Win rate"), body, (None, COUNT, MONEY, PERCENT)
    )
    return (Section("table", "Table", tables=(table,)),)


def pages_of(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def fit(make: Callable[[int], ReportDocument], target: int, guess: int) -> tuple[ReportDocument, int]:
    """A document of about `target` pages: scaled from a first render, then grown to reach it."""
    pages = pages_of(render_pdf(make(guess)))
    size = max(1, round(guess * target / pages))
    while True:
        doc = make(size)
        pages = pages_of(render_pdf(doc))
        if pages >= target:
            return doc, pages
        size += max(1, size // 40)


def bench_pdf(repeat: int) -> None:
    shapes = {
        "one-page sections": (lambda n: report_of(tuple(page_section(i) for i in range(n))), 4),
        "one long table": (lambda n: report_of(long_table(n)), 200),
    }
    for shape, (make, guess) in shapes.items():
        (small, small_pages), (large, large_pages) = fit(make, 5, guess), fit(make, 40, guess)
        best = alternate(repeat, small=partial(render_pdf, small), large=partial(render_pdf, large))
        per_page = {"small": best["small"] * 1000 / small_pages, "large": best["large"] * 1000 / large_pages}
        for name, pages in (("small", small_pages), ("large", large_pages)):
            print(
                f"B11 PDF {shape}: {pages} pages in {best[name] * 1000:.0f} ms = {per_page[name]:.1f} ms/page"
            )
        print(
            f"B11 PDF {shape}: ms/page at 40 / at 5 = {per_page['large'] / per_page['small']:.2f} (target <= 1.3)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=("csv", "xlsx", "pdf"))
    args = parser.parse_args()
    if args.only in (None, "csv"):
        bench_csv(args.csv_rows, args.repeat)
    if args.only in (None, "xlsx"):
        bench_xlsx(args.xlsx_rows, args.repeat)
    if args.only in (None, "pdf"):
        bench_pdf(args.repeat)


if __name__ == "__main__":
    main()
