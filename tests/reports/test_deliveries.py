"""Exports and scheduled e-mails end to end (DESIGN section 9.6): the API, the Celery task's
work, each copy rendered with its recipient's permissions, exactly once, retried when SMTP
fails, delivered to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import io
import threading
import zipfile

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections
from rest_framework.test import APIClient

from core.catalogue import MetricFilters, metric_get, metric_value, shown
from core.timeranges import parse_range
from crm.models import AuditLog
from reports import services
from reports.models import Delivery, Export, Schedule, Unsubscribe
from tests.conftest import IN_CI, require_service
from tests.insights.factories import AS_OF, build_history

pytestmark = pytest.mark.django_db

# Mon 16 Mar 2026 07:00 in Nairobi (04:00 UTC): the morning after AS_OF (Sun 15 Mar 12:00 UTC)
MONDAY_7AM = dt.datetime(2026, 3, 16, 4, 0, tzinfo=dt.UTC)


def client_for(member) -> APIClient:
    client = APIClient()
    client.force_authenticate(member)
    return client


@pytest.fixture
def world(org_a, agent_a, manager_a, report_files):
    with time_machine.travel(AS_OF, tick=False):
        build_history(org_a, agent_a)
    return org_a


def schedule_for(
    owner, recipients, *, sections=("overview", "revenue", "agent"), formats=("pdf", "csv")
) -> Schedule:
    with time_machine.travel(AS_OF, tick=False):
        return services.schedule_save(
            organization=owner.organization,
            owner=owner,
            data={
                "name": "Weekly numbers",
                "spec": {"sections": list(sections), "range": "7d"},
                "formats": list(formats),
                "cadence": "daily",
                "time": "07:00",
                "recipients": recipients,
            },
            now=AS_OF,
        )


# --- exports ------------------------------------------------------------------------------


def test_an_export_is_queued_rendered_with_progress_and_downloaded(
    world, manager_a, django_capture_on_commit_callbacks
):
    client = client_for(manager_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/api/v1/reports/exports",
            {"format": "xlsx", "sections": ["overview", "calls"], "range": "7d"},
            format="json",
        )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["state"], body["progress"], body["downloadUrl"]) == ("queued", 0, None)
    assert len(callbacks) == 1  # the Celery task is queued after commit
    # the task's work
    with time_machine.travel(AS_OF, tick=False):
        services.export_run(body["id"])
    done = client.get(f"/api/v1/reports/exports/{body['id']}").json()
    assert (done["state"], done["progress"]) == ("done", 100)
    assert done["filename"].endswith(".xlsx")
    download = client.get(done["downloadUrl"])
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert content[:2] == b"PK"  # an xlsx is a zip
    # a second run of a finished export does nothing
    assert services.export_run(body["id"]).state == "done"


def test_an_agent_exports_their_own_numbers_and_sees_only_their_exports(world, agent_a, manager_a):
    mine = client_for(agent_a).post(
        "/api/v1/reports/exports", {"format": "csv", "sections": ["agent"], "range": "7d"}, format="json"
    )
    assert mine.status_code == 202
    theirs = client_for(manager_a).post(
        "/api/v1/reports/exports", {"format": "csv", "sections": ["overview"]}, format="json"
    )
    assert client_for(agent_a).get(f"/api/v1/reports/exports/{theirs.json()['id']}").status_code == 404
    with time_machine.travel(AS_OF, tick=False):
        export = services.export_run(mine.json()["id"])
    assert export.state == "done"
    assert export.filename.endswith(".csv")  # one table: the agent's lead sources


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "doc", "sections": ["overview"]}, "format"),
        ({"format": "pdf", "sections": []}, "sections"),
        ({"format": "pdf", "sections": ["nope"]}, "sections"),
        ({"format": "pdf", "sections": ["overview"], "range": "2y"}, "range"),
        ({"format": "pdf", "sections": ["overview"], "filters": {"region": "Atlantis"}}, "filters.region"),
    ],
)
def test_bad_export_requests_are_400s_naming_the_field(world, manager_a, body, field):
    response = client_for(manager_a).post("/api/v1/reports/exports", body, format="json")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert field in details or field.split(".")[0] in details
    assert not Export.objects.exists()


def test_another_organizations_export_is_404(world, manager_a, outsider):
    response = client_for(manager_a).post(
        "/api/v1/reports/exports", {"format": "csv", "sections": ["overview"]}, format="json"
    )
    export_id = response.json()["id"]
    assert client_for(outsider).get(f"/api/v1/reports/exports/{export_id}").status_code == 404
    assert client_for(outsider).get(f"/api/v1/reports/exports/{export_id}/download").status_code == 404


# --- schedules ----------------------------------------------------------------------------


def test_a_schedule_is_made_through_the_api_and_says_who_is_outside(world, manager_a, agent_a):
    response = client_for(manager_a).post(
        "/api/v1/reports/schedules",
        {
            "name": "Daily",
            "sections": ["overview"],
            "range": "7d",
            "formats": ["pdf"],
            "cadence": "weekly",
            "time": "07:30",
            "weekday": 0,
            "recipients": [agent_a.email, "Partner@Example.com"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["recipients"] == [agent_a.email, "partner@example.com"]
    assert body["outsideRecipients"] == ["partner@example.com"]
    assert "Mia Manager may see" in body["outsideRecipientsSee"]
    assert (body["cadence"], body["time"], body["weekday"], body["timezone"]) == (
        "weekly",
        "07:30",
        0,
        "Africa/Nairobi",
    )
    assert AuditLog.objects.filter(action="report_schedule.create", object_id=str(body["id"])).count() == 1
    # agents cannot schedule
    assert client_for(agent_a).post("/api/v1/reports/schedules", {}, format="json").status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cadence": "weekly"}, "weekday"),
        ({"cadence": "monthly"}, "monthday"),
        ({"cadence": "monthly", "monthday": 31}, "monthday"),
        ({"time": "25:00"}, "time"),
        ({"recipients": ["not-an-email"]}, "recipients"),
        ({"recipients": []}, "recipients"),
    ],
)
def test_bad_schedules_are_400s(world, manager_a, change, field):
    body = {
        "name": "x",
        "sections": ["overview"],
        "formats": ["pdf"],
        "cadence": "daily",
        "time": "07:00",
        "recipients": ["a@b.test"],
        **change,
    }
    response = client_for(manager_a).post("/api/v1/reports/schedules", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]


# --- deliveries ----------------------------------------------------------------------------


def test_each_recipient_gets_one_copy_with_their_own_permissions(world, manager_a, agent_a, smtp_inbox):
    schedule = schedule_for(manager_a, [manager_a.email, agent_a.email, "partner@example.com"])
    with time_machine.travel(MONDAY_7AM, tick=False):
        first = services.send_due_reports(now=MONDAY_7AM)
        again = services.send_due_reports(now=MONDAY_7AM + dt.timedelta(minutes=5))
    assert first == {"created": 3, "sent": 3}
    assert again == {"created": 0}
    assert len(smtp_inbox.messages) == 3
    deliveries = Delivery.objects.filter(schedule=schedule)
    assert {d.period for d in deliveries} == {"2026-03-16"}
    assert all(d.state == "sent" and len(d.files) == 2 for d in deliveries)

    def csv_text(message) -> str:
        [attachment] = [p for p in message.walk() if p.get_filename() and p.get_filename().endswith(".zip")]
        archive = zipfile.ZipFile(io.BytesIO(attachment.get_payload(decode=True)))
        return "\n".join(archive.read(name).decode("utf-8-sig") for name in archive.namelist())

    [for_manager] = smtp_inbox.to(manager_a.email)
    [for_agent] = smtp_inbox.to(agent_a.email)
    [for_partner] = smtp_inbox.to("partner@example.com")
    # the agent's copy: the agent's own numbers, the same as the catalogue's for that agent
    agent_body = for_agent.get_payload()[0].get_payload(decode=True).decode()
    manager_body = for_manager.get_payload()[0].get_payload(decode=True).decode()
    assert "Alan Agent's own numbers" in agent_body

    def calls_line(body: str) -> str:
        return next(line.strip() for line in body.splitlines() if line.strip().startswith("Calls: "))

    window = parse_range("7d", as_of=MONDAY_7AM)
    metric = metric_get("calls.total")
    agent_only = MetricFilters(agent_id=agent_a.pk)
    own = shown(metric, metric_value("calls.total", organization=world, window=window, filters=agent_only))
    everyone = shown(metric, metric_value("calls.total", organization=world, window=window))
    # Bea's call is in the organization's count, not in Alan's
    assert (own, everyone) == (2, 3)
    assert calls_line(agent_body).startswith(f"Calls: {own} ")
    assert calls_line(manager_body).startswith(f"Calls: {everyone} ")
    # the manager's copy has no agent section without an agent filter, and says so
    assert "Agent analytics need one agent" in for_manager.get_payload()[0].get_payload(decode=True).decode()
    # the outside address gets what the owner may see, and is told so
    partner_body = for_partner.get_payload()[0].get_payload(decode=True).decode()
    assert "the numbers Mia Manager may see" in partner_body
    assert "/reports/unsubscribe/" in partner_body
    assert for_partner["List-Unsubscribe"].strip().startswith("<http")


def test_smtp_down_then_back_sends_each_copy_once(world, manager_a, smtp_inbox):
    schedule_for(manager_a, [manager_a.email], formats=("csv",))
    smtp_inbox.refuse = True
    with time_machine.travel(MONDAY_7AM, tick=False):
        assert services.send_due_reports(now=MONDAY_7AM) == {"created": 1, "retrying": 1}
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("retrying", 1)
    assert delivery.next_attempt_at == MONDAY_7AM + dt.timedelta(minutes=1)
    assert "451" in delivery.error
    # before the backoff ends nothing is tried
    assert services.send_due_reports(now=MONDAY_7AM + dt.timedelta(seconds=30)) == {"created": 0}
    smtp_inbox.refuse = False
    out = io.StringIO()
    with time_machine.travel(MONDAY_7AM + dt.timedelta(minutes=2), tick=False):
        call_command("send_due_reports", now=(MONDAY_7AM + dt.timedelta(minutes=2)).isoformat(), stdout=out)
    assert "1 sent" in out.getvalue()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("sent", 2)
    assert len(smtp_inbox.messages) == 1


def test_an_unsubscribed_recipient_gets_nothing_more(world, manager_a, client, smtp_inbox):
    schedule = schedule_for(manager_a, ["partner@example.com"], formats=("csv",))
    token = services.unsubscribe_token(schedule, "partner@example.com")
    # GET only asks (a mail scanner's prefetch must not unsubscribe)
    assert "Stop sending" in client.get(f"/reports/unsubscribe/{token}").content.decode()
    assert not Unsubscribe.objects.exists()
    assert client.post(f"/reports/unsubscribe/{token}").status_code == 200
    assert client.get(f"/reports/unsubscribe/{token[:-3]}xyz").status_code == 404
    with time_machine.travel(MONDAY_7AM, tick=False):
        assert services.send_due_reports(now=MONDAY_7AM) == {"created": 0}
    assert smtp_inbox.messages == []


def test_a_schedule_made_after_the_hour_starts_with_the_next_period(world, manager_a, smtp_inbox):
    with time_machine.travel(MONDAY_7AM + dt.timedelta(hours=1), tick=False):
        services.schedule_save(
            organization=manager_a.organization,
            owner=manager_a,
            data={
                "name": "Late",
                "spec": {"sections": ["overview"], "range": "7d"},
                "formats": ["csv"],
                "cadence": "daily",
                "time": "07:00",
                "recipients": [manager_a.email],
            },
            now=MONDAY_7AM + dt.timedelta(hours=1),
        )
        assert services.send_due_reports(now=MONDAY_7AM + dt.timedelta(hours=1)) == {"created": 0}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_send_each_copy_exactly_once(
    org_a, agent_a, manager_a, report_files, smtp_inbox
):
    if IN_CI or connection.vendor == "postgresql":
        require_service("PostgreSQL", connection.vendor == "postgresql")
    else:
        pytest.skip("the race needs PostgreSQL (SQLite serialises writers outright)")
    with time_machine.travel(AS_OF, tick=False):
        build_history(org_a, agent_a)
    schedule_for(
        manager_a, [manager_a.email, agent_a.email, "a@partner.test", "b@partner.test"], formats=("csv",)
    )
    barrier, outcomes, lock = threading.Barrier(2), [], threading.Lock()

    def run():
        try:
            barrier.wait()
            result = services.send_due_reports(now=MONDAY_7AM)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(o.get("sent", 0) for o in outcomes) == 4, outcomes
    assert sum(o.get("created", 0) for o in outcomes) == 4, outcomes
    assert len(smtp_inbox.messages) == 4
    assert sorted(m["To"] for m in smtp_inbox.messages) == sorted(
        [manager_a.email, agent_a.email, "a@partner.test", "b@partner.test"]
    )
