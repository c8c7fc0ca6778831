"""Turning a batch of raw rows into typed columns plus the problems of the bad rows.

Pure Python, no database, so the CSV door can run it in a read-ahead thread. Work is done
column by column (cells.parse_column) because the C-level column paths are several times
faster than a function call per cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crm.ingestion.cells import bad_char_reason, parse_column
from crm.ingestion.dedup import SeenKeys
from crm.ingestion.report import RowError, show
from crm.ingestion.schemas import EntitySpec


@dataclass
class RawBatch:
    """Rows as read: their numbers, their cells, and rows refused before being split."""

    row_numbers: list[int]
    cells: list[Sequence[Any]]
    # (row number, reason): a CSV row the csv module could not read, the first row over the
    # row cap, or a JSON item that is not an object.
    malformed: list[tuple[int, str]] = field(default_factory=list)
    bytes_read: int = 0


@dataclass
class ParsedBatch:
    """The candidate rows of a batch as columns (spec.fields), and the problems found so far.

    `columns` and `row_numbers` cover the rows that passed the row-level checks; a
    candidate whose row number is in `problems` is rejected when the batch is written.
    """

    row_numbers: list[int]
    columns: dict[str, list[Any]]
    problems: dict[int, list[RowError]] = field(default_factory=dict)
    rows_seen: int = 0
    bytes_read: int = 0

    def reject(self, row: int, column: str | None, reason: str) -> None:
        self.problems.setdefault(row, []).append(RowError(row, column, reason))

    def accepted(self) -> tuple[list[int], dict[str, list[Any]]]:
        """Row numbers and columns restricted to the rows without problems."""
        if not self.problems:
            return self.row_numbers, self.columns
        keep = [index for index, row in enumerate(self.row_numbers) if row not in self.problems]
        return (
            [self.row_numbers[index] for index in keep],
            {name: [values[index] for index in keep] for name, values in self.columns.items()},
        )

    def sorted_problems(self) -> list[list[RowError]]:
        return [self.problems[row] for row in sorted(self.problems)]


class BatchParser:
    """Parses successive batches of one input: a CSV file or one list of records.

    positions maps each column present in the input to its index in a row's cells; `width`
    (CSV) is the number of cells every row must have. Duplicate external_ids are tracked
    across the batches of one parser; `row_label` ("row" or "index") names their position.
    """

    def __init__(
        self, spec: EntitySpec, *, positions: dict[str, int], width: int | None, row_label: str
    ) -> None:
        self.spec = spec
        self.positions = positions
        self.width = width
        self.row_label = row_label
        self.seen = SeenKeys()
        self._checked = [
            (column.name, positions[column.name]) for column in spec.columns if column.name in positions
        ]

    def parse(self, raw: RawBatch, *, check_chars: bool) -> ParsedBatch:
        batch = ParsedBatch(
            row_numbers=[],
            columns={},
            rows_seen=len(raw.row_numbers) + len(raw.malformed),
            bytes_read=raw.bytes_read,
        )
        for row, reason in raw.malformed:
            batch.reject(row, None, reason)
        row_numbers, cells = raw.row_numbers, raw.cells
        if check_chars or (self.width is not None and set(map(len, cells)) - {self.width}):
            row_numbers, cells = self._row_checks(batch, row_numbers, cells, check_chars=check_chars)
        batch.row_numbers = row_numbers
        if cells:
            # Every candidate has the same number of cells: checked above (CSV) or built so (JSON).
            raw_columns = list(zip(*cells))  # noqa: B905
            self._parse_columns(batch, raw_columns)
            self._find_duplicates(batch)
        return batch

    def _row_checks(
        self, batch: ParsedBatch, row_numbers: list[int], cells: list[Sequence[Any]], *, check_chars: bool
    ) -> tuple[list[int], list[Sequence[Any]]]:
        kept_rows: list[int] = []
        kept_cells: list[Sequence[Any]] = []
        for row, row_cells in zip(row_numbers, cells, strict=True):
            if self.width is not None and len(row_cells) != self.width:
                batch.reject(
                    row,
                    None,
                    f"has {len(row_cells)} cells but the header has {self.width} (a stray delimiter or quote?)",
                )
                continue
            ok = True
            if check_chars:
                for name, position in self._checked:
                    value = row_cells[position]
                    reason = bad_char_reason(value) if value else None
                    if reason:
                        batch.reject(row, name, reason)
                        ok = False
            if ok:
                kept_rows.append(row)
                kept_cells.append(row_cells)
        return kept_rows, kept_cells

    def _parse_columns(self, batch: ParsedBatch, raw_columns: list[tuple[Any, ...]]) -> None:
        rows = batch.row_numbers
        count = len(rows)
        for column in self.spec.columns:
            position = self.positions.get(column.name)
            if position is None:
                values: list[Any] = [column.default] * count
            else:
                raws = raw_columns[position]
                text = _as_text(raws)
                if text is None:
                    values, reasons = parse_column(column.kind, raws, all_text=False)
                else:
                    values, reasons = parse_column(column.kind, text, all_text=True)
                for index, reason in reasons.items():
                    batch.reject(rows[index], column.name, reason)
                if column.required and None in values:
                    for index, value in enumerate(values):
                        if value is None and index not in reasons:
                            batch.reject(rows[index], column.name, "is required")
                if column.default is not None and None in values:
                    default = column.default
                    values = [default if value is None else value for value in values]
            if len(column.fields) == 1:
                batch.columns[column.fields[0]] = values
            else:
                for name, split in zip(column.fields, zip(*values, strict=True), strict=True):
                    batch.columns[name] = list(split)
        for check in self.spec.checks:
            for index, column_name, reason in check(batch.columns):
                batch.reject(rows[index], column_name, reason)

    def _find_duplicates(self, batch: ParsedBatch) -> None:
        label = self.row_label
        keys = batch.columns["external_id"]
        # dict() keeps the last value given for a key; feeding rows in reverse keeps the first.
        first_in_batch = dict(zip(reversed(keys), reversed(batch.row_numbers), strict=True))
        first_in_batch.pop(None, None)
        if len(first_in_batch) + keys.count(None) != len(keys):
            for row, key in zip(batch.row_numbers, keys, strict=True):
                if key is not None and first_in_batch[key] != row:
                    batch.reject(
                        row,
                        "external_id",
                        f"duplicate external_id {show(key)} (first at {label} {first_in_batch[key]})",
                    )
        ordered = list(first_in_batch)
        earlier = self.seen.first_rows(ordered)
        new_keys: list[str] = []
        new_rows: list[int] = []
        for key, first in zip(ordered, earlier, strict=True):
            row = first_in_batch[key]
            if first is None:
                new_keys.append(key)
                new_rows.append(row)
            else:
                batch.reject(
                    row, "external_id", f"duplicate external_id {show(key)} (first at {label} {first})"
                )
        self.seen.add(new_keys, new_rows)


def _as_text(raws: tuple[Any, ...]) -> Sequence[str] | None:
    """The column as str cells (None read as empty) when it is all text, else None."""
    types = set(map(type, raws))
    if types <= {str}:
        return raws
    if types <= {str, type(None)}:
        return ["" if raw is None else raw for raw in raws]
    return None
