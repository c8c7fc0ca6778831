"""The CRM pages: sign-in, overview, import. Personas from tests/conftest.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerError

from crm import selectors, tasks, uploads
from crm.forms import expected_columns
from crm.ingestion import ENTITIES
from crm.ingestion.schemas import SPECS
from crm.models import ImportRun, ImportStatus, Lead, Member, Role
from tests.conftest import PASSWORD
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    LeadFactory,
    MemberFactory,
    OrganizationFactory,
    SaleFactory,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
START = NOW - dt.timedelta(days=30)
DAY = dt.timedelta(days=1)

LEADS_CSV = (
    "external_id,name,status,score,created_at\n"
    "web-1,First lead,new,10,2026-02-20T10:00:00Z\n"
    "web-2,Second lead,bogus,20,2026-02-21T10:00:00Z\n"
    "web-3,Third lead,converted,30,2026-02-22T10:00:00Z\n"
)


def csv_upload(content: str | bytes = LEADS_CSV, name: str = "leads.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def acme_data(org_a):
    """3 leads in the last 30 days and 2 in the 30 before; sales with a marker amount."""
    for days_ago in (1, 5, 29):
        LeadFactory(organization=org_a, created_at=NOW - days_ago * DAY)
    for days_ago in (31, 59):
        LeadFactory(organization=org_a, created_at=NOW - days_ago * DAY)
    for days_ago in (2, 3):
        ActivityFactory(organization=org_a, occurred_at=NOW - days_ago * DAY)
    SaleFactory(organization=org_a, amount=Decimal("987654.32"), currency="KES", closed_at=NOW - DAY)
    SaleFactory(organization=org_a, amount=Decimal("1000.00"), currency="KES", closed_at=NOW - 40 * DAY)
    ContactFactory(organization=org_a, created_at=NOW - 90 * DAY)


# --- sign-in ------------------------------------------------------------------------------


def test_login_page_renders(client, db):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="email"' in html
    assert 'name="password"' in html
    assert "Log in" in html


def test_login_with_email_in_any_case_lands_on_overview(client, manager_a):
    response = client.post(reverse("login"), {"username": "Manager@ACME.test", "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_login_with_a_wrong_password_shows_an_error(client, manager_a):
    response = client.post(reverse("login"), {"username": manager_a.email, "password": "nope"})

    assert response.status_code == 200
    assert "enter a correct" in response.content.decode().lower()


@pytest.mark.parametrize("url_name", ["home", "crm-import", "password_change"])
def test_anonymous_is_sent_to_login(client, db, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")


def test_a_poll_after_the_session_ended_sends_the_page_to_login(client, org_a):
    run = ImportRun.objects.create(organization=org_a, entity="leads", door="upload")
    page_url = reverse("crm-import-run", args=[run.pk])

    response = client.get(
        reverse("crm-import-run-status", args=[run.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{page_url}",
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next={quote(page_url, safe='')}"
    assert response.content == b""


def test_logout_is_a_post_and_returns_to_login(client, manager_a):
    client.force_login(manager_a)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response.url == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_password_change(client, manager_a):
    client.force_login(manager_a)
    assert client.get(reverse("password_change")).status_code == 200

    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-pass-phrase-9",
            "new_password2": "a-new-pass-phrase-9",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("password_change_done")
    assert "Your password was changed" in response.content.decode()
    manager_a.refresh_from_db()
    assert manager_a.check_password("a-new-pass-phrase-9")


# --- layout and navigation ----------------------------------------------------------------


def test_layout_shows_org_navigation_by_role_and_logout_form(client, manager_a, frozen_now):
    client.force_login(manager_a)

    html = client.get(reverse("home")).content.decode()

    assert "Acme Ltd" in html
    assert f'href="{reverse("crm-import")}"' in html
    assert 'href="/admin/"' not in html
    assert f'<form method="post" action="{reverse("logout")}">' in html
    assert f'href="{reverse("password_change")}"' in html
    assert "vendor/htmx/htmx.min.js" in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


def test_agent_sees_overview_without_import_link(client, agent_a, frozen_now):
    client.force_login(agent_a)

    html = client.get(reverse("home")).content.decode()

    assert f'href="{reverse("crm-import")}"' not in html


def test_admin_sees_link_to_django_admin(client, admin_a, frozen_now):
    admin_a.is_staff = True
    admin_a.save()
    client.force_login(admin_a)

    html = client.get(reverse("home")).content.decode()

    assert 'href="/admin/"' in html
    assert f'href="{reverse("crm-import")}"' in html


def test_member_without_organization_gets_a_clear_page(client, db):
    operator = Member.objects.create_superuser("root@platform.test", PASSWORD)
    client.force_login(operator)

    response = client.get(reverse("home"))

    html = response.content.decode()
    assert response.status_code == 403
    assert "Your account has no organization" in html
    assert 'href="/admin/"' in html
    assert f'href="{reverse("crm-import")}"' not in html


# --- overview -----------------------------------------------------------------------------


def test_overview_numbers_and_trends(client, manager_a, acme_data, frozen_now, django_assert_max_num_queries):
    client.force_login(manager_a)

    # session, member, organization, 4 aggregates, last import, snapshot
    with django_assert_max_num_queries(9):
        response = client.get(reverse("home"))

    assert response.status_code == 200
    overview = response.context["overview"]
    # leads: 3 in the last 30 days, 2 in the 30 before -> (3 - 2) / 2 * 100 = 50.0
    assert overview.leads == selectors.Comparison(current=3, previous=2, trend=50.0)
    # activities: 2 now, 0 before -> no trend
    assert overview.activities == selectors.Comparison(current=2, previous=0, trend=None)
    # revenue: 987654.32 now against 1000.00 -> (987654.32 - 1000) / 1000 * 100 = 98665.432
    assert overview.revenue.trend == 98665.4
    html = response.content.decode()
    assert "+50.0%" in html
    assert "987,654.32" in html
    assert "KES" in html
    assert "No data yet" not in html


def test_outsider_sees_none_of_acme_numbers(client, outsider, acme_data, frozen_now):
    client.force_login(outsider)

    response = client.get(reverse("home"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Globex Corp" in html
    assert "987,654.32" not in html
    assert "987654" not in html
    assert "Acme" not in html
    assert response.context["overview"].leads.current == 0


def test_new_organization_shows_the_empty_state(client, db, frozen_now):
    newcomer = MemberFactory(
        email="first@new.test", organization=OrganizationFactory(slug="new-co"), role=Role.MANAGER
    )
    client.force_login(newcomer)

    html = client.get(reverse("home")).content.decode()

    assert "No data yet" in html
    assert f'href="{reverse("crm-import")}"' in html
    assert 'href="/api/docs/"' in html
    assert 'data-metric="leads"' not in html


def test_new_organization_empty_state_for_an_agent_has_no_import_link(client, agent_a, frozen_now):
    client.force_login(agent_a)

    html = client.get(reverse("home")).content.decode()

    assert "No data yet" in html
    assert "Ask a manager" in html
    assert f'href="{reverse("crm-import")}"' not in html


# --- import: access -----------------------------------------------------------------------


@pytest.mark.parametrize("url_name", ["crm-import", "crm-import-columns"])
def test_agent_gets_403_on_import_pages(client, agent_a, url_name, caplog):
    client.force_login(agent_a)

    with caplog.at_level("WARNING", logger="crm.security"):
        response = client.get(reverse(url_name))

    assert response.status_code == 403
    assert "not available to you" in response.content.decode()
    assert f"refused 403 user={agent_a.pk} organization={agent_a.organization_id} role=agent" in caplog.text


def test_agent_gets_403_on_an_import_run(client, agent_a, org_a):
    run = ImportRun.objects.create(organization=org_a, entity="leads", door="upload")
    client.force_login(agent_a)

    assert client.get(reverse("crm-import-run", args=[run.pk])).status_code == 403
    assert client.get(reverse("crm-import-run-status", args=[run.pk])).status_code == 403


def test_agent_cannot_upload(client, agent_a):
    client.force_login(agent_a)

    response = client.post(reverse("crm-import"), {"entity": "leads", "file": csv_upload()})

    assert response.status_code == 403
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("url_name", ["crm-import-run", "crm-import-run-status"])
def test_another_organizations_import_run_is_404(client, outsider, org_a, url_name):
    run = ImportRun.objects.create(organization=org_a, entity="leads", door="upload", filename="secret.csv")
    client.force_login(outsider)

    response = client.get(reverse(url_name, args=[run.pk]))

    assert response.status_code == 404
    assert "secret.csv" not in response.content.decode()


def test_import_page_for_manager_lists_recent_runs_of_the_org_only(client, manager_a, org_a, org_b):
    ImportRun.objects.create(organization=org_a, entity="leads", door="upload", filename="ours.csv")
    ImportRun.objects.create(organization=org_b, entity="sales", door="upload", filename="theirs.csv")
    client.force_login(manager_a)

    response = client.get(reverse("crm-import"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "ours.csv" in html
    assert "theirs.csv" not in html
    assert "external_id" in html  # the expected columns of the first entity


def test_expected_columns_partial_follows_the_entity(client, manager_a):
    client.force_login(manager_a)

    sales = client.get(reverse("crm-import-columns"), {"entity": "sales"}, HTTP_HX_REQUEST="true")
    unknown = client.get(reverse("crm-import-columns"), {"entity": "planets"}, HTTP_HX_REQUEST="true")

    assert "closed_at" in sales.content.decode()
    assert "<html" not in sales.content.decode()
    assert "Choose what the file contains" in unknown.content.decode()


# --- import: upload -----------------------------------------------------------------------


def test_manager_uploads_a_small_csv_and_sees_the_row_report(client, manager_a, org_a, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    client.force_login(manager_a)

    response = client.post(reverse("crm-import"), {"entity": "leads", "file": csv_upload()}, follow=True)

    run = ImportRun.objects.get()
    assert response.redirect_chain == [(reverse("crm-import-run", args=[run.pk]), 302)]
    assert (run.organization, run.door, run.filename, run.started_by) == (
        org_a,
        "upload",
        "leads.csv",
        manager_a,
    )
    assert run.bytes_total == len(LEADS_CSV.encode())
    assert run.status == ImportStatus.PARTIAL
    assert (run.rows_stored, run.rows_rejected) == (2, 1)
    assert set(Lead.objects.for_org(org_a).values_list("external_id", flat=True)) == {"web-1", "web-3"}
    assert not list((tmp_path / "uploads").iterdir())  # the file is gone once processed
    html = response.content.decode()
    assert 'data-testid="rows-stored">2<' in html
    assert 'data-testid="rows-rejected">1<' in html
    assert "<code>status</code>" in html
    assert "bogus" in html
    assert 'hx-trigger="every 1s"' not in html  # finished: no polling


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"entity": "leads"}, "This field is required."),
        ({"entity": "planets", "file": csv_upload()}, "Select a valid choice."),
        ({"entity": "leads", "file": csv_upload(b"", "empty.csv")}, "The file is empty"),
        ({"entity": "leads", "file": csv_upload(LEADS_CSV, "leads.xlsx")}, "Choose a .csv file."),
        ({"entity": "leads", "file": csv_upload(b"PK\x03\x04\x14\x00rest", "book.csv")}, "not a CSV file"),
        ({"entity": "leads", "file": csv_upload("a,b\n".encode("utf-16"), "wide.csv")}, "UTF-16"),
    ],
    ids=["no-file", "wrong-entity", "empty", "not-csv-name", "binary", "utf-16"],
)
def test_bad_upload_shows_the_form_with_errors(client, manager_a, settings, tmp_path, data, error):
    settings.VAR_DIR = tmp_path
    client.force_login(manager_a)

    response = client.post(reverse("crm-import"), data)

    # a refused upload is a 400 (RELIABILITY G7); tests/crm/test_import_page_bad_input.py has the rest
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not ImportRun.objects.exists()


def test_large_upload_is_queued_after_commit_and_processed_by_the_task(
    client, manager_a, org_a, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    # given: every file counts as large, and the queue only records what it is given
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(uploads, "IN_REQUEST_MAX_BYTES", 0)
    queued: list[int] = []
    monkeypatch.setattr(tasks.process_upload, "delay", queued.append)
    client.force_login(manager_a)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("crm-import"), {"entity": "leads", "file": csv_upload()})

    # then: the run waits for the worker and its page polls
    run = ImportRun.objects.get()
    assert queued == [run.pk]
    assert run.status == ImportStatus.RUNNING
    assert Path(run.file_path).is_file()
    status_url = reverse("crm-import-run-status", args=[run.pk])
    page = client.get(response.url).content.decode()
    assert f'hx-get="{status_url}"' in page
    assert 'hx-trigger="every 1s"' in page

    # when the worker runs the task (twice: a redelivered task changes nothing)
    tasks.process_upload(run.pk)
    tasks.process_upload(run.pk)

    # then
    run.refresh_from_db()
    assert (run.status, run.rows_stored, run.rows_rejected) == (ImportStatus.PARTIAL, 2, 1)
    assert not Path(run.file_path).exists()
    partial = client.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial
    assert 'hx-trigger="every 1s"' not in partial
    assert 'data-testid="rows-stored">2<' in partial
    assert Lead.objects.for_org(org_a).count() == 2


def test_upload_fails_clearly_when_the_queue_is_down(
    client, manager_a, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(uploads, "IN_REQUEST_MAX_BYTES", 0)

    def broker_down(*args):
        raise BrokerError("connection refused")

    monkeypatch.setattr(tasks.process_upload, "delay", broker_down)
    client.force_login(manager_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("crm-import"), {"entity": "leads", "file": csv_upload()})

    run = ImportRun.objects.get()
    assert run.status == ImportStatus.FAILED
    assert not Path(run.file_path).exists()
    assert "could not be queued" in client.get(response.url).content.decode()


def test_progress_recorder_writes_bytes_read_at_most_once_per_interval(org_a):
    run = ImportRun.objects.create(organization=org_a, entity="leads", door="upload", bytes_total=100)
    record = uploads.ProgressRecorder(import_run_id=run.pk, interval_seconds=3600)

    record(10, 40)
    record(20, 80)  # within the interval: skipped

    run.refresh_from_db()
    assert run.bytes_read == 40


def test_run_errors_are_paginated_in_the_status_partial(client, manager_a, org_a):
    errors = [{"row": n, "column": "score", "reason": f"reason {n}"} for n in range(2, 32)]
    run = ImportRun.objects.create(
        organization=org_a,
        entity="leads",
        door="upload",
        status=ImportStatus.PARTIAL,
        rows_total=30,
        rows_rejected=30,
        errors=errors,
    )
    client.force_login(manager_a)

    first = client.get(reverse("crm-import-run", args=[run.pk])).content.decode()
    second = client.get(reverse("crm-import-run-status", args=[run.pk]), {"page": 2}).content.decode()

    assert "reason 26" in first
    assert "reason 27" not in first
    assert "reason 27" in second
    assert "reason 26" not in second
    assert "Page 2 of 2" in second


@pytest.mark.parametrize("entity", ENTITIES)
def test_expected_columns_match_the_ingestion_schema(entity):
    # The page's column help mirrors DESIGN section 5; the ingestion schema is the truth.
    spec = SPECS[entity]

    columns = expected_columns(entity)

    assert tuple(column.name for column in columns.columns) == spec.column_names
    assert {column.name for column in columns.columns if column.required} == set(spec.required_columns)
