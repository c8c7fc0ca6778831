"""Ingestion: one service behind three doors (CSV command, REST batch API, signed webhook).

Public interface (other modules import only these names):

- ENTITIES: the entity names of DESIGN section 5.
- RowError(row, column, reason) and IngestResult(entity, rows_total, rows_stored,
  rows_rejected, errors): the row-level report.
- ingest_records(*, organization, entity, records, first_row=1, progress=None) -> IngestResult
- ingest_csv(*, organization, entity, stream, filename="", started_by=None, door="csv",
  progress=None) -> IngestResult
"""
