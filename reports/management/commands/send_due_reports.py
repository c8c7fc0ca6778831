"""`manage.py send_due_reports [--now ISO]`: send the scheduled reports that are due.

Creates the due deliveries (one per schedule, period and recipient) and sends each in this
process; running it twice, or beside the beat task, sends nothing twice.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from core.management.options import moment_option
from reports import services


class Command(BaseCommand):
    help = "Send the scheduled reports that are due (each recipient's copy exactly once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--now", help="ISO 8601 moment to run as of (default: now); without an offset, UTC"
        )

    def handle(self, *args, now: str | None = None, **options) -> None:
        moment = moment_option(now)
        outcome = services.send_due_reports(now=moment)
        parts = ", ".join(f"{count} {state}" for state, count in sorted(outcome.items()))
        self.stdout.write(f"{parts} (as of {moment.isoformat()})")
