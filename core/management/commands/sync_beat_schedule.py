"""Write the periodic jobs of settings.CELERY_BEAT_SCHEDULE into django-celery-beat's tables.

Beat's DatabaseScheduler does the same when it starts; this command lets a deployment (and
the demo set-up) show the schedule in the admin before beat has ever run.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django_celery_beat.schedulers import ModelEntry

from config.celery import app


def beat_schedule_sync() -> list[str]:
    """Create or update one PeriodicTask per entry; returns the entry names."""
    schedule = app.conf.beat_schedule
    # The entry type beat's DatabaseScheduler stores entries with; the scheduler itself would
    # also commit and recycle the connection, which is beat's business, not a command's.
    for name, fields in schedule.items():
        ModelEntry.from_entry(name, app=app, **fields)
    return sorted(schedule)


class Command(BaseCommand):
    help = "Write the periodic jobs of CELERY_BEAT_SCHEDULE into the database scheduler's tables."

    def handle(self, *args, **options) -> None:
        for name in beat_schedule_sync():
            self.stdout.write(f"  {name}")
        self.stdout.write(self.style.SUCCESS("Beat schedule synchronised."))
