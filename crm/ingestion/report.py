"""The row-level report every ingestion door returns (docs/ingestion.md, "Error report")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# At most this many RowErrors are kept in memory, in the result and on the ImportRun; the
# counts stay exact. A file of a million bad rows must not need a million error objects.
ERROR_SAMPLE_LIMIT = 1000
# Values echoed in a reason are cut to this many characters.
ECHO_MAX_CHARS = 60


@dataclass(frozen=True)
class RowError:
    """One problem with one row.

    `row` is the spreadsheet row number for CSV (the header is row 1, so the first data row
    is 2) and the 0-based index for JSON lists. `column` is None when the whole row is at
    fault (wrong number of cells, over the row cap) or, for a whole-file error, the header.
    """

    row: int
    column: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass(frozen=True)
class IngestResult:
    """What happened to one batch, file or delivery.

    rows_stored counts the accepted rows (new, changed and unchanged alike); rows_created and
    rows_updated say how many of them were new or changed anything. `file_error` is set when
    the input as a whole was refused (bad header, wrong encoding): then nothing was stored.
    """

    entity: str
    rows_total: int
    rows_stored: int
    rows_rejected: int
    errors: tuple[RowError, ...]
    rows_created: int = 0
    rows_updated: int = 0
    file_error: str = ""
    warnings: tuple[str, ...] = ()
    import_run_id: int | None = None

    @property
    def status(self) -> str:
        """The ImportRun status this result ends in (crm.models.ImportStatus values)."""
        if self.file_error or (self.rows_rejected and not self.rows_stored):
            return "failed"
        return "partial" if self.rows_rejected else "succeeded"


def show(value: object) -> str:
    """A user-supplied value made safe to echo in a reason: quoted, escaped, cut short.

    repr() escapes NUL and lone surrogates, which PostgreSQL text and jsonb refuse.
    """
    if isinstance(value, str) and len(value) > ECHO_MAX_CHARS:
        return repr(value[:ECHO_MAX_CHARS]) + "…"
    text = repr(value)
    return text if len(text) <= ECHO_MAX_CHARS + 2 else text[: ECHO_MAX_CHARS + 2] + "…"


@dataclass
class ErrorLog:
    """Collects RowErrors up to ERROR_SAMPLE_LIMIT while counting rejected rows exactly."""

    # Read at construction, so a test can lower the module constant.
    limit: int = field(default_factory=lambda: ERROR_SAMPLE_LIMIT)
    errors: list[RowError] = field(default_factory=list)
    rows_rejected: int = 0
    # Set when errors were dropped, so a report can say "first N of many".
    truncated: bool = False

    def reject(self, problems: list[RowError]) -> None:
        """Record the problems of one rejected row (at least one)."""
        self.rows_rejected += 1
        room = self.limit - len(self.errors)
        if room >= len(problems):
            self.errors.extend(problems)
        else:
            self.errors.extend(problems[: max(room, 0)])
            self.truncated = True
