"""In a real browser: a manager builds a report on /reports, previews it, exports a PDF (the
progress bar is polled until the download appears; a "worker" renders it a moment later),
downloads it, and schedules it to an agent and an outside address."""

from __future__ import annotations

import threading

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from playwright.sync_api import Page, expect

from crm.models import Role
from reports import tasks
from reports.models import Schedule
from tests.e2e.conftest import htmx_settled
from tests.e2e.test_login_overview import console_errors, log_in
from tests.factories import MemberFactory, OrganizationFactory
from tests.insights.factories import AS_OF, build_history

pytestmark = pytest.mark.e2e


@pytest.fixture
def acme_reports(transactional_db, settings, tmp_path):
    settings.REPORT_FILES_DIR = tmp_path / "reports"
    with time_machine.travel(AS_OF, tick=True):
        cache.clear()
        org = OrganizationFactory(slug="acme", name="Acme Ltd", timezone="Africa/Nairobi", currency="KES")
        manager = MemberFactory(
            email="manager@acme.test", name="Mia Manager", organization=org, role=Role.MANAGER
        )
        agent = MemberFactory(email="agent@acme.test", name="Alan Agent", organization=org, role=Role.AGENT)
        build_history(org, agent)
        yield org, manager, agent
        cache.clear()


def test_a_manager_builds_previews_exports_and_schedules_a_report(
    live_server, page: Page, acme_reports, monkeypatch, screenshots_dir
):
    org, manager, agent = acme_reports
    errors = console_errors(page)

    def render_later(export_id: int) -> None:
        def work() -> None:
            try:
                tasks.render_export(export_id)
            finally:
                connection.close()

        threading.Timer(1.0, work).start()

    monkeypatch.setattr(tasks.render_export, "delay", render_later)
    log_in(page, live_server.url, manager.email)
    page.get_by_role("link", name="Reports").click()

    # choose sections and a range, preview
    page.get_by_label("Dashboard: Revenue").check()
    page.get_by_test_id("range").select_option("7d")
    page.get_by_test_id("preview").click()
    htmx_settled(page)
    preview = page.get_by_test_id("report-preview")
    expect(preview).to_contain_text("Dashboard: Overview")
    expect(preview).to_contain_text("Dashboard: Revenue")
    expect(preview.locator('[data-metric="revenue.total"]').first).to_contain_text("KES")

    # export a PDF: the progress bar, then the download
    page.get_by_role("radio", name="PDF").check()
    page.get_by_test_id("export-now").click()
    expect(page.get_by_test_id("export-status")).to_be_visible()
    download_link = page.get_by_test_id("download")
    expect(download_link).to_be_visible(timeout=20_000)
    page.screenshot(path=screenshots_dir / "report-builder.png", full_page=True)
    with page.expect_download() as info:
        download_link.click()
    path = info.value.path()
    with open(path, "rb") as handle:
        assert handle.read(5) == b"%PDF-"

    # schedule it to the agent and an outside address
    form = page.get_by_test_id("schedule-form")
    form.get_by_label("Name").fill("Monday numbers")
    form.get_by_label("Every").select_option("weekly")
    form.get_by_label("Recipients").fill(f"{agent.email}, partner@example.com")
    page.get_by_test_id("schedule-create").click()
    expect(page.locator(".messages")).to_contain_text("partner@example.com")
    expect(page.get_by_test_id("schedules")).to_contain_text("Monday numbers")
    schedule = Schedule.objects.get(name="Monday numbers")
    assert schedule.recipients == [agent.email, "partner@example.com"]
    assert schedule.spec["sections"] == ["overview", "revenue"]
    assert schedule.spec["range"] == "7d"
    assert not errors, errors
