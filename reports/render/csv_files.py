"""CSV: one table per file, several tables in a zip, and a stream for exports of any size.

Cells are raw values (numbers unformatted, None empty), every one through `safe_cell`.
Files start with a UTF-8 byte order mark: without it Excel reads UTF-8 as the local code page
and "Nairobi – Ksh" turns into mojibake.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from django.utils.text import slugify

from reports.cells import safe_cell, safe_rows
from reports.document import ReportDocument, Table

BOM = "\ufeff"
# Rows written between two yields of the stream: a chunk of a few hundred kilobytes keeps
# memory flat and makes the per-yield cost (encode, the response's write) vanish.
CHUNK_ROWS = 2000


def csv_rows_stream(
    header: Iterable[Any], rows: Iterable[Iterable[Any]], *, bom: bool = True
) -> Iterator[bytes]:
    """UTF-8 CSV in chunks: `header`, then `rows` consumed lazily (a queryset iterator, a
    generator), so a million-row export holds one chunk in memory at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if bom:
        buffer.write(BOM)
    writer.writerow(map(safe_cell, header))
    remaining = iter(rows)
    while chunk := list(islice(remaining, CHUNK_ROWS)):
        # The csv module writes None as an empty field.
        writer.writerows(safe_rows(chunk))
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def render_csv(table: Table) -> bytes:
    """One table as a CSV file (UTF-8 with BOM)."""
    return b"".join(csv_rows_stream(table.header, table.rows))


def _figures_table(doc: ReportDocument) -> Table:
    # A report without tables still has its figures: one row per figure, raw values.
    rows = tuple(
        (section.title, figure.label, figure.value, figure.change)
        for section in doc.sections
        for figure in section.figures
    )
    return Table("figures", "Figures", ("Section", "Figure", "Value", "Change"), rows)


def _member_names(doc: ReportDocument) -> list[str]:
    """`<section>-<table>.csv` for each table, slugified and made unique (`-2`, `-3`, ...)."""
    names: list[str] = []
    taken: set[str] = set()
    for section, table in doc.tables():
        stem = f"{slugify(section.key) or 'section'}-{slugify(table.key) or 'table'}"
        name, n = stem, 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name)
        names.append(f"{name}.csv")
    return names


def render_csv_bundle(doc: ReportDocument) -> tuple[bytes, str]:
    """The report's tables as CSV, with the content type: one table is one CSV file, several
    are a zip of one CSV per table; a report without tables gives the CSV of its figures."""
    tables = doc.tables()
    if not tables:
        return render_csv(_figures_table(doc)), "text/csv"
    if len(tables) == 1:
        return render_csv(tables[0][1]), "text/csv"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, (_, table) in zip(_member_names(doc), tables, strict=True):
            bundle.writestr(name, render_csv(table))
    return archive.getvalue(), "application/zip"
