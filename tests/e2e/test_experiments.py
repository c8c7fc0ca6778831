"""In a real browser: a manager opens the dashboard's Campaigns tab, starts a template test from
a campaign's A/B variants, reads the results page (the forest plot and the rate chart), starts
it, decides, and the page shows the decision; nothing is refused by the Content-Security-Policy
and nothing fails in the console."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm.models import CampaignMessage, Role
from insights.experiments.models import Experiment, ExperimentEvent
from tests.e2e.conftest import htmx_settled
from tests.e2e.test_csp import csp_violations
from tests.e2e.test_login_overview import console_errors, log_in
from tests.factories import CampaignFactory, MemberFactory, OrganizationFactory

pytestmark = pytest.mark.e2e


def ab_messages(org, campaign, variant: str, *, delivered: int, replied: int, sent: dt.datetime) -> None:
    CampaignMessage.objects.bulk_create(
        CampaignMessage(
            organization=org,
            external_id=f"{campaign.external_id}-{variant}-{i}",
            campaign=campaign,
            variant=variant,
            sent_at=sent,
            delivered_at=sent + dt.timedelta(minutes=1),
            read_at=sent + dt.timedelta(minutes=4),
            replied_at=sent + dt.timedelta(minutes=9) if i < replied else None,
        )
        for i in range(delivered)
    )


@pytest.fixture
def acme_campaign(transactional_db):
    """A campaign that sent two templates two days ago: A 60 replies of 400 (15%), B 120 of 400
    (30%). Planned from A's 15% with a minimum effect of 10 points, the fixed test needs 250
    per variant (power.prop.test(p1 = .15, p2 = .25, power = .8): n = 247.9... rounded up by the
    engine), so reading the whole campaign it has enough, and B wins."""
    org = OrganizationFactory(slug="acme", name="Acme Ltd", timezone="Africa/Nairobi", currency="KES")
    manager = MemberFactory(
        email="manager@acme.test", name="Mia Manager", organization=org, role=Role.MANAGER
    )
    sent = timezone.now() - dt.timedelta(days=2)
    campaign = CampaignFactory(
        organization=org, external_id="K-E2E", name="Spring launch", started_at=sent - dt.timedelta(days=1)
    )
    ab_messages(org, campaign, "A", delivered=400, replied=60, sent=sent)
    ab_messages(org, campaign, "B", delivered=400, replied=120, sent=sent)
    return org, manager


def test_a_manager_starts_a_template_test_and_reads_its_decision(
    live_server, page: Page, acme_campaign, screenshots_dir
):
    _org, manager = acme_campaign
    errors = console_errors(page)
    violations = csp_violations(page)

    # given a signed-in manager on the dashboard's Campaigns tab
    log_in(page, live_server.url, manager.email)
    page.goto(f"{live_server.url}/dashboard/analytics?tab=campaigns&range=7d")
    htmx_settled(page)

    # when they start a template test from the campaign's A/B block
    page.get_by_test_id("campaign-variants").get_by_role("link", name="Start a template test").click()
    expect(page.get_by_role("heading", name="New template test")).to_be_visible()
    expect(page.locator('tr[data-variant="A"]')).to_be_visible()
    expect(page.locator('tr[data-variant="B"]')).to_be_visible()
    expect(page.get_by_test_id("baseline-defaults")).to_contain_text("Reply rate: 15.0% (0.1500) over 400")
    page.get_by_label("Name", exact=True).fill("Shorter first line")
    page.get_by_label("Hypothesis").fill("A shorter opening line gets more replies.")
    page.get_by_label("All of the campaign's messages").check()
    page.get_by_label("Frequentist (fixed sample)").check()
    page.get_by_label("Minimum detectable effect").fill("0.1")
    page.screenshot(path=screenshots_dir / "experiment-new.png", full_page=True)
    page.get_by_test_id("create-experiment").click()

    # then its page shows the plan and the results, with both charts
    expect(page.get_by_test_id("experiment-status")).to_have_text("Draft")
    experiment = Experiment.objects.get(name="Shorter first line")
    assert page.url == f"{live_server.url}/experiments/{experiment.pk}"
    expect(page.get_by_test_id("forest-plot")).to_be_visible()
    expect(page.get_by_test_id("rate-chart").locator("figure.chart svg")).to_be_visible()
    expect(page.locator('[data-testid="variants-table"] tr[data-variant="B"]')).to_contain_text("30.0%")
    expect(page.get_by_test_id("experiment-decision")).to_contain_text("Variant B wins")

    # when they start it: it runs, and its results refresh themselves
    page.get_by_test_id("start-experiment").click()
    expect(page.get_by_test_id("experiment-status")).to_have_text("Running")
    expect(page.get_by_text("Experiment started")).to_be_visible()
    expect(page.get_by_test_id("experiment-results")).to_have_attribute("hx-trigger", "every 30s")
    expect(page.get_by_test_id("results-updated")).to_contain_text("refreshes every 30 seconds")

    # and decide, after confirming
    page.get_by_test_id("decide-experiment").click()
    page.get_by_label("Note (optional)").last.fill("Roll B out to every send.")
    page.screenshot(path=screenshots_dir / "experiment-running.png", full_page=True)
    page.get_by_test_id("confirm-decide").click()

    # then the page shows the decision and its reason, and the history has it
    expect(page.get_by_test_id("experiment-status")).to_have_text("Decided")
    decision = page.get_by_test_id("experiment-decision")
    expect(decision).to_contain_text("Decision")
    expect(decision).to_contain_text("Variant B wins")
    expect(decision).to_contain_text("Variant B converts 30.0% against 15.0% for the control")
    history = page.get_by_test_id("experiment-history")
    expect(history.locator('tr[data-action="decided"]')).to_contain_text("Roll B out to every send.")
    expect(page.get_by_test_id("decide-experiment")).to_have_count(0)
    page.screenshot(path=screenshots_dir / "experiment-decided.png", full_page=True)
    experiment.refresh_from_db()
    assert (experiment.status, experiment.decision, experiment.winner_key) == ("decided", "stop: winner", "B")
    assert list(ExperimentEvent.objects.filter(experiment=experiment).values_list("action", flat=True)) == [
        "created",
        "started",
        "looked",
        "decided",
    ]

    # and the list has it with its decision
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Experiments").click()
    expect(page.locator(f'tr[data-experiment="{experiment.pk}"]')).to_contain_text("Variant B wins")
    page.screenshot(path=screenshots_dir / "experiments-list.png", full_page=True)

    assert violations == []
    assert errors == []
