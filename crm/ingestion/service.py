"""The one ingestion service behind the three doors (DESIGN section 5, docs/ingestion.md).

Each batch of up to BATCH_SIZE rows is parsed, its references resolved (one query per
referenced entity), and its good rows upserted in one transaction together with the
ImportRun's counters. A batch commits on its own, so a crash halfway keeps what was
stored and a re-run (idempotent upsert) finishes the job. The organization's cache
version is bumped after each commit that changed rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any, TypeVar

from django.db import transaction
from django.utils import timezone

from crm import last_touch
from crm.events import SALE_ATTRIBUTION, Ingested, data_ingested
from crm.ingestion.csv_reader import CsvFileError, CsvSource
from crm.ingestion.readahead import read_ahead
from crm.ingestion.references import reference_target
from crm.ingestion.report import ErrorLog, IngestResult, RowError, show
from crm.ingestion.schemas import EntitySpec, entity_spec
from crm.ingestion.validation import BatchParser, ParsedBatch, RawBatch
from crm.ingestion.writers import upsert_batch
from crm.models import ImportRun, ImportStatus, Member, Organization

# Rows per transaction. Each batch pays fixed costs (a staging table, one anti-join per
# reference, a commit): profiled at ~13% of a 200k-row import with 5,000-row batches and
# ~2% with 20,000. A batch's columns stay around 10 MB; read-ahead holds at most three.
BATCH_SIZE = 10_000
# How many distinct unknown field names a JSON batch reports.
UNKNOWN_FIELDS_SHOWN = 20

Progress = Callable[[int, int], None]
T = TypeVar("T")


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass
class _Tally:
    """Running totals of one ingestion."""

    entity: str
    rows_total: int = 0
    rows_stored: int = 0
    rows_created: int = 0
    rows_updated: int = 0
    bytes_read: int = 0
    log: ErrorLog = field(default_factory=ErrorLog)

    def result(self, *, warnings: tuple[str, ...] = (), import_run_id: int | None = None) -> IngestResult:
        if self.log.truncated:
            warnings += (
                f"Only the first {len(self.log.errors)} errors are listed; "
                f"{self.log.rows_rejected} rows were rejected in all.",
            )
        return IngestResult(
            entity=self.entity,
            rows_total=self.rows_total,
            rows_stored=self.rows_stored,
            rows_rejected=self.log.rows_rejected,
            errors=tuple(self.log.errors),
            rows_created=self.rows_created,
            rows_updated=self.rows_updated,
            warnings=warnings,
            import_run_id=import_run_id,
        )


# The business time of each entity's rows, which listeners use to mark their rollups stale.
# A lead is handled when assigned, else when created, so both bound its day.
TIME_FIELDS = {
    "contacts": ("created_at",),
    "leads": ("assigned_at", "created_at"),
    "activities": ("occurred_at",),
    "sales": ("closed_at",),
    "campaigns": ("started_at",),
    "campaign_messages": ("sent_at",),
    "touchpoints": ("occurred_at",),
    "messages": ("sent_at",),
    "quotes": ("quoted_at", "decided_at"),
    "competitor_prices": ("observed_at",),
    "price_history": ("effective_at",),
}


def _time_span(entity: str, columns: dict[str, list[Any]]) -> tuple[Any, Any]:
    moments = [m for name in TIME_FIELDS.get(entity, ()) for m in columns.get(name, ()) if m is not None]
    return (min(moments), max(moments)) if moments else (None, None)


def _attribution_changed(organization_id: int, changed: last_touch.LastTouchChange | None) -> None:
    """Sales whose derived last-touch campaign changed: their closing days, which a
    touchpoint's or lead's own timestamps do not always cover (a touchpoint moved away from
    a lead changes that lead's later sales)."""
    if changed is not None and changed.rows:
        data_ingested(
            Ingested(
                organization_id,
                SALE_ATTRIBUTION,
                changed.first_closed_at,
                changed.last_closed_at,
                changed.rows,
            )
        )


# Entities a single edit (the Django admin) can change, by model: the ingestion's names.
EDITED_ENTITIES = {
    "contact": "contacts",
    "lead": "leads",
    "activity": "activities",
    "sale": "sales",
    "campaign": "campaigns",
    "campaignmessage": "campaign_messages",
    "touchpoint": "touchpoints",
    "chatmessage": "messages",
    "product": "products",
    "quote": "quotes",
    "competitorprice": "competitor_prices",
    "pricehistory": "price_history",
}


def rows_edited(*, organization_id: int, entity: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """What ingestion does after storing rows, for rows written another way (the Django
    admin's save and delete): `rows` are the versions before and after (field attnames).
    The families they feed are marked stale from the earliest business time of any version,
    the derived last-touch campaign of the sales they can affect is recomputed, and cached
    answers end after commit."""
    rows = list(rows)
    moments = [row[name] for row in rows for name in TIME_FIELDS.get(entity, ()) if row.get(name) is not None]
    with transaction.atomic():
        data_ingested(
            Ingested(
                organization_id, entity, min(moments, default=None), max(moments, default=None), len(rows)
            )
        )
        if entity in last_touch.ENTITIES:
            ids = {
                "sales": {"sale_ids": [row["id"] for row in rows]},
                # a lead's sales: its contact is theirs when they have none of their own
                "leads": {"lead_ids": [row["id"] for row in rows]},
                "touchpoints": {
                    "lead_ids": [row["lead_id"] for row in rows],
                    "contact_ids": [row["contact_id"] for row in rows],
                },
            }[entity]
            changed = last_touch.sales_last_touch_recompute(organization_id=organization_id, **ids)
            _attribution_changed(organization_id, changed)


def _error_dicts(errors: Iterable[RowError]) -> list[dict[str, Any]]:
    return [error.as_dict() for error in errors]


def _store_batch(
    *, organization: Organization, spec: EntitySpec, batch: ParsedBatch, tally: _Tally, run: ImportRun | None
) -> None:
    row_numbers, columns = batch.accepted()
    errors_before = len(tally.log.errors)
    with transaction.atomic():
        written = upsert_batch(
            spec=spec, organization_id=organization.pk, row_numbers=row_numbers, columns=columns
        )
        if written.created or written.updated:
            first_at, last_at = _time_span(spec.name, columns)
            data_ingested(
                Ingested(organization.pk, spec.name, first_at, last_at, written.created + written.updated)
            )
        _attribution_changed(organization.pk, written.attribution)
        for row, name, key in written.unknown:
            batch.reject(row, name, reference_target(spec.column(name)).unknown_reason(show(key)))
        tally.rows_total += batch.rows_seen
        tally.rows_stored += len(row_numbers) - len({row for row, _, _ in written.unknown})
        tally.rows_created += written.created
        tally.rows_updated += written.updated
        tally.bytes_read = max(tally.bytes_read, batch.bytes_read)
        for problems in batch.sorted_problems():
            tally.log.reject(problems)
        if run is not None:
            changes: dict[str, Any] = {
                "rows_total": tally.rows_total,
                "rows_stored": tally.rows_stored,
                "rows_rejected": tally.log.rows_rejected,
                "bytes_read": tally.bytes_read,
            }
            if len(tally.log.errors) != errors_before:
                changes["errors"] = _error_dicts(tally.log.errors)
            ImportRun.objects.filter(pk=run.pk).update(**changes)


def _finish(run: ImportRun, result: IngestResult, *, bytes_read: int) -> None:
    run.status = result.status
    run.finished_at = timezone.now()
    run.rows_total = result.rows_total
    run.rows_stored = result.rows_stored
    run.rows_rejected = result.rows_rejected
    run.bytes_read = bytes_read
    run.errors = _error_dicts(result.errors)
    run.message = result.file_error or " ".join(result.warnings)
    run.save(
        update_fields=[
            "status",
            "finished_at",
            "rows_total",
            "rows_stored",
            "rows_rejected",
            "bytes_read",
            "errors",
            "message",
        ]
    )


def _fail(run: ImportRun, message: str) -> None:
    ImportRun.objects.filter(pk=run.pk, status=ImportStatus.RUNNING).update(
        status=ImportStatus.FAILED, message=message, finished_at=timezone.now()
    )


def _start_run(
    *,
    organization: Organization,
    entity: str,
    door: str,
    filename: str,
    bytes_total: int,
    started_by: Member | None,
) -> ImportRun:
    return ImportRun.objects.create(
        organization=organization,
        entity=entity[:32],
        door=door,
        filename=filename[:255],
        bytes_total=bytes_total,
        started_by=started_by if isinstance(started_by, Member) else None,
    )


def ingest_records(
    *,
    organization: Organization,
    entity: str,
    records: Iterable[Any],
    first_row: int = 1,
    progress: Progress | None = None,
    door: str | None = None,
    started_by: Member | None = None,
) -> IngestResult:
    """Validate and upsert JSON-like records (dicts keyed by column name).

    Rows are numbered from `first_row`: the API passes 0 so a row is the record's index in
    the list. Unknown keys are ignored and named in the warnings; the organization is the
    argument, never a field of a record. With `door` set an ImportRun is recorded.
    Raises ValueError for an unknown entity.
    """
    spec = entity_spec(entity)
    run = None
    if door is not None:
        run = _start_run(
            organization=organization,
            entity=entity,
            door=door,
            filename="",
            bytes_total=0,
            started_by=started_by,
        )
    names = spec.column_names
    known = frozenset(names)
    unknown: set[str] = set()
    parser = BatchParser(
        spec,
        positions={name: index for index, name in enumerate(names)},
        width=None,
        row_label="index" if first_row == 0 else "row",
    )
    tally = _Tally(entity=entity)
    try:
        for chunk in _batched(enumerate(records, start=first_row), BATCH_SIZE):
            raw = RawBatch([], [])
            for row, record in chunk:
                if not isinstance(record, dict):
                    raw.malformed.append((row, "is not a JSON object"))
                    continue
                raw.row_numbers.append(row)
                raw.cells.append([record.get(name) for name in names])
                if len(unknown) < UNKNOWN_FIELDS_SHOWN and not known.issuperset(record):
                    unknown.update(key for key in record if key not in known)
            batch = parser.parse(raw, check_chars=True)
            _store_batch(organization=organization, spec=spec, batch=batch, tally=tally, run=run)
            if progress is not None:
                progress(tally.rows_total, 0)
    except BaseException:
        if run is not None:
            _fail(
                run, "The ingestion stopped on an unexpected error; the batches reported so far were stored."
            )
        raise
    warnings: tuple[str, ...] = ()
    if unknown:
        shown = ", ".join(show(name) for name in sorted(unknown, key=str)[:UNKNOWN_FIELDS_SHOWN])
        warnings = (f"Unknown field(s) ignored: {shown}.",)
    result = tally.result(warnings=warnings, import_run_id=run.pk if run else None)
    if run is not None:
        _finish(run, result, bytes_read=0)
    return result


def _stream_size(stream: IO[bytes]) -> int:
    """Bytes left to read, when the stream can tell (files, uploads, BytesIO); else 0."""
    size = getattr(stream, "size", None)
    if isinstance(size, int):
        return size
    try:
        return os.fstat(stream.fileno()).st_size - stream.tell()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        position = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(position)
    except (AttributeError, OSError, ValueError):
        return 0
    return end - position


def _parse_batches(source: CsvSource, parser: BatchParser) -> Iterator[ParsedBatch]:
    for raw in source.batches(BATCH_SIZE):
        # Rows are only checked for NUL and undecodable bytes once such bytes went by.
        yield parser.parse(raw, check_chars=source.dirty)


def csv_file_refusal(*, entity: str, stream: IO[bytes], delimiter: str | None = None) -> str | None:
    """Why ingest_csv would refuse this file as a whole (the message it would report as
    `file_error`), or None when it would read it. The same checks (magic number, encoding,
    header), reading only the head of the stream: a door that queues the import can answer
    before it does. Raises ValueError for an unknown entity."""
    try:
        CsvSource(stream, entity_spec(entity), delimiter=delimiter)
    except CsvFileError as exc:
        return exc.message
    return None


def ingest_csv(
    *,
    organization: Organization,
    entity: str,
    stream: IO[bytes],
    filename: str = "",
    started_by: Member | None = None,
    door: str = "csv",
    progress: Progress | None = None,
    import_run: ImportRun | None = None,
    delimiter: str | None = None,
) -> IngestResult:
    """Stream a CSV file (binary) into `entity`, batch by batch, recording an ImportRun.

    `import_run` continues a run the caller created (the upload page); otherwise one is
    created. `progress(rows_processed, bytes_read)` is called after each batch. A refused
    file (encoding, header) returns a result with `file_error` set and nothing stored.
    Raises ValueError for an unknown entity. On an unexpected error a run created here is
    marked failed; a run passed in is left running for its owner to retry or fail.
    """
    try:
        spec = entity_spec(entity)
    except ValueError as exc:
        if import_run is not None:
            _fail(import_run, str(exc))
        raise
    run = import_run or _start_run(
        organization=organization,
        entity=entity,
        door=door,
        filename=filename,
        bytes_total=_stream_size(stream),
        started_by=started_by,
    )
    try:
        return _ingest_csv_run(
            organization=organization,
            spec=spec,
            stream=stream,
            run=run,
            progress=progress,
            delimiter=delimiter,
        )
    except BaseException:
        if import_run is None:
            _fail(run, "The import stopped on an unexpected error; the batches reported so far were stored.")
        raise


def _ingest_csv_run(
    *,
    organization: Organization,
    spec: EntitySpec,
    stream: IO[bytes],
    run: ImportRun,
    progress: Progress | None,
    delimiter: str | None,
) -> IngestResult:
    try:
        source = CsvSource(stream, spec, delimiter=delimiter)
    except CsvFileError as exc:
        result = IngestResult(
            entity=spec.name,
            rows_total=0,
            rows_stored=0,
            rows_rejected=0,
            errors=exc.errors,
            file_error=exc.message,
            import_run_id=run.pk,
        )
        _finish(run, result, bytes_read=0)
        return result
    parser = BatchParser(spec, positions=source.positions, width=source.width, row_label="row")
    tally = _Tally(entity=spec.name)
    batches = read_ahead(_parse_batches(source, parser))
    try:
        for batch in batches:
            _store_batch(organization=organization, spec=spec, batch=batch, tally=tally, run=run)
            if progress is not None:
                progress(tally.rows_total, tally.bytes_read)
    finally:
        # Stops the read-ahead thread now, not when the generator is garbage collected.
        batches.close()
    warnings = source.warnings
    if not tally.rows_total:
        warnings += ("The file has a header but no data rows.",)
    result = tally.result(warnings=warnings, import_run_id=run.pk)
    _finish(run, result, bytes_read=source.bytes_read)
    if progress is not None:
        progress(result.rows_total, source.bytes_read)
    return result
