"""Reading an uploaded or local CSV file as a stream of numbered rows.

The file is never held in memory: bytes flow through a counting source, a 1 MiB buffer,
the UTF-8 decoder and the csv module. What the reader decides (docs/ingestion.md, "CSV
files"):

- encoding: UTF-8, with or without a BOM. The first ENCODING_SNIFF_BYTES decide: the magic
  number of another kind of file (a workbook, a PDF, an image, an archive), a UTF-16/32 BOM,
  many NUL bytes or bytes that are not UTF-8 there refuse the whole file. A few NUL bytes,
  or bad bytes further down, only reject the rows that hold them (they are decoded with
  surrogateescape and the rows are checked once the source has seen such bytes).
- delimiter: `,`, `;`, tab or `|`, whichever splits the header into the most known column
  names (or the one given).
- header: names are matched without regard to case and spaces; a missing required column
  or a repeated column refuses the file; unknown columns are ignored with a warning.
- rows: numbered as a spreadsheet shows the file (header = row 1); blank lines and rows of
  empty cells are skipped but keep their number; a quoted cell may span lines.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import IO

from crm.ingestion.report import RowError, show
from crm.ingestion.schemas import EntitySpec
from crm.ingestion.validation import RawBatch

# Small enough to answer quickly about a wrong file, big enough to hold any header.
ENCODING_SNIFF_BYTES = 64 * 1024
READ_BUFFER_BYTES = 1024 * 1024
# Larger files should be split; the cap bounds an import's run time, not its memory.
MAX_CSV_ROWS = 5_000_000
DELIMITERS = (",", ";", "\t", "|")
UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Files uploaded as CSV by mistake, told by their first bytes (magic numbers).
BINARY_SIGNATURES = (
    (b"PK\x03\x04", "an Excel workbook or a zip file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) or Office file"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
)
SAVE_AS_UTF8 = "Save it as UTF-8 (in Excel: File > Save As > CSV UTF-8) and import it again."


class CsvFileError(Exception):
    """The file as a whole is refused; nothing was stored. The message is for the user."""

    def __init__(self, message: str, *, errors: tuple[RowError, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class _MeteredSource(io.RawIOBase):
    """The bytes under the decoder: counts them and notices any that are not clean UTF-8."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._stream = stream
        self.bytes_read = 0
        # Set once a NUL or a non-UTF-8 byte has gone by: rows are checked from then on.
        self.dirty = b"\x00" in head
        self._checker = codecs.getincrementaldecoder("utf-8")()
        self._checker.decode(head)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
        else:
            chunk = self._stream.read(len(buffer))
            size = len(chunk)
            buffer[:size] = chunk
            if not self.dirty:
                self._inspect(chunk)
        self.bytes_read += size
        return size

    def _inspect(self, chunk: bytes) -> None:
        if b"\x00" in chunk:
            self.dirty = True
            return
        if chunk.isascii() and not self._checker.getstate()[0]:
            return
        try:
            self._checker.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            self.dirty = True


class CsvSource:
    """An opened CSV file of one entity: its header, then its rows in order."""

    def __init__(self, stream: IO[bytes], spec: EntitySpec, *, delimiter: str | None = None) -> None:
        head = stream.read(ENCODING_SNIFF_BYTES)
        if not isinstance(head, bytes):
            raise TypeError("ingest_csv needs a binary stream (open the file with 'rb').")
        _check_encoding(head, at_end=len(head) < ENCODING_SNIFF_BYTES)
        self.spec = spec
        self.delimiter = delimiter or _detect_delimiter(head, spec)
        self._source = _MeteredSource(head, stream)
        text = io.TextIOWrapper(
            io.BufferedReader(self._source, buffer_size=READ_BUFFER_BYTES),
            encoding="utf-8-sig",
            errors="surrogateescape",
            newline="",
        )
        self._reader = csv.reader(text, delimiter=self.delimiter)
        self.header_row = 0
        header: list[str] = []
        try:
            for cells in self._reader:
                self.header_row += 1
                if any(cell.strip() for cell in cells):
                    header = [cell.strip().lower() for cell in cells]
                    break
        except csv.Error as exc:
            # A data row that cannot be read is that row's error; without a header, no row is.
            raise CsvFileError(
                f"The header row cannot be read as CSV ({exc}): the first row must be the column names."
            ) from None
        self.header = header
        self.positions, self.warnings = _check_header(header, spec, self.header_row)
        self.width = len(header)
        self.truncated = False

    @property
    def bytes_read(self) -> int:
        return self._source.bytes_read

    @property
    def dirty(self) -> bool:
        return self._source.dirty

    def batches(self, size: int, *, max_rows: int | None = None) -> Iterator[RawBatch]:
        """The non-blank rows in batches of `size`; stops after max_rows data rows."""
        limit = MAX_CSV_ROWS if max_rows is None else max_rows
        reader = self._reader
        row = self.header_row
        data_rows = 0
        batch = RawBatch([], [])
        while True:
            try:
                # A plain for loop: the per-row cost here is most of the csv module's own.
                for cells in reader:
                    row += 1
                    if not cells or not (cells[0] or any(cells)):
                        continue
                    data_rows += 1
                    if data_rows > limit:
                        self.truncated = True
                        batch.malformed.append(
                            (
                                row,
                                (
                                    f"over the limit of {limit:,} data rows: this row and the rest of the file were "
                                    "not imported; split the file"
                                ),
                            )
                        )
                        break
                    batch.row_numbers.append(row)
                    batch.cells.append(cells)
                    if len(batch.row_numbers) >= size:
                        batch.bytes_read = self.bytes_read
                        yield batch
                        batch = RawBatch([], [])
                break
            except csv.Error as exc:
                row += 1
                data_rows += 1
                batch.malformed.append((row, f"cannot be read as CSV: {exc}"))
                if len(batch.malformed) + len(batch.row_numbers) >= size:
                    batch.bytes_read = self.bytes_read
                    yield batch
                    batch = RawBatch([], [])
        if batch.row_numbers or batch.malformed:
            batch.bytes_read = self.bytes_read
            yield batch


def _check_encoding(head: bytes, *, at_end: bool) -> None:
    if not head.strip(codecs.BOM_UTF8 + b" \t\r\n"):
        raise CsvFileError("The file is empty: the first row must be the header with the column names.")
    if head.startswith(UTF32_BOMS):
        raise CsvFileError(f"The file is encoded as UTF-32, not UTF-8. {SAVE_AS_UTF8}")
    if head.startswith(UTF16_BOMS):
        raise CsvFileError(f"The file is encoded as UTF-16, not UTF-8. {SAVE_AS_UTF8}")
    for signature, kind in BINARY_SIGNATURES:
        if head.startswith(signature):
            raise CsvFileError(f"This is {kind}, not a CSV file. Export the data as CSV UTF-8.")
    if head.count(b"\x00") * 4 > len(head):
        raise CsvFileError(f"The file looks like UTF-16 or binary data, not UTF-8 text. {SAVE_AS_UTF8}")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=at_end)
    except UnicodeDecodeError as exc:
        raise CsvFileError(
            f"The file is not UTF-8 text: byte 0x{head[exc.start]:02X} at offset {exc.start} is not UTF-8 "
            f"(files saved as Latin-1 or Windows-1252 do this). {SAVE_AS_UTF8}"
        ) from None


def _detect_delimiter(head: bytes, spec: EntitySpec) -> str:
    text = head.decode("utf-8-sig", errors="replace")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    known = set(spec.column_names)

    def score(delimiter: str) -> tuple[int, int]:
        names = next(csv.reader([first_line], delimiter=delimiter), [])
        return sum(name.strip().lower() in known for name in names), len(names)

    # Ties go to the comma, the first candidate (max keeps the first maximum).
    return max(DELIMITERS, key=score)


def _check_header(
    header: list[str], spec: EntitySpec, header_row: int
) -> tuple[dict[str, int], tuple[str, ...]]:
    if not header:
        raise CsvFileError("The file is empty: the first row must be the header with the column names.")
    known = set(spec.column_names)
    positions: dict[str, int] = {}
    repeated: list[str] = []
    unknown: list[str] = []
    for position, name in enumerate(header):
        if name not in known:
            unknown.append(name)
        elif name in positions:
            repeated.append(name)
        else:
            positions[name] = position
    missing = [name for name in spec.required_columns if name not in positions]
    errors = tuple(
        RowError(header_row, name, "column appears more than once in the header") for name in repeated
    )
    errors += tuple(
        RowError(header_row, name, "required column is missing from the header") for name in missing
    )
    if errors:
        parts = []
        if missing:
            parts.append(f"missing required column(s): {', '.join(missing)}")
        if repeated:
            parts.append(f"repeated column(s): {', '.join(repeated)}")
        found = ", ".join(show(name) for name in header[:20])
        raise CsvFileError(
            f"The header of the {spec.name} file is not usable: {'; '.join(parts)}. "
            f"Expected columns: {', '.join(spec.column_names)}. Found: {found}.",
            errors=errors,
        )
    warnings: tuple[str, ...] = ()
    if unknown:
        shown = ", ".join(show(name) if name else "(unnamed)" for name in unknown[:20])
        warnings = (f"Unknown column(s) ignored: {shown}.",)
    return positions, warnings
