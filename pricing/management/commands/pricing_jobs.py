"""`manage.py pricing_jobs [--now ISO]`: what the hourly beat task does, on demand.

Applies approved suggestions whose effective date has come and expires undecided ones past
their date. `--now` runs it as of another moment (a demo, a test, a catch-up after an outage).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from core.management.options import moment_option
from pricing import services


class Command(BaseCommand):
    help = "Apply approved pricing suggestions that are due and expire undecided ones."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--now", help="ISO 8601 moment to run as of (default: now); without an offset, UTC"
        )

    def handle(self, *args, now: str | None = None, **options) -> None:
        moment = moment_option(now)
        applied = services.suggestions_apply_due(now=moment)
        expired = services.suggestions_expire(now=moment)
        for suggestion in applied:
            self.stdout.write(
                f"applied #{suggestion.pk}: {suggestion.product.name} {suggestion.previous_price} -> "
                f"{suggestion.suggested_price} {suggestion.currency}"
            )
        self.stdout.write(f"{len(applied)} applied, {expired} expired (as of {moment.isoformat()})")
