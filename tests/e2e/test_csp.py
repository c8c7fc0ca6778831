"""In a real browser, every main page under the Content-Security-Policy (docs/security.md): a
page that needs an inline script, an on*= handler, an inline style or a resource from another
origin logs "Refused to ..." in the console, and this test fails with the message.

The dashboard's tabs are followed by clicking (HTMX swaps), so swapped-in fragments are under
the policy too. The live_server fixture has no WebSocket; tests/e2e/test_live_dashboard.py
opens the live socket under the same policy on an ASGI server.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import ConsoleMessage, Page, expect

from crm.models import CampaignMessage, Role
from insights.experiments import services as experiments
from insights.experiments.services import VariantSpec
from tests.e2e.conftest import htmx_settled
from tests.e2e.test_login_overview import log_in
from tests.factories import CampaignFactory, MemberFactory, OrganizationFactory
from tests.insights.factories import AS_OF, build_history

pytestmark = pytest.mark.e2e

CSP_MARKERS = ("Content Security Policy", "Content-Security-Policy", "Refused to")

# Pages a manager reads, each with a heading or element that shows it rendered.
MANAGER_PAGES = [
    ("/", "heading", "Overview"),
    ("/agents/team/", "heading", "Team"),
    ("/insights", "heading", "Insights"),
    ("/reports", "heading", "Reports"),
    ("/pricing", "heading", "Pricing"),
    ("/experiments", "heading", "Experiments"),
    ("/experiments/new", "heading", "New experiment"),
    ("/import/", "heading", "Import"),
]


def csp_violations(page: Page) -> list[str]:
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if any(marker in message.text for marker in CSP_MARKERS):
            found.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    # The DOM event names what was refused even where the console message is terse.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', function (event) {"
        " console.error('Content Security Policy violation: ' + event.violatedDirective"
        " + ' blocked ' + (event.blockedURI || 'inline') + ' (' + event.sourceFile + ':'"
        " + event.lineNumber + ')'); });"
    )
    return found


@pytest.fixture
def acme_people(transactional_db):
    """The dashboard's history (tests/insights/factories.py), so the pages draw their charts,
    bars and tables rather than empty states."""
    with time_machine.travel(AS_OF, tick=True):
        cache.clear()
        org = OrganizationFactory(slug="acme", name="Acme Ltd", timezone="Africa/Nairobi", currency="KES")
        manager = MemberFactory(email="manager@acme.test", organization=org, role=Role.MANAGER)
        agent = MemberFactory(email="agent@acme.test", organization=org, role=Role.AGENT)
        admin = MemberFactory(email="admin@acme.test", organization=org, role=Role.ADMIN, is_staff=True)
        build_history(org, agent)
        yield manager, agent, admin
        cache.clear()


def running_experiment(manager):
    """A running template test read over a whole campaign (A 4 replies of 20, B 8 of 20), so its
    page draws the results, the forest plot, the rate chart and polls for new numbers."""
    org, now = manager.organization, timezone.now()
    campaign = CampaignFactory(organization=org, external_id="K-CSP", name="CSP campaign")
    CampaignMessage.objects.bulk_create(
        CampaignMessage(
            organization=org,
            external_id=f"K-CSP-{variant}-{i}",
            campaign=campaign,
            variant=variant,
            sent_at=now - dt.timedelta(days=1),
            delivered_at=now - dt.timedelta(days=1),
            replied_at=now - dt.timedelta(hours=20) if i < replies else None,
        )
        for variant, replies in (("A", 4), ("B", 8))
        for i in range(20)
    )
    experiment = experiments.experiment_create(
        organization=org,
        actor=manager,
        name="Shorter first line",
        kind="campaign",
        campaign_id="K-CSP",
        variants=[VariantSpec("A", 0.5), VariantSpec("B", 0.5)],
        metric="reply_rate",
        minimum_detectable_effect=0.1,
        method="sequential",
        scope="whole_campaign",
        now=now,
    )
    return experiments.experiment_start(organization=org, actor=manager, experiment_id=experiment.pk, now=now)


def test_the_login_page_and_the_main_pages_log_no_csp_violation(live_server, page: Page, acme_people):
    manager, _agent, _admin = acme_people
    violations = csp_violations(page)

    # given the login page, then a signed-in manager
    log_in(page, live_server.url, manager.email)

    # when every main page is opened
    for path, role, name in MANAGER_PAGES:
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role(role, name=name, exact=False).first).to_be_visible()
        htmx_settled(page)

    # and every dashboard tab is followed through HTMX
    page.goto(f"{live_server.url}/dashboard/analytics")
    tabs = page.get_by_test_id("tabs").get_by_role("link")
    for index in range(tabs.count()):
        htmx_settled(page)
        tabs.nth(index).click()
        expect(tabs.nth(index)).to_have_attribute("aria-current", "page")
        htmx_settled(page)

    # and an experiment's page: its SVG forest plot and chart, its polling results region, and
    # the confirmation of a stop (a disclosure, no script)
    experiment = running_experiment(manager)
    page.goto(f"{live_server.url}/experiments/{experiment.pk}")
    expect(page.get_by_test_id("forest-plot")).to_be_visible()
    expect(page.get_by_test_id("experiment-results")).to_have_attribute("hx-trigger", "every 30s")
    page.get_by_test_id("stop-experiment").click()
    expect(page.get_by_test_id("confirm-stop")).to_be_visible()
    htmx_settled(page)

    # and a select that submits its form on change (the pricing filter) still does
    page.goto(f"{live_server.url}/pricing")
    page.get_by_label("Status").select_option("approved")
    page.wait_for_url("**/pricing?status=approved")

    # then the browser refused nothing
    assert violations == []


def test_the_agent_page_logs_no_csp_violation(live_server, page: Page, acme_people):
    _manager, agent, _admin = acme_people
    violations = csp_violations(page)

    log_in(page, live_server.url, agent.email)
    page.goto(f"{live_server.url}/agent/")
    expect(page.get_by_role("heading", name="My analytics", exact=False).first).to_be_visible()
    htmx_settled(page)

    assert violations == []


def test_the_api_docs_and_the_admin_log_no_csp_violation(live_server, page: Page, acme_people):
    _manager, _agent, admin = acme_people
    violations = csp_violations(page)
    log_in(page, live_server.url, admin.email)

    # Swagger UI: its init script is a separate file, and the operations render from the schema;
    # nothing is fetched from another origin
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: elsewhere.append(request.url)
        if not request.url.startswith(live_server.url)
        else None,
    )
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    assert elsewhere == []

    # the Django admin: the index, a list and a change form (its scripts are files)
    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.goto(f"{live_server.url}/admin/crm/member/")
    page.locator("#result_list tbody th a").first.click()
    expect(page.locator("form#member_form")).to_be_visible()

    assert violations == []
