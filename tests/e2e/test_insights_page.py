"""In a real browser: a manager opens /insights, resolves an insight with a note and moves an
opportunity from identified to in progress and then to converted, without a page reload;
the page shows each result at once and the database (and the audit log) holds it.

The world is tests/insights/bi/factories_ui.py build_bi_world (AS_OF 22 Nov 2026 12:00 UTC,
Nairobi UTC+3): "Wanjiru Foods has gone quiet" is the only high-priority insight, and
"Upgrade for Kamau Traders" (KES 1,000, 70%) is one of two identified opportunities.
"""

from __future__ import annotations

import re

import pytest
import time_machine
from django.core.cache import cache
from playwright.sync_api import Page, expect

from crm.models import AuditLog, Role
from insights.bi.models import BusinessInsight, Opportunity
from tests.e2e.conftest import PHONE, htmx_settled
from tests.e2e.test_login_overview import console_errors, log_in
from tests.factories import MemberFactory, OrganizationFactory
from tests.insights.bi.factories_ui import AS_OF, build_bi_world

pytestmark = pytest.mark.e2e


@pytest.fixture
def acme_insights(transactional_db):
    with time_machine.travel(AS_OF, tick=True):
        cache.clear()
        org = OrganizationFactory(slug="acme", name="Acme Ltd", timezone="Africa/Nairobi", currency="KES")
        manager = MemberFactory(
            email="manager@acme.test", name="Mia Manager", organization=org, role=Role.MANAGER
        )
        alan = MemberFactory(email="agent@acme.test", name="Alan Agent", organization=org, role=Role.AGENT)
        org_b = OrganizationFactory(slug="globex", name="Globex Corp")
        outsider = MemberFactory(email="boss@globex.test", organization=org_b, role=Role.ADMIN)
        yield build_bi_world(org, manager, alan, outsider)
        cache.clear()


def test_manager_resolves_an_insight_and_moves_an_opportunity(
    live_server, page: Page, acme_insights, screenshots_dir
):
    bi = acme_insights
    errors = console_errors(page)
    log_in(page, live_server.url, bi.manager.email)

    # given the insights page, reached from the navigation
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Insights", exact=True)).to_be_visible()
    expect(page.locator('[data-metric="openInsights"] .metric__value')).to_have_text("4")
    page.screenshot(path=screenshots_dir / "insights-page.png", full_page=True)
    page.evaluate("window.__marker = 1")  # gone if the page reloads

    # when the manager resolves the high-priority insight with a note
    insight = bi.insights["lead"]
    card = page.locator(f"#insight-{insight.pk}")
    expect(card).to_have_attribute("data-state", "open")
    htmx_settled(page)
    card.get_by_text("Resolve", exact=True).click()
    card.get_by_label("Note").fill("Called Wanjiru, demo booked for Friday")
    card.get_by_role("button", name="Mark resolved").click()

    # then the card says who resolved it and when, with the note, and the summary follows
    card = page.locator(f"#insight-{insight.pk}")
    expect(card).to_have_attribute("data-state", "resolved")
    expect(card.get_by_test_id("resolved-line")).to_have_text(
        re.compile(r"Resolved by Mia Manager at 2026-11-22 15:\d\d")
    )
    expect(card.get_by_test_id("resolution-note")).to_have_text("Called Wanjiru, demo booked for Friday")
    expect(page.locator('[data-metric="openInsights"] .metric__value')).to_have_text("3")
    expect(page.locator('[data-metric="openInsights"]')).to_contain_text("0 high · 1 medium · 2 low")
    card.scroll_into_view_if_needed()
    page.screenshot(path=screenshots_dir / "insights-resolved.png")

    # when the manager moves "Upgrade for Kamau Traders" to in progress
    opportunity = bi.opportunities["alan"]
    board = page.get_by_test_id("pipeline")
    board.scroll_into_view_if_needed()
    htmx_settled(page)
    board.locator(f"#opportunity-{opportunity.pk}").get_by_role("button", name="→ In progress").click()

    # then the board shows it in the In progress column, with the column totals updated
    in_progress = page.get_by_test_id("column-in_progress")
    expect(in_progress.locator(f"#opportunity-{opportunity.pk}")).to_be_visible()
    expect(in_progress.get_by_test_id("column-count")).to_have_text("2")
    expect(in_progress.get_by_test_id("column-value")).to_have_text("KES 3,000.00")  # 2000 + 1000
    expect(in_progress.get_by_test_id("column-weighted")).to_have_text("KES 1,600.00")  # 900 + 700
    expect(page.get_by_test_id("column-identified").get_by_test_id("column-count")).to_have_text("1")
    expect(page.get_by_test_id("board-notice")).to_contain_text("moved to In progress")

    # when it is converted
    htmx_settled(page)
    in_progress.locator(f"#opportunity-{opportunity.pk}").get_by_role("button", name="→ Converted").click()

    # then it sits among the converted ones, with no further move offered
    converted = page.get_by_test_id("column-converted")
    expect(converted.locator(f"#opportunity-{opportunity.pk}")).to_be_visible()
    expect(converted.get_by_test_id("column-count")).to_have_text("2")
    expect(converted.locator(f"#opportunity-{opportunity.pk} button")).to_have_count(0)
    expect(page.locator('[data-metric="openPipeline"] .metric__value')).to_have_text(
        "KES 2,400.00"
    )  # 400 + 2000
    page.get_by_test_id("pipeline").screenshot(path=screenshots_dir / "insights-board.png")

    # and nothing reloaded the page
    assert page.evaluate("window.__marker") == 1

    # and it is all stored, with its history and audit rows
    insight = BusinessInsight.objects.get(pk=insight.pk)
    assert (insight.resolved_by, insight.resolution_note) == (
        bi.manager,
        "Called Wanjiru, demo booked for Friday",
    )
    opportunity = Opportunity.objects.get(pk=opportunity.pk)
    assert opportunity.status == "converted"
    assert opportunity.closed_at is not None
    assert [(c.from_status, c.to_status, c.actor) for c in opportunity.changes.all()] == [
        ("identified", "in_progress", bi.manager),
        ("in_progress", "converted", bi.manager),
    ]
    assert AuditLog.objects.filter(action="insight.resolve", object_id=str(insight.pk)).count() == 1
    assert (
        AuditLog.objects.filter(action="opportunity.status_change", object_id=str(opportunity.pk)).count()
        == 2
    )

    # and a fresh load of the page shows the same state
    page.reload()
    expect(page.get_by_test_id("column-converted").locator(f"#opportunity-{opportunity.pk}")).to_be_visible()
    expect(page.locator(f"#insight-{insight.pk}")).to_have_count(0)  # the default list shows open ones
    page.goto(f"{live_server.url}/insights?resolved=true")
    expect(page.locator(f"#insight-{insight.pk}").get_by_test_id("resolved-line")).to_be_visible()
    assert errors == []


def test_agent_sees_their_own_insights_on_a_phone(
    live_server, phone_page: Page, acme_insights, screenshots_dir
):
    bi = acme_insights
    errors = console_errors(phone_page)
    log_in(phone_page, live_server.url, bi.alan.email)
    phone_page.goto(f"{live_server.url}/insights")
    expect(phone_page.get_by_test_id("scope-line")).to_contain_text("Your leads and opportunities")
    expect(phone_page.get_by_test_id("insight-card")).to_have_count(2)  # "lead" and "perf"
    expect(phone_page.get_by_text("Otieno Motors")).to_have_count(0)  # Bea's
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone_page.screenshot(path=screenshots_dir / "insights-agent-phone.png", full_page=True)
    assert errors == []
