"""Ingestion: one service behind three doors (CSV command, REST batch API, signed webhook).

Public interface (other modules import only these names); docs/ingestion.md is the contract:

- ENTITIES: the entity names of DESIGN section 5.
- RowError(row, column, reason) and IngestResult(entity, rows_total, rows_stored,
  rows_rejected, errors, ...): the row-level report.
- ingest_records(*, organization, entity, records, first_row=1, progress=None, door=None,
  started_by=None) -> IngestResult
- ingest_csv(*, organization, entity, stream, filename="", started_by=None, door="csv",
  progress=None, import_run=None, delimiter=None) -> IngestResult
- csv_file_refusal(*, entity, stream, delimiter=None) -> str | None: why ingest_csv would
  refuse the file as a whole (its `file_error`), from the file's head; None when it would not.

The webhook door's signing helper lives in crm.ingestion.webhooks (sign, verify).
"""

from crm.ingestion.report import IngestResult, RowError
from crm.ingestion.schemas import ENTITIES
from crm.ingestion.service import csv_file_refusal, ingest_csv, ingest_records

__all__ = ["ENTITIES", "IngestResult", "RowError", "csv_file_refusal", "ingest_csv", "ingest_records"]
