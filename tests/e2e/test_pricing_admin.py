"""In a real browser: a manager requests pricing suggestions on /pricing, then an admin (not
the requester) opens one in the Django admin, reads the analysis, approves it with a note and
sees the effective date; the database holds the decision and its audit row."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from crm.models import AuditLog, Role
from pricing.models import PricingSuggestion
from tests.e2e.conftest import htmx_settled
from tests.e2e.test_login_overview import console_errors, log_in
from tests.factories import MemberFactory, OrganizationFactory
from tests.pricing.conftest import add_quotes, make_product

pytestmark = pytest.mark.e2e


@pytest.fixture
def acme_pricing(transactional_db):
    org = OrganizationFactory(slug="acme", name="Acme Ltd", timezone="Africa/Nairobi", currency="KES")
    manager = MemberFactory(
        email="manager@acme.test", name="Mia Manager", organization=org, role=Role.MANAGER
    )
    admin = MemberFactory(
        email="admin@acme.test", name="Ada Admin", organization=org, role=Role.ADMIN, is_staff=True
    )
    product = make_product(org, "P-IN")
    add_quotes(org, product, n=240, slope=-0.4, win_at_list=0.5)
    return org, manager, admin


def log_out(page: Page) -> None:
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Log out").click()


def test_a_manager_requests_and_an_admin_approves_in_the_django_admin(
    live_server, page: Page, acme_pricing, screenshots_dir
):
    org, manager, admin = acme_pricing
    errors = console_errors(page)
    missing: list[str] = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)

    # a manager requests suggestions: the list fills in place
    log_in(page, live_server.url, manager.email)
    page.get_by_role("link", name="Pricing").click()
    expect(page.get_by_text("No pricing suggestions yet")).to_be_visible()
    page.get_by_test_id("request-suggestions").click()
    htmx_settled(page)
    expect(page.get_by_test_id("pricing-notice")).to_have_text("1 new suggestion, 0 products skipped.")
    row = page.locator('tr[data-product="P-IN"]')
    expect(row).to_contain_text("Proposed")
    page.screenshot(path=screenshots_dir / "pricing-page.png", full_page=True)
    log_out(page)

    # the admin reviews it in the Django admin
    log_in(page, live_server.url, admin.email)
    page.goto(f"{live_server.url}/admin/pricing/pricingsuggestion/?status__exact=proposed")
    page.locator("#result_list").get_by_role("link", name="Product P-IN").click()
    expect(page.get_by_role("heading", name="Price elasticity")).to_be_visible()
    expect(page.locator("figure.chart").first).to_be_visible()
    # approving without a note is refused by the browser (required) and by the server
    page.get_by_role("button", name="Approve").click()
    suggestion = PricingSuggestion.objects.get(product__external_id="P-IN")
    assert suggestion.status == "proposed"
    page.get_by_label("Notes (required: say why)").fill("Inelastic at today's price; Q1 plan.")
    page.get_by_role("button", name="Approve").click()

    # the effective date, 30 days after the decision, in the organization's time zone
    expect(page.locator(".messagelist")).to_contain_text("takes effect on")
    suggestion.refresh_from_db()
    assert suggestion.status == "approved"
    assert suggestion.effective_at - suggestion.decided_at == dt.timedelta(days=30)
    effective = suggestion.effective_at.astimezone(org.tz)
    expect(page.get_by_test_id("effective")).to_contain_text(f"{effective:%-d %B %Y}")
    expect(page.get_by_test_id("status")).to_have_text("Approved")
    page.screenshot(path=screenshots_dir / "pricing-admin-approved.png", full_page=True)
    decision = AuditLog.objects.get(object_id=str(suggestion.pk), action="pricing.approved")
    assert decision.actor_id == admin.pk
    assert decision.after["notes"] == "Inelastic at today's price; Q1 plan."
    # the admin's pages link no icon, so the browser asks for /favicon.ico: the only 404
    assert {url.removeprefix(live_server.url) for url in missing} <= {"/favicon.ico"}
    assert len([e for e in errors if not re.search(r"404 \(Not Found\)", e)]) == 0, errors
