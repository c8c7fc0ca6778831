"""import_crm <org-slug> <entity> <file.csv>: the command-line door of ingestion.

Progress goes to stderr, the summary and the first errors to stdout. The exit status is 1
when the file was refused or any row was rejected (the good rows are stored either way;
re-importing the corrected file does not duplicate them).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from crm.ingestion import ENTITIES, IngestResult, RowError, ingest_csv
from crm.models import Organization

ERRORS_SHOWN = 20
PROGRESS_INTERVAL_SECONDS = 1.0
DELIMITERS = {",": ",", ";": ";", "tab": "\t", "|": "|"}


class ProgressPrinter:
    """The `progress` callback: rows and share of bytes, at most once a second."""

    def __init__(self, out: OutputWrapper | TextIO, *, bytes_total: int, interactive: bool) -> None:
        self.out = out
        self.bytes_total = bytes_total
        self.interactive = interactive
        self.started = time.monotonic()
        self._last = float("-inf")
        self._printed = False

    def __call__(self, rows: int, bytes_read: int) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL_SECONDS:
            return
        self._last = now
        share = f"{100 * bytes_read / self.bytes_total:.0f}%" if self.bytes_total else "?%"
        rate = rows / max(now - self.started, 1e-9)
        line = f"{rows:,} rows, {share} of {self.bytes_total / 1e6:,.1f} MB, {rate:,.0f} rows/s"
        # A terminal gets one line rewritten in place; a log gets a line per update.
        self.out.write(("\r" + line) if self.interactive else line, ending="" if self.interactive else "\n")
        self.out.flush()
        self._printed = True

    def finish(self) -> None:
        if self._printed and self.interactive:
            self.out.write("")


def _format_error(error: RowError) -> str:
    where = f"row {error.row}" + (f", column {error.column}" if error.column else "")
    return f"  {where}: {error.reason}"


class Command(BaseCommand):
    help = (
        "Import a CSV file of one entity into an organization (docs/ingestion.md). "
        f"Entities: {', '.join(ENTITIES)}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org_slug")
        parser.add_argument("entity")
        parser.add_argument("path", help="a UTF-8 CSV file with a header row")
        parser.add_argument(
            "--delimiter",
            choices=list(DELIMITERS),
            default=None,
            help="the cell separator (default: detected from the header)",
        )
        parser.add_argument(
            "--show-errors", type=int, default=ERRORS_SHOWN, help="errors listed in the summary"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")

    def handle(
        self,
        *args,
        org_slug: str,
        entity: str,
        path: str,
        delimiter: str | None = None,
        show_errors: int = ERRORS_SHOWN,
        no_progress: bool = False,
        **options,
    ) -> None:
        organization = Organization.objects.filter(slug=org_slug).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        if entity not in ENTITIES:
            raise CommandError(f"Unknown entity {entity!r}; use one of: {', '.join(ENTITIES)}.")
        file_path = Path(path)
        if not file_path.is_file():
            raise CommandError(f"File not found: {path}")
        try:
            stream = file_path.open("rb")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        progress = ProgressPrinter(
            self.stderr, bytes_total=file_path.stat().st_size, interactive=self.stderr.isatty()
        )
        started = time.monotonic()
        with stream:
            result = ingest_csv(
                organization=organization,
                entity=entity,
                stream=stream,
                filename=file_path.name,
                progress=None if no_progress else progress,
                delimiter=DELIMITERS[delimiter] if delimiter else None,
            )
        progress.finish()
        self._summary(
            result,
            organization=organization,
            name=file_path.name,
            seconds=time.monotonic() - started,
            show_errors=show_errors,
        )
        if result.file_error:
            raise CommandError(f"{file_path.name} was not imported: {result.file_error}")
        if result.rows_rejected:
            raise CommandError(
                f"{result.rows_rejected:,} row(s) rejected; the other rows were stored. Fix the rows and import "
                "the file again: stored rows are updated, not duplicated."
            )

    def _summary(
        self, result: IngestResult, *, organization: Organization, name: str, seconds: float, show_errors: int
    ) -> None:
        write = self.stdout.write
        if not result.file_error:
            unchanged = result.rows_stored - result.rows_created - result.rows_updated
            write(
                f"{result.entity} from {name} into {organization.slug}: {result.rows_total:,} rows read, "
                f"{result.rows_stored:,} stored ({result.rows_created:,} new, {result.rows_updated:,} changed, "
                f"{unchanged:,} unchanged), {result.rows_rejected:,} rejected, in {seconds:.1f}s "
                f"({result.rows_total / max(seconds, 1e-9):,.0f} rows/s)."
            )
        for warning in result.warnings:
            write(self.style.WARNING(f"Warning: {warning}"))
        if result.errors and show_errors > 0:
            shown = result.errors[:show_errors]
            write(f"Problems (the first {len(shown)}):")
            for error in shown:
                write(_format_error(error))
