"""In a real browser against a real ASGI server (daphne): the agent's page and /insights
follow the organization's data without a reload (issue 14: the agent's KPIs and activity
timeline, the insights counters). The server renders the sections again; the page swaps them."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm.models import Role
from tests.conftest import PASSWORD
from tests.e2e.test_live_dashboard import asgi_server, post_json  # noqa: F401 (fixture)
from tests.e2e.test_login_overview import console_errors
from tests.factories import MemberFactory, OrganizationFactory

pytestmark = [pytest.mark.e2e, pytest.mark.system]


def _members():
    org = OrganizationFactory(slug="live-pages", name="Live Pages", timezone="UTC", currency="KES")
    agent = MemberFactory(email="agent@livepages.test", organization=org, role=Role.AGENT)
    manager = MemberFactory(email="manager@livepages.test", organization=org, role=Role.MANAGER)
    admin = MemberFactory(email="admin@livepages.test", organization=org, role=Role.ADMIN, is_staff=True)
    # the server is a production-settings process: PBKDF2, not the tests' fast hasher
    for member in (agent, manager, admin):
        member.password = PBKDF2PasswordHasher().encode(PASSWORD, "live-salt-1234")
        member.save(update_fields=["password"])
    return agent, manager, admin


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_the_agents_kpis_and_timeline_follow_a_posted_sale_and_call(asgi_server, page: Page):  # noqa: F811
    base, _ = asgi_server
    agent, _, admin = _members()
    errors = console_errors(page)
    _log_in(page, base, agent.email)
    page.goto(f"{base}/agent/")
    expect(page.get_by_test_id("live-status")).to_have_text("Live", timeout=15_000)
    expect(page.get_by_test_id("agent-empty")).to_be_visible()

    token = post_json(f"{base}/api/auth/token/", {"email": admin.email, "password": PASSWORD})["access"]
    now = timezone.now().replace(microsecond=0)
    sale_at = (now - timezone.timedelta(hours=2)).isoformat()
    call_at = (now - timezone.timedelta(hours=1)).isoformat()
    post_json(
        f"{base}/api/v1/ingest/sales/",
        [{"external_id": "S-LP-1", "amount": "2500", "agent": agent.email, "closed_at": sale_at}],
        token,
    )
    post_json(
        f"{base}/api/v1/ingest/activities/",
        [
            {
                "external_id": "A-LP-1",
                "agent": agent.email,
                "type": "call",
                "occurred_at": call_at,
                "title": "Live call",
            }
        ],
        token,
    )
    # the empty state gives way to the cards, and the call tops the timeline, without a reload
    expect(page.locator('.agent-kpi[data-metric="revenue"] .metric__value')).to_contain_text(
        "2,500", timeout=15_000
    )
    expect(page.get_by_test_id("team-position")).to_be_visible()
    expect(page.locator("#agent-timeline .timeline__item").first).to_contain_text("Live call", timeout=15_000)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert not [e for e in errors if "favicon" not in e], errors


def test_the_insights_counters_follow_a_posted_sale(asgi_server, page: Page):  # noqa: F811
    base, _ = asgi_server
    agent, manager, admin = _members()
    errors = console_errors(page)
    _log_in(page, base, manager.email)
    page.goto(f"{base}/insights")
    expect(page.get_by_test_id("live-status")).to_have_text("Live", timeout=15_000)
    revenue = page.locator('#bi-summary [data-metric="revenue"] .metric__value')
    before = revenue.inner_text()

    token = post_json(f"{base}/api/auth/token/", {"email": admin.email, "password": PASSWORD})["access"]
    closed = (timezone.now() - timezone.timedelta(hours=1)).replace(microsecond=0).isoformat()
    post_json(
        f"{base}/api/v1/ingest/sales/",
        [{"external_id": "S-LP-2", "amount": "4321", "agent": agent.email, "closed_at": closed}],
        token,
    )
    expect(revenue).to_contain_text("4,321", timeout=15_000)
    assert before != revenue.inner_text()
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert not [e for e in errors if "favicon" not in e], errors
