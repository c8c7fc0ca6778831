"""CSV files uploaded through the import page.

The page reads a file exactly as the import_crm command does: `ingest_csv`, the one CSV
door of the ingestion. First its head is checked with the same rules (`csv_file_refusal`:
magic number, encoding, header); a file refused as a whole is an ApplicationError and
nothing is kept. Otherwise the file is stored under VAR_DIR/uploads/<uuid>.csv and
recorded as an ImportRun (door "upload"). A small file is ingested in the request; a
larger one by the Celery task `crm.tasks.process_upload`, queued after commit. Either way
`upload_process` does the work (good rows stored, each bad row reported with its row,
column and reason), reports progress (bytes read) on the run, and deletes the file once
the run has ended.
"""

from __future__ import annotations

import logging
import time
import uuid
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from core.errors import ApplicationError
from crm import tasks
from crm.ingestion import csv_file_refusal, ingest_csv
from crm.models import ImportRun, ImportStatus, Member, Organization

logger = logging.getLogger(__name__)

UPLOAD_DOOR = "upload"
# Up to this size an import finishes within a page load; larger files go to a worker.
IN_REQUEST_MAX_BYTES = 2 * 1024 * 1024
# Progress is written at most this often, so a fast import does not turn into UPDATE churn.
PROGRESS_INTERVAL_SECONDS = 0.5


def uploads_dir() -> Path:
    return Path(settings.VAR_DIR) / "uploads"


def upload_start(
    *, organization: Organization, started_by: Member, entity: str, upload: UploadedFile
) -> ImportRun:
    """Store the upload, record its run, and process it now (small) or queue it (large).

    Raises ApplicationError (field "file") with the ingestion's reason for a file it would
    refuse as a whole; then nothing is stored: no file, no run, no row.
    """
    upload.seek(0)
    refusal = csv_file_refusal(entity=entity, stream=upload)
    if refusal is not None:
        raise ApplicationError(refusal, field="file", code="unreadable_file")
    path = _store(upload)
    run = ImportRun.objects.create(
        organization=organization,
        entity=entity,
        door=UPLOAD_DOOR,
        filename=(upload.name or path.name)[:255],
        file_path=str(path),
        bytes_total=upload.size or 0,
        started_by=started_by,
        status=ImportStatus.RUNNING,
    )
    if run.bytes_total <= IN_REQUEST_MAX_BYTES:
        return upload_process(import_run_id=run.pk)
    transaction.on_commit(partial(_enqueue, run.pk))
    return run


def upload_process(*, import_run_id: int) -> ImportRun:
    """Ingest the run's stored file. Safe to run twice: a run that has ended is left alone."""
    run = ImportRun.objects.select_related("organization", "started_by").get(pk=import_run_id)
    if run.status != ImportStatus.RUNNING:
        return run
    path = Path(run.file_path)
    if not path.is_file():
        _fail(run.pk, "The uploaded file is no longer available; upload it again.")
        run.refresh_from_db()
        return run
    try:
        with path.open("rb") as stream:
            ingest_csv(
                organization=run.organization,
                entity=run.entity,
                stream=stream,
                filename=run.filename,
                started_by=run.started_by,
                door=UPLOAD_DOOR,
                import_run=run,
                progress=ProgressRecorder(import_run_id=run.pk),
            )
    except DatabaseError:
        # Transient: the task retries (crm.tasks RETRYABLE) and needs the file again.
        raise
    except Exception:
        # The run is the only report the uploader sees: record the failure instead of
        # leaving it "running" forever, and keep the traceback in the log.
        logger.exception("upload import failed", extra={"import_run": run.pk})
        _fail(run.pk, "The import stopped on an unexpected error; nothing more was stored.")
    path.unlink(missing_ok=True)
    run.refresh_from_db()
    return run


class ProgressRecorder:
    """The `progress(rows_processed, bytes_read)` callback of ingest_csv, throttled."""

    def __init__(self, *, import_run_id: int, interval_seconds: float = PROGRESS_INTERVAL_SECONDS) -> None:
        self.import_run_id = import_run_id
        self.interval_seconds = interval_seconds
        self._last_write = float("-inf")

    def __call__(self, rows_processed: int, bytes_read: int) -> None:
        now = time.monotonic()
        if now - self._last_write < self.interval_seconds:
            return
        self._last_write = now
        ImportRun.objects.filter(pk=self.import_run_id).update(bytes_read=bytes_read)


def _store(upload: UploadedFile) -> Path:
    directory = uploads_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4()}.csv"
    with path.open("wb") as target:
        for chunk in upload.chunks():
            target.write(chunk)
    return path


def _enqueue(import_run_id: int) -> None:
    try:
        tasks.process_upload.delay(import_run_id)
    except BrokerError:
        # `.delay()` raises when the broker is down (RELIABILITY.md): say so on the run.
        logger.exception("could not queue upload import", extra={"import_run": import_run_id})
        run = ImportRun.objects.get(pk=import_run_id)
        Path(run.file_path).unlink(missing_ok=True)
        _fail(import_run_id, "The import could not be queued (the task queue is unavailable); try again.")


def _fail(import_run_id: int, message: str) -> None:
    ImportRun.objects.filter(pk=import_run_id, status=ImportStatus.RUNNING).update(
        status=ImportStatus.FAILED, message=message, finished_at=timezone.now()
    )
