"""The periodic jobs live in settings and reach django-celery-beat's tables by the sync."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from config.celery import app

pytestmark = pytest.mark.django_db

EXPECTED = {
    # name: (task, minute, hour), all in UTC
    "nightly contact snapshot": ("crm.snapshot_contacts_all", "30", "0"),
    "nightly statistics": ("core.refresh_statistics_all", "15", "1"),
    "statistics hours every 5 minutes": ("core.refresh_statistics_hours_all", "*/5", "*"),
    "agent rankings every 15 minutes": ("agents.refresh_rankings_all", "*/15", "*"),
    "nightly business insights": ("insights.bi_refresh_all", "15", "2"),
}


def test_sync_writes_every_job_with_its_crontab():
    # given: no periodic task stored (migrations no longer write any)
    assert not PeriodicTask.objects.filter(name__in=EXPECTED).exists()
    # when
    call_command("sync_beat_schedule")
    # then
    stored = {
        task.name: (task.task, task.crontab.minute, task.crontab.hour, str(task.crontab.timezone))
        for task in PeriodicTask.objects.filter(name__in=EXPECTED).select_related("crontab")
    }
    assert stored == {name: (*job, "UTC") for name, job in EXPECTED.items()}


def test_sync_twice_keeps_one_row_per_job():
    call_command("sync_beat_schedule")
    call_command("sync_beat_schedule")
    assert PeriodicTask.objects.filter(name__in=EXPECTED).count() == len(EXPECTED)


def test_every_scheduled_task_is_registered():
    app.loader.import_default_modules()
    assert {job[0] for job in EXPECTED.values()} <= set(app.tasks)
