"""In a real browser: an agent reads their analytics, toggles the revenue chart, sets a goal
and loads more activity without a page reload; a manager sorts the team table.

The history of tests/agents/factories.py is dated around AS_OF; the live server runs in a
thread of this process, so time_machine moves its clock too (tick=True keeps it running,
for the browser's timeouts and the session).
"""

from __future__ import annotations

import re

import pytest
import time_machine
from django.core.cache import cache
from playwright.sync_api import Page, expect

from crm.models import Role
from tests.agents.factories import AS_OF, at, build_history
from tests.e2e.conftest import PHONE, htmx_settled
from tests.e2e.test_login_overview import console_errors, log_in
from tests.factories import ActivityFactory, MemberFactory, OrganizationFactory

pytestmark = pytest.mark.e2e

ACTIVITIES = 25  # more than a timeline page (20)


@pytest.fixture
def at_as_of():
    with time_machine.travel(AS_OF, tick=True):
        yield


@pytest.fixture
def acme_agents(transactional_db, at_as_of):
    """Alan (the history's agent) with 25 calls, Bea, and their manager."""
    cache.clear()
    org = OrganizationFactory(slug="acme", name="Acme Ltd", timezone="Africa/Nairobi", currency="KES")
    alan = MemberFactory(email="agent@acme.test", name="Alan Agent", organization=org, role=Role.AGENT)
    manager = MemberFactory(
        email="manager@acme.test", name="Mia Manager", organization=org, role=Role.MANAGER
    )
    build_history(org, alan)
    for n in range(ACTIVITIES):
        ActivityFactory(
            organization=org,
            agent=alan,
            type="call" if n % 3 else "email",
            occurred_at=at(11, 1 + n % 21, 8 + n % 9),
            title=f"Follow-up {n}",
            description=f"Lead L{n % 7 + 1}",
            duration_seconds=60 + n * 7,
        )
    yield alan, manager
    cache.clear()


def test_agent_reads_toggles_sets_a_goal_and_loads_more(
    live_server, page: Page, acme_agents, screenshots_dir
):
    alan, _ = acme_agents
    errors = console_errors(page)

    # given the agent signed in on their page for the last 30 days
    log_in(page, live_server.url, alan.email)
    page.get_by_role("link", name="My analytics").click()
    expect(page.get_by_role("heading", name="My analytics")).to_be_visible()
    page.goto(f"{live_server.url}/agent/?range=30d")

    # then the KPI cards have numbers and the team position is named
    # 30d: L1-L7 handled; S1 1000 + S2 250.50 + S3 500 + S5 99 + S6 10 sold (S4 is older)
    expect(page.locator('[data-metric="leads"] .metric__value')).to_have_text("7")
    expect(page.locator('[data-metric="revenue"] .metric__value')).to_have_text("KES 1,859.50")
    expect(page.get_by_test_id("team-position")).to_have_text("2nd of 2")
    expect(page.locator('[data-metric="response"] .trend')).to_have_attribute("data-sense", re.compile("."))
    revenue = page.locator("#agent-revenue")
    expect(revenue).to_have_attribute("data-period", "daily")
    daily_points = int(revenue.get_attribute("data-points"))
    assert daily_points == 31  # local days 23 Oct .. 22 Nov
    page.screenshot(path=screenshots_dir / "agent.png", full_page=True)

    # when "Weekly" is clicked (a marker shows whether the page reloads)
    page.evaluate("window.__marker = 1")
    page.locator("#revenue-periods").get_by_role("link", name="Weekly").click()

    # then only the chart changed, and the address bar says so
    expect(revenue).to_have_attribute("data-period", "weekly")
    expect(revenue.locator("figcaption")).to_have_text("Revenue per week, last 30 days")
    assert int(revenue.get_attribute("data-points")) == 5 < daily_points  # ISO weeks from 19 Oct
    expect(page).to_have_url(re.compile(r"/agent/\?range=30d&period=weekly&filter=all$"))
    assert page.evaluate("window.__marker") == 1
    # the range links keep the weekly chart
    expect(page.locator("#agent-ranges").get_by_role("link", name="7 days")).to_have_attribute(
        "href", re.compile("period=weekly")
    )

    # when monthly targets of 4 conversions and KES 1,500 are saved
    goals = page.locator("#agent-goals")
    goals.get_by_label("Conversions").fill("4")
    goals.get_by_label("Revenue", exact=True).fill("1500")
    goals.get_by_role("button", name="Save goals").click()

    # then their progress bars show 2 of 4 (L1 and L5 converted in November) and
    # KES 1,760.50 of 1,500 (117.4%, achieved)
    goal = page.locator('[data-goal="monthly-conversions"]')
    expect(goal).to_contain_text("50.0%")
    expect(goal.locator(".progress__bar")).to_have_attribute("width", "50.0%")
    expect(page.locator('[data-goal="monthly-revenue"]')).to_contain_text("117.4%")
    expect(page.locator('[data-goal="monthly-revenue"]')).to_have_class(re.compile("goal--achieved"))
    expect(page.locator("#agent-goals .alert--success")).to_have_text("Goals saved.")
    assert page.evaluate("window.__marker") == 1
    page.screenshot(path=screenshots_dir / "agent-weekly-goals.png", full_page=True)

    # when the period is switched to quarterly, the form shows that period's (empty) targets
    htmx_settled(page)
    page.locator("#agent-goals").get_by_label("Period").select_option("quarterly")
    expect(page.get_by_role("spinbutton", name="Conversions")).to_have_value("")
    htmx_settled(page)
    page.locator("#agent-goals").get_by_label("Period").select_option("monthly")
    expect(page.get_by_role("spinbutton", name="Conversions")).to_have_value("4")

    # and a negative target is refused on its field
    htmx_settled(page)
    goals = page.locator("#agent-goals")
    goals.get_by_label("Revenue", exact=True).fill("-5")
    goals.get_by_role("button", name="Save goals").click()
    expect(page.locator("#agent-goals .field__error")).to_have_text("The target must be zero or more.")

    # when "load more" is clicked under the timeline
    items = page.locator("#agent-timeline .timeline__item")
    expect(items).to_have_count(20)
    page.locator("#agent-timeline").get_by_role("link", name="Load more").click()

    # then the rest is appended, and the button is gone (nothing left)
    expect(items).to_have_count(ACTIVITIES)
    assert page.evaluate("window.__marker") == 1
    page.screenshot(path=screenshots_dir / "agent-after-actions.png", full_page=True)

    # when the "Emails" tab is chosen
    page.locator("#timeline-tabs").get_by_role("link", name="Emails").click()
    expect(page.locator("#agent-timeline")).to_have_attribute("data-filter", "emails")
    expect(page).to_have_url(re.compile(r"period=weekly&filter=emails$"))
    assert page.evaluate("window.__marker") == 1
    assert errors == []


def test_agent_page_at_phone_width(live_server, phone_page: Page, acme_agents, screenshots_dir):
    alan, _ = acme_agents
    log_in(phone_page, live_server.url, alan.email)
    phone_page.goto(f"{live_server.url}/agent/?range=30d")
    expect(phone_page.get_by_test_id("team-position")).to_have_text("2nd of 2")
    # nothing but the charts (which scroll inside their own box) is wider than the screen
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone_page.screenshot(path=screenshots_dir / "agent-phone.png", full_page=True)


def test_new_agent_sees_the_empty_state(live_server, page: Page, acme_agents, screenshots_dir):
    newcomer = MemberFactory(
        email="new@acme.test", name="Nina New", organization=acme_agents[0].organization, role=Role.AGENT
    )
    log_in(page, live_server.url, newcomer.email)
    page.goto(f"{live_server.url}/agent/")
    expect(page.get_by_test_id("agent-empty")).to_contain_text("No numbers for the last 30 days yet")
    expect(page.locator("#agent-goals")).to_contain_text("No goals for this month")
    page.screenshot(path=screenshots_dir / "agent-empty.png", full_page=True)


def test_manager_sorts_the_team_and_opens_an_agent(live_server, page: Page, acme_agents, screenshots_dir):
    alan, manager = acme_agents
    errors = console_errors(page)
    log_in(page, live_server.url, manager.email)

    page.get_by_role("link", name="Team", exact=True).click()
    expect(page.get_by_role("heading", name="Team")).to_be_visible()
    rows = page.locator("#team-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-agent", "bea@acme.test")  # rank 1

    # when the Leads handled header is clicked (HTMX swaps the table)
    page.evaluate("window.__marker = 1")
    page.locator("#team-table").get_by_role("link", name="Leads handled").click()
    expect(page.locator("#team-table")).to_have_attribute("data-sort", "-leads")
    expect(rows.first).to_have_attribute("data-agent", alan.email)  # 7 leads against 1
    expect(page).to_have_url(re.compile(r"sort=-leads"))
    assert page.evaluate("window.__marker") == 1
    page.screenshot(path=screenshots_dir / "team.png", full_page=True)

    # and an agent's name opens their analytics
    page.get_by_role("link", name="Alan Agent").click()
    expect(page.get_by_role("heading", name="Alan Agent", exact=True)).to_be_visible()
    expect(page.locator('[data-metric="leads"] .metric__value')).to_have_text("7")
    assert errors == []
