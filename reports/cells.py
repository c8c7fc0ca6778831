"""Spreadsheet cells that cannot run: OWASP's rule against CSV (formula) injection.

A spreadsheet treats a text cell starting with `=`, `+`, `-` or `@` as a formula, and a
leading tab or carriage return can hide one, so a lead named `=HYPERLINK("http://x","y")`
would open as a live link. Such text gets a leading single quote, which the spreadsheet
shows and never evaluates. Numbers, dates and None pass untouched: a real negative number
stays a number.

Every CSV and XLSX writer goes through `safe_cell` (docs/reports.md, "Formats"). It sits on
the hot path of million-row exports, so it is one type check and one set lookup, no regex;
`safe_rows` applies it to a block of rows and skips, at C speed, the columns that cannot
need it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import repeat
from typing import Any

# The first characters a spreadsheet may read as the start of a formula (OWASP).
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
_TRIGGER_PREFIXES = tuple(FORMULA_TRIGGERS)
# Column types safe_cell never changes.
_INERT_TYPES = frozenset({int, float, bool, Decimal, dt.date, dt.datetime, type(None)})
_TEXT_TYPES = (frozenset({str}), frozenset({str, type(None)}))


def safe_cell(value: Any) -> Any:
    """`value`, with a `'` in front if it is text that a spreadsheet would read as a formula."""
    if isinstance(value, str) and value[:1] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def _column_is_safe(column: tuple[Any, ...]) -> bool:
    """True when safe_cell would change no cell of the column, found without a Python call per
    cell: numbers only, or plain text (and None) of which no cell starts with a trigger."""
    kinds = frozenset(map(type, column))
    if kinds <= _INERT_TYPES:
        return True
    if kinds in _TEXT_TYPES:
        # filter(None, ...) drops None and "" (neither can start with a trigger).
        return not any(map(str.startswith, filter(None, column), repeat(_TRIGGER_PREFIXES)))
    return False


def safe_rows(rows: Sequence[Sequence[Any]]) -> Iterable[Sequence[Any]]:
    """`safe_cell` on every cell of a block of rows (a CSV writer's chunk).

    Column by column: a column that cannot need it is proven so in C (the types present, then
    `str.startswith` over its text) and left as it is; only the other columns pay a call per
    cell. Ragged rows take the plain per-cell path.
    """
    if not rows or len(frozenset(map(len, rows))) != 1:
        return [list(map(safe_cell, row)) for row in rows]
    columns = list(zip(*rows, strict=True))
    changed = False
    for index, column in enumerate(columns):
        if not _column_is_safe(column):
            columns[index] = tuple(map(safe_cell, column))
            changed = True
    return zip(*columns, strict=True) if changed else rows
