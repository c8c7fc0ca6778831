"""In a real browser: sign in, read the overview, import a CSV file and read its report."""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm import tasks, uploads
from crm.models import Role
from tests.conftest import PASSWORD
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    LeadFactory,
    MemberFactory,
    OrganizationFactory,
    SaleFactory,
)

pytestmark = pytest.mark.e2e

DAY = dt.timedelta(days=1)
LEADS_CSV = (
    b"external_id,name,status,score,created_at\n"
    b"e2e-1,First lead,new,10,2026-02-20T10:00:00Z\n"
    b"e2e-2,Second lead,bogus,20,2026-02-21T10:00:00Z\n"
    b"e2e-3,Third lead,converted,30,2026-02-22T10:00:00Z\n"
)


@pytest.fixture
def acme(transactional_db):
    """A manager of an organization with two months of data (relative to the real clock)."""
    org = OrganizationFactory(slug="acme", name="Acme Ltd", timezone="Africa/Nairobi", currency="KES")
    manager = MemberFactory(
        email="manager@acme.test", name="Mia Manager", organization=org, role=Role.MANAGER
    )
    now = timezone.now()
    for n in range(40):
        ContactFactory(organization=org, created_at=now - (n * 2 + 1) * DAY)
    for n in range(18):
        LeadFactory(organization=org, created_at=now - (n % 30 + 0.5) * DAY)
    for n in range(12):
        LeadFactory(organization=org, created_at=now - (n + 31) * DAY)
    for n in range(57):
        ActivityFactory(organization=org, occurred_at=now - (n % 29 + 0.2) * DAY)
    for n in range(64):
        ActivityFactory(organization=org, occurred_at=now - (n % 29 + 31) * DAY)
    for n, amount in enumerate(("12500.00", "8300.50", "4100.00", "990.00", "15250.00")):
        SaleFactory(
            organization=org, amount=Decimal(amount), currency="KES", closed_at=now - (n * 5 + 1) * DAY
        )
    for n, amount in enumerate(("9900.00", "7400.00", "6100.25")):
        SaleFactory(
            organization=org, amount=Decimal(amount), currency="KES", closed_at=now - (n * 7 + 32) * DAY
        )
    return manager


def log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base_url}/")


# The live_server fixture is a WSGI server: it has no WebSocket, so the dashboard's live
# script (static/js/live.js) is refused there; tests/e2e/test_live_dashboard.py runs the
# socket on a real ASGI server.
NO_SOCKET_HERE = "/ws/bi-dashboard' failed"


def console_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on(
        "console",
        lambda message: errors.append(message.text)
        if message.type == "error" and NO_SOCKET_HERE not in message.text
        else None,
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_manager_signs_in_reads_overview_and_imports_a_csv(live_server, page, acme, screenshots_dir):
    errors = console_errors(page)

    # given a signed-in manager
    page.goto(f"{live_server.url}/accounts/login/")
    page.screenshot(path=screenshots_dir / "login.png")
    log_in(page, live_server.url, acme.email)

    # then the overview shows the organization's real numbers
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator(".org-name")).to_have_text("Acme Ltd")
    expect(page.locator('[data-metric="leads"] .metric__value')).to_have_text("18")
    expect(page.locator('[data-metric="leads"] .trend')).to_have_text("▲ +50.0%")  # 18 against 12
    expect(page.locator('[data-metric="activities"] .metric__value')).to_have_text("57")
    expect(page.locator('[data-metric="revenue"] .metric__value')).to_contain_text("41,140.50")
    assert page.evaluate("typeof window.htmx") == "object"
    page.screenshot(path=screenshots_dir / "overview.png", full_page=True)

    # when they import a leads file with one bad row
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import data")).to_be_visible()
    page.get_by_label("The file contains").select_option("leads")
    expect(page.locator("#expected-columns")).to_contain_text("assigned_agent")  # swapped by htmx
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": LEADS_CSV}]
    )
    page.get_by_role("button", name="Upload and import").click()

    # then the report shows stored and rejected rows with the reason
    expect(page).to_have_url(re.compile(r"/import/\d+/$"))
    expect(page.get_by_test_id("rows-stored")).to_have_text("2")
    expect(page.get_by_test_id("rows-rejected")).to_have_text("1")
    expect(page.get_by_test_id("row-errors")).to_contain_text("status")
    page.screenshot(path=screenshots_dir / "import-result.png", full_page=True)

    # and the overview names the import
    page.get_by_role("link", name="Overview").click()
    expect(page.locator('[data-section="last-import"]')).to_contain_text("2 stored, 1 rejected")
    assert errors == []


def test_background_import_progress_is_polled_until_done(live_server, page, acme, monkeypatch):
    # given every upload goes to a "worker" that starts a moment later
    monkeypatch.setattr(uploads, "IN_REQUEST_MAX_BYTES", 0)

    def run_later(import_run_id: int) -> None:
        def work() -> None:
            try:
                tasks.process_upload(import_run_id)
            finally:
                connection.close()

        threading.Timer(1.5, work).start()

    monkeypatch.setattr(tasks.process_upload, "delay", run_later)
    log_in(page, live_server.url, acme.email)

    # when
    page.goto(f"{live_server.url}/import/")
    page.get_by_label("The file contains").select_option("leads")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "big-leads.csv", "mimeType": "text/csv", "buffer": LEADS_CSV}]
    )
    page.get_by_role("button", name="Upload and import").click()

    # then the page shows the running import, then (polling) its result without a reload
    expect(page.locator("#run-status .badge")).to_have_text("Running")
    expect(page.locator("#run-status .progress")).to_be_visible()
    expect(page.get_by_test_id("rows-stored")).to_have_text("2", timeout=15_000)
    expect(page.locator("#run-status .badge")).to_have_text("Partial")


def test_new_organization_and_phone_width(live_server, page, phone_page, acme, screenshots_dir):
    newcomer = MemberFactory(
        email="first@new.test",
        organization=OrganizationFactory(slug="new-co", name="New Co"),
        role=Role.MANAGER,
    )
    log_in(page, live_server.url, newcomer.email)
    expect(page.get_by_role("heading", name="No data yet")).to_be_visible()
    expect(page.get_by_role("link", name="Import a CSV file")).to_be_visible()
    page.screenshot(path=screenshots_dir / "empty-state.png", full_page=True)

    log_in(phone_page, live_server.url, acme.email)
    expect(phone_page.locator('[data-metric="leads"] .metric__value')).to_have_text("18")
    # nothing is wider than the phone's screen
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_page.screenshot(path=screenshots_dir / "overview-phone.png", full_page=True)
    phone_page.locator("details.user-menu summary").click()
    expect(phone_page.get_by_role("button", name="Log out")).to_be_visible()
    phone_page.screenshot(path=screenshots_dir / "user-menu-phone.png")
    phone_page.get_by_role("button", name="Log out").click()
    expect(phone_page).to_have_url(re.compile(r"/accounts/login/$"))
