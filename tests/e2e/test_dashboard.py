"""In a real browser: a manager reads the analytics dashboard, switches tabs without a page
reload, changes the range (kept in the address, so the view can be bookmarked) and drills down
from a chart to the records behind a number.

The history is tests/insights/factories.py (AS_OF = 15 Mar 2026 12:00 UTC, Nairobi UTC+3):
7d = [8 Mar 12:00, 15 Mar 12:00) UTC holds calls C1 (10 Mar, success), C2 (11 Mar, failed) and
C3 (14 Mar, success); 30d adds C4 (5 Mar, success).
"""

from __future__ import annotations

import re

import pytest
import time_machine
from django.core.cache import cache
from playwright.sync_api import Page, expect

from crm.models import Role
from tests.e2e.conftest import htmx_settled
from tests.e2e.test_login_overview import console_errors, log_in
from tests.factories import MemberFactory, OrganizationFactory
from tests.insights.factories import AS_OF, build_history

pytestmark = pytest.mark.e2e


@pytest.fixture
def acme_history(transactional_db):
    with time_machine.travel(AS_OF, tick=True):
        cache.clear()
        org = OrganizationFactory(slug="acme", name="Acme Ltd", timezone="Africa/Nairobi", currency="KES")
        agent = MemberFactory(email="agent@acme.test", organization=org, role=Role.AGENT)
        manager = MemberFactory(
            email="manager@acme.test", name="Mia Manager", organization=org, role=Role.MANAGER
        )
        build_history(org, agent)
        yield manager
        cache.clear()


def test_manager_switches_tabs_changes_range_and_drills_down(
    live_server, page: Page, acme_history, screenshots_dir
):
    errors = console_errors(page)
    log_in(page, live_server.url, acme_history.email)

    # given the dashboard for the last 7 days
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Analytics dashboard")).to_be_visible()
    page.goto(f"{live_server.url}/dashboard/analytics?range=7d")
    expect(page.get_by_test_id("overview-tab")).to_be_visible()
    expect(page.locator('[data-metric="calls"] .metric__value')).to_have_text("3")  # C1, C2, C3

    # when the Calls tab is clicked (a marker tells whether the page reloaded)
    page.evaluate("window.__marker = 1")
    htmx_settled(page)
    page.get_by_test_id("tabs").get_by_role("link", name="Calls").click()

    # then HTMX swapped the panel, the address names the tab and the range, no reload
    expect(page.get_by_test_id("calls-tab")).to_be_visible()
    expect(page).to_have_url(re.compile(r"tab=calls"))
    assert "range=7d" in page.url
    assert page.evaluate("window.__marker") == 1
    expect(page.get_by_test_id("calls-kpi-total").locator(".metric__value")).to_have_text("3")
    expect(page.get_by_test_id("calls-kpi-successRate").locator(".metric__value")).to_have_text(
        "66.7%"
    )  # 2/3
    expect(page.get_by_test_id("tabs").locator("a.is-active")).to_have_text("Calls")

    # when the range becomes 30 days
    htmx_settled(page)
    page.get_by_test_id("range-links").get_by_role("link", name="30 days").click()

    # then the same tab shows the wider window, bookmarkable
    expect(page).to_have_url(re.compile(r"range=30d"))
    assert "tab=calls" in page.url
    expect(page.get_by_test_id("calls-kpi-total").locator(".metric__value")).to_have_text("4")  # + C4
    page.screenshot(path=screenshots_dir / "dashboard-calls.png", full_page=True)

    # when the heatmap cell of Tuesday 13:00 Nairobi (C1: 10 Mar 10:00 UTC) is clicked
    cell = (
        page.get_by_test_id("calls-heatmap").locator('a.chart-link[href*="weekday=2"][href*="hour=13"]').first
    )
    htmx_settled(page)
    cell.click()

    # then the records page lists exactly that call
    expect(page).to_have_url(re.compile(r"/dashboard/analytics/records/calls\?"))
    expect(page.get_by_test_id("records-count")).to_have_text("1 record")
    rows = page.get_by_test_id("records-table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("2026-03-10 13:00")
    expect(rows.first).to_contain_text("success")

    # when the manager goes back and clicks the "success" slice of the outcome donut (on the
    # ring: the centre of a 3/4 slice's box is the hole)
    page.go_back()
    expect(page.get_by_test_id("calls-tab")).to_be_visible()
    slice_ = page.get_by_test_id("calls-outcomes").locator('a.chart-link[href*="outcome=success"]').first
    box = slice_.bounding_box()
    slice_.click(position={"x": box["width"] - 6, "y": box["height"] / 2})  # 3 o'clock, on the ring

    # then the records are the three successful calls of 30 days
    expect(page.get_by_test_id("records-count")).to_have_text("3 records")  # C1, C3, C4

    assert errors == []
