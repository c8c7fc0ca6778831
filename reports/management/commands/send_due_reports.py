"""`manage.py send_due_reports [--now ISO]`: send the scheduled reports that are due.

Creates the due deliveries (one per schedule, period and recipient) and sends each in this
process; running it twice, or beside the beat task, sends nothing twice.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports import services


class Command(BaseCommand):
    help = "Send the scheduled reports that are due (each recipient's copy exactly once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--now", help="ISO 8601 moment to run as of (default: now); without an offset, UTC"
        )

    def handle(self, *args, now: str | None = None, **options) -> None:
        moment = timezone.now()
        if now:
            try:
                moment = dt.datetime.fromisoformat(now)
            except ValueError as exc:
                raise CommandError(f"--now is not an ISO 8601 moment: {now!r}") from exc
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
        outcome = services.send_due_reports(now=moment)
        parts = ", ".join(f"{count} {state}" for state, count in sorted(outcome.items()))
        self.stdout.write(f"{parts} (as of {moment.isoformat()})")
