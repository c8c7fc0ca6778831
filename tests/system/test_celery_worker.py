"""A real Celery worker runs the nightly snapshot task against the real broker."""

from __future__ import annotations

import datetime as dt

import pytest

from config.celery import app as celery_app
from crm import tasks
from crm.models import ContactSnapshot
from tests.conftest import IN_CI, require_service
from tests.factories import ContactFactory, OrganizationFactory
from tests.system.processes import child_database_url, child_env, start, stop, wait_until

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

UTC = dt.UTC


@pytest.fixture
def worker(tmp_path, settings):
    if IN_CI:
        require_service("a Redis or RabbitMQ broker", not settings.CELERY_BROKER_URL.startswith("filesystem"))
    # Messages other tests queued (e.g. refreshes after an ingest) must not count here.
    celery_app.control.purge()
    log = tmp_path / "worker.log"
    process = start(
        [
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "-n",
            f"test-{tmp_path.name}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        child_env(DATABASE_URL=child_database_url(), CRM_CELERY_BROKER_DIR=str(settings.CELERY_BROKER_DIR)),
        log,
    )
    yield process, log
    stop(process)


def test_worker_runs_snapshot_fan_out_idempotently(worker):
    process, log = worker
    # given an organization in Nairobi (UTC+3) with 3 contacts: two before 21 Nov, one on it
    org = OrganizationFactory(slug="snap-org", timezone="Africa/Nairobi")
    nairobi_midnight_21 = dt.datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
    ContactFactory(organization=org, created_at=nairobi_midnight_21 - dt.timedelta(days=3))
    ContactFactory(organization=org, created_at=nairobi_midnight_21 - dt.timedelta(minutes=1))
    ContactFactory(organization=org, created_at=nairobi_midnight_21 + dt.timedelta(hours=5))
    # when the beat entry point runs twice on the worker for 22 Nov 06:00 UTC (09:00 local)
    as_of = "2026-11-22T06:00:00+00:00"
    tasks.snapshot_contacts_all.delay(as_of)
    tasks.snapshot_contacts_all.delay(as_of)

    def done() -> bool:
        return ContactSnapshot.objects.for_org(org).exists() and log.read_text().count("succeeded") >= 4

    ok = wait_until(done, timeout=90)
    assert process.poll() is None, log.read_text()[-3000:]
    assert ok, log.read_text()[-3000:]
    # then exactly one row for 21 Nov local: 3 contacts in total, 1 new (hand count above)
    rows = list(ContactSnapshot.objects.for_org(org).values_list("day", "total_contacts", "new_contacts"))
    assert rows == [(dt.date(2026, 11, 21), 3, 1)]


def test_worker_runs_the_business_insights_fan_out_idempotently(worker):
    from insights import tasks as insight_tasks
    from insights.bi.models import BusinessInsight
    from tests.factories import MemberFactory
    from tests.insights.bi.factories import DETECTOR_AS_OF, detector_world

    process, log = worker
    # given an organization with the detectors' hand-built world (tests/insights/bi/factories.py)
    org = OrganizationFactory(slug="bi-org", timezone="Africa/Nairobi")
    agent = MemberFactory(organization=org, role="agent", email="bi-agent@acme.test")
    detector_world(org, agent)
    # when the nightly entry point runs twice on the worker
    as_of = DETECTOR_AS_OF.isoformat()
    insight_tasks.bi_refresh_all.delay(as_of)
    insight_tasks.bi_refresh_all.delay(as_of)

    def done() -> bool:
        return log.read_text().count("insights.bi_refresh[") >= 4 and log.read_text().count("succeeded") >= 4

    ok = wait_until(done, timeout=180)
    assert process.poll() is None, log.read_text()[-3000:]
    assert ok, log.read_text()[-3000:]
    # then the insights exist once each: the second run updated, it did not duplicate
    keys = list(BusinessInsight.objects.for_org(org).values_list("type", "subject_key"))
    assert keys
    assert len(keys) == len(set(keys))


def test_worker_renders_an_export_and_sends_the_due_reports(worker, tmp_path, settings):
    """The report tasks on a real worker: an XLSX export goes queued -> done with its file on
    disk, and the beat entry point of scheduled reports sends each due copy once (the worker
    writes the e-mails to its own folder), however often it runs."""
    from reports import tasks as report_tasks
    from reports.models import Delivery, Export
    from reports.services import schedule_save
    from tests.factories import MemberFactory

    process, log = worker
    org = OrganizationFactory(slug="rep-org", timezone="Africa/Nairobi", currency="KES")
    manager = MemberFactory(organization=org, role="manager", email="rep-manager@acme.test")
    agent = MemberFactory(organization=org, role="agent", email="rep-agent@acme.test")
    export = Export.objects.create(
        organization=org, requested_by=manager, format="xlsx", spec={"sections": ["overview"], "range": "7d"}
    )
    created = dt.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    schedule_save(
        organization=org,
        owner=manager,
        data={
            "name": "Daily",
            "spec": {"sections": ["overview"], "range": "7d"},
            "formats": ["csv"],
            "cadence": "daily",
            "time": "07:00",
            "recipients": [manager.email, agent.email],
        },
        now=created,
    )
    report_tasks.render_export.delay(export.pk)
    due = "2026-11-21T05:00:00+00:00"  # 08:00 in Nairobi, after the 07:00 send
    report_tasks.send_due_all.delay(due)
    report_tasks.send_due_all.delay(due)

    def done() -> bool:
        export.refresh_from_db()
        sent = Delivery.objects.filter(schedule__organization=org, state="sent").count()
        return export.state == "done" and sent == 2

    ok = wait_until(done, timeout=120)
    assert process.poll() is None, log.read_text()[-3000:]
    assert ok, log.read_text()[-3000:]
    assert export.progress == 100
    assert export.filename.endswith(".xlsx")
    assert Delivery.objects.filter(schedule__organization=org).count() == 2
    assert sorted(Delivery.objects.filter(schedule__organization=org).values_list("attempts", flat=True)) == [
        1,
        1,
    ]
