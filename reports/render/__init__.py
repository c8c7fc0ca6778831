"""One `ReportDocument`, every format (docs/reports.md, "Formats").

    render_pdf(doc, progress=None) -> bytes      cover, sections, charts, tables, page numbers
    render_xlsx(doc) -> bytes                    Summary sheet, a sheet per table, native charts
    render_csv(table) -> bytes                   one table, UTF-8 with BOM
    render_csv_bundle(doc) -> (bytes, type)      one CSV, or a zip of one CSV per table
    csv_rows_stream(header, rows) -> chunks      any number of rows, memory flat
    render_svg(chart) / render_png(chart)        one chart

Every CSV and XLSX cell goes through `reports.cells.safe_cell`.
"""

from reports.charts import render_svg

from .csv_files import csv_rows_stream, render_csv, render_csv_bundle
from .images import render_png
from .pdf import render_pdf
from .xlsx import render_xlsx

__all__ = [
    "csv_rows_stream",
    "render_csv",
    "render_csv_bundle",
    "render_pdf",
    "render_png",
    "render_svg",
    "render_xlsx",
]
