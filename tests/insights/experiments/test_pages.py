"""The experiment pages (docs/experiments.md, "Pages"): the list, a new template or price test
(valid and refused plans), a price test from a pricing suggestion, an experiment's page with its
results worded and formatted, its actions, the campaigns tab's entry link, tenancy and roles,
the detail page's query count, and the forest plot's coordinates (pure, no database).

Clock: NOW (20 Nov 2026 09:00 UTC); organization A is in Africa/Nairobi (UTC+3, "EAT").
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from crm.models import CampaignMessage, Lead
from insights.experiments import services
from insights.experiments.assignment import assign
from insights.experiments.forest import Interval, forest_plot
from insights.experiments.models import Experiment, ExperimentAction, ExperimentEvent
from insights.experiments.services import VariantSpec
from tests.factories import CampaignFactory, LeadFactory
from tests.insights.experiments.conftest import DAY, HOUR, NOW, START, message, quote
from tests.insights.experiments.test_from_suggestion import make_suggestion

LIST = "/experiments"
NEW = "/experiments/new"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def signed_in(member) -> Client:
    client = Client()
    client.force_login(member)
    return client


def template_test(org, member, *, name: str = "Shorter first line", scope: str = "since_start", **changes):
    """A draft A/B reply-rate test of campaign K1, planned from 0.25 to 0.35: R's
    power.prop.test(p1 = .25, p2 = .35, power = .8) gives n = 328.4, so 329 per variant."""
    arguments = {
        "organization": org,
        "actor": member,
        "name": name,
        "hypothesis": "A shorter opening line gets more replies.",
        "kind": "campaign",
        "campaign_id": "K1",
        "variants": [VariantSpec("A", 0.5), VariantSpec("B", 0.5)],
        "metric": "reply_rate",
        "baseline_rate": 0.25,
        "minimum_detectable_effect": 0.1,
        "method": "frequentist",
        "scope": scope,
        "now": START - DAY,
        **changes,
    }
    return services.experiment_create(**arguments)


@pytest.fixture
def running(org_a, manager_a, campaign):
    """Started at START; since then A: 10 delivered, 2 replied; B: 10 delivered, 5 replied."""
    experiment = template_test(org_a, manager_a)
    services.experiment_start(organization=org_a, actor=manager_a, experiment_id=experiment.pk, now=START)
    for variant, replies in (("A", 2), ("B", 5)):
        for i in range(10):
            message(org_a, campaign, variant, None, START + (i + 1) * HOUR, replied=i < replies)
    return experiment


def bulk_messages(org, campaign, variant: str, *, delivered: int, replied: int, sent: dt.datetime) -> None:
    CampaignMessage.objects.bulk_create(
        CampaignMessage(
            organization=org,
            external_id=f"{campaign.external_id}-{variant}-{i}",
            campaign=campaign,
            variant=variant,
            sent_at=sent,
            delivered_at=sent + dt.timedelta(minutes=1),
            replied_at=sent + dt.timedelta(minutes=9) if i < replied else None,
        )
        for i in range(delivered)
    )


@pytest.fixture
def decisive(org_a, manager_a):
    """Campaign K2 after START: A 40 of 400 replied (10%), B 120 of 400 (30%), read as a whole
    campaign; planned from 0.10 to 0.20 (199 per variant), so the fixed test is read: B wins."""
    k2 = CampaignFactory(organization=org_a, external_id="K2", name="Autumn", started_at=START)
    bulk_messages(org_a, k2, "A", delivered=400, replied=40, sent=START + HOUR)
    bulk_messages(org_a, k2, "B", delivered=400, replied=120, sent=START + HOUR)
    return template_test(
        org_a,
        manager_a,
        name="Autumn subject line",
        campaign_id="K2",
        baseline_rate=0.1,
        scope="whole_campaign",
    )


def field_block(html: str, name: str) -> str:
    """The markup of one form field (partials/field.html), from its label to the next one."""
    match = re.search(rf'<label for="id_{name}">(?:(?!<label ).)*', html, re.S)
    assert match, name
    return match.group(0)


# --- roles and tenancy ----------------------------------------------------------------------------


def test_an_agent_is_refused_every_experiment_page(agent_a, running):
    client = signed_in(agent_a)
    for url in (LIST, NEW, f"/experiments/{running.pk}", f"/experiments/{running.pk}/results"):
        assert client.get(url).status_code == 403, url
    for url in (
        f"/experiments/{running.pk}/stop",
        f"/experiments/{running.pk}/decide",
        "/experiments/from-suggestion/1",
    ):
        assert client.post(url).status_code == 403, url
    assert Experiment.objects.get(pk=running.pk).status == "running"


def test_another_organizations_experiment_is_a_404_like_a_missing_one(
    outsider, running, org_a, manager_a, product
):
    client = signed_in(outsider)
    suggestion = make_suggestion(org_a, product, manager_a)
    for url in (f"/experiments/{running.pk}", f"/experiments/{running.pk}/results", "/experiments/999999"):
        assert client.get(url).status_code == 404, url
    for url in (f"/experiments/{running.pk}/stop", f"/experiments/{running.pk}/decide"):
        assert client.post(url).status_code == 404, url
    assert client.post(f"/experiments/from-suggestion/{suggestion.pk}").status_code == 404
    # nor can a form be planned on A's campaign or product
    assert client.get(NEW, {"campaign": "K1"}).status_code == 404
    assert client.get(NEW, {"product": "P1"}).status_code == 404
    # nothing moved, nothing was created, and A's list is not B's
    assert Experiment.objects.get(pk=running.pk).status == "running"
    assert not Experiment.objects.filter(pricing_suggestion=suggestion).exists()
    assert "Shorter first line" not in client.get(LIST).content.decode()


# --- the list ---------------------------------------------------------------------------------------


def test_without_experiments_the_list_says_how_to_start_one(manager_a):
    html = signed_in(manager_a).get(LIST).content.decode()
    assert "No experiments yet" in html
    assert f'href="{NEW}"' in html
    # the navigation has the entry, marked as the current page
    assert 'aria-current="page">Experiments</a>' in html


def test_the_list_shows_status_progress_and_decision_with_tabs(org_a, manager_a, running, decisive):
    # given a draft, a running and a decided experiment
    draft = template_test(org_a, manager_a, name="Emoji in the subject")
    services.experiment_start(organization=org_a, actor=manager_a, experiment_id=decisive.pk, now=NOW - HOUR)
    services.experiment_decide(organization=org_a, actor=manager_a, experiment_id=decisive.pk, now=NOW - HOUR)
    client = signed_in(manager_a)

    # when the list is read
    html = client.get(LIST).content.decode()

    # then each row has its status, progress and decision
    assert re.search(r">All <span class=\"exp-count\">3</span>", html)
    assert re.search(r">Running <span class=\"exp-count\">1</span>", html)
    assert re.search(r">Decided <span class=\"exp-count\">1</span>", html)
    running_row = re.search(rf'<tr data-experiment="{running.pk}">.*?</tr>', html, re.S).group(0)
    # measured now: 10 delivered messages of the 329 each variant needs, a bar of 10 / 329 = 3.0%
    assert running_row.count("10 / 329") == 2
    assert 'width="3.0%"' in running_row
    decided_row = re.search(rf'<tr data-experiment="{decisive.pk}">.*?</tr>', html, re.S).group(0)
    # the numbers it closed with: 400 of 199, a full bar
    assert decided_row.count("400 / 199") == 2
    assert 'width="100.0%"' in decided_row
    assert "<strong>Variant B wins</strong>" in decided_row
    draft_row = re.search(rf'<tr data-experiment="{draft.pk}">.*?</tr>', html, re.S).group(0)
    assert "Not started" in draft_row

    # and a tab shows one status only
    only_running = client.get(LIST, {"status": "running"}).content.decode()
    assert f'data-experiment="{running.pk}"' in only_running
    assert f'data-experiment="{draft.pk}"' not in only_running
    assert "No experiment with this status" in client.get(LIST, {"status": "stopped"}).content.decode()


def test_the_list_pages_keep_the_status(org_a, manager_a, campaign, monkeypatch):
    monkeypatch.setattr("insights.experiments.views.PER_PAGE", 2)
    for n in range(3):
        template_test(org_a, manager_a, name=f"Test {n}")
    html = signed_in(manager_a).get(LIST, {"status": "draft"}).content.decode()
    assert "Page 1 of 2" in html
    assert 'href="?status=draft&amp;page=2"' in html


# --- a new experiment ---------------------------------------------------------------------------------


def test_the_new_page_offers_campaigns_and_products(manager_a, campaign, product):
    html = signed_in(manager_a).get(NEW).content.decode()
    # K1 has sent variants A and B
    assert '<option value="K1">Spring (K1) · 2 variants</option>' in html
    assert '<option value="P1">Product P1 (P1) · 100.00 KES</option>' in html


def test_a_campaign_prefills_its_variants_with_equal_shares_and_the_default_baseline(manager_a, campaign):
    response = signed_in(manager_a).get(NEW, {"campaign": "K1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Campaign <strong>Spring</strong> (K1)" in html
    for key in ("A", "B"):
        assert f'<tr data-variant="{key}">' in html
    assert html.count('value="50.00"') == 2
    assert 'name="control" value="A"' in html
    # the control A so far: 1 reply and 2 reads of 4 delivered messages
    assert "Reply rate: 25.0% (0.2500) over 4 delivered messages" in html
    assert "Read rate: 50.0% (0.5000) over 4 delivered messages" in html
    # one line on each method
    assert "Safe to look at any time" in html


def post_template_test(client: Client, **changes) -> object:
    data = {
        "name": "Shorter first line",
        "hypothesis": "Shorter gets more replies.",
        "variant-0-include": "on",
        "variant-0-share": "50",
        "variant-1-include": "on",
        "variant-1-share": "50",
        "control": "A",
        "metric": "reply_rate",
        "scope": "since_start",
        "method": "sequential",
        "alpha": "0.05",
        "power": "0.8",
        "baseline_rate": "",
        "baseline_sd": "",
        "minimum_detectable_effect": "0.1",
        **changes,
    }
    return client.post(f"{NEW}?campaign=K1", {k: v for k, v in data.items() if v is not None})


def test_a_valid_template_test_is_created_and_its_page_opens(manager_a, campaign):
    client = signed_in(manager_a)
    # B as the control: its rate so far (1 reply of 1 delivered) cannot plan, so a baseline is given
    response = post_template_test(client, control="B", baseline_rate="0.3")
    experiment = Experiment.objects.get(name="Shorter first line")
    assert response.status_code == 302
    assert response["Location"] == f"/experiments/{experiment.pk}"
    # the chosen control leads
    assert [(v.key, v.weight) for v in experiment.variants.all()] == [("B", 0.5), ("A", 0.5)]
    assert experiment.baseline_rate == 0.3
    assert (experiment.kind, experiment.metric, experiment.method, experiment.status) == (
        "campaign",
        "reply_rate",
        "sequential",
        "draft",
    )


def test_an_invalid_plan_is_a_400_with_the_services_reason_under_its_field(manager_a, campaign):
    client = signed_in(manager_a)

    # alpha outside (0, 1): the service's sentence under the alpha field
    response = post_template_test(client, alpha="1.5")
    assert response.status_code == 400
    assert "alpha must be strictly between 0 and 1." in field_block(response.content.decode(), "alpha")

    # a baseline that leaves no room for the effect (0.95 + 0.1 >= 1)
    response = post_template_test(client, baseline_rate="0.95")
    assert response.status_code == 400
    block = field_block(response.content.decode(), "minimum_detectable_effect")
    assert "baselineRate + minimumDetectableEffect must stay" in block

    # one variant only: the service's refusal under the variants table
    response = post_template_test(client, **{"variant-1-include": None, "variant-0-share": "100"})
    assert response.status_code == 400
    assert re.search(
        r'data-testid="variants-error">An experiment needs at least two variants.<', response.content.decode()
    )

    # shares are percent and must add up to 100 (the form's own rule)
    response = post_template_test(client, **{"variant-1-share": "40"})
    assert response.status_code == 400
    assert "The shares add up to 90%; they must add up to 100%." in response.content.decode()

    # no name: the form's required field
    response = post_template_test(client, name="")
    assert response.status_code == 400
    assert "This field is required." in field_block(response.content.decode(), "name")

    # the form comes back with what was typed, and nothing was created
    assert 'value="1.5"' not in response.content.decode()
    assert not Experiment.objects.exists()


def test_posting_without_a_campaign_or_product_is_a_400(manager_a):
    response = signed_in(manager_a).post(NEW, {})
    assert response.status_code == 400
    assert "Choose a campaign or a product first." in response.content.decode()


def test_an_unknown_campaign_is_a_404(manager_a):
    client = signed_in(manager_a)
    assert client.get(NEW, {"campaign": "NOPE"}).status_code == 404
    assert client.get(NEW, {"campaign": "x" * 101}).status_code == 404
    assert client.get(NEW, {"campaign": "K\x001"}).status_code == 404


def test_a_price_test_is_planned_with_prices(manager_a, product):
    client = signed_in(manager_a)
    html = client.get(NEW, {"product": "P1"}).content.decode()
    assert 'name="variant-0-key" value="current"' in html
    assert 'name="variant-0-price" value="100.00"' in html
    # the product's last 90 days: 4 won of 10 decided quotes
    assert "Conversion rate: 40.0% (0.4000) over 10 decided quotes" in html

    response = client.post(
        f"{NEW}?product=P1",
        {
            "name": "Ten percent more",
            "variant-0-key": "current",
            "variant-0-price": "100.00",
            "variant-0-share": "50",
            "variant-1-key": "higher",
            "variant-1-price": "110.00",
            "variant-1-share": "50",
            "metric": "conversion_rate",
            "method": "frequentist",
            "alpha": "0.05",
            "power": "0.8",
            "minimum_detectable_effect": "0.1",
        },
    )
    experiment = Experiment.objects.get(name="Ten percent more")
    assert response.status_code == 302
    assert [(v.key, v.price, v.weight) for v in experiment.variants.all()] == [
        ("current", Decimal("100.00"), 0.5),
        ("higher", Decimal("110.00"), 0.5),
    ]
    # planned from the product's 0.4: R's power.prop.test(p1 = .4, p2 = .5, power = .8) n = 387.3
    assert experiment.required_sample_size == 388


# --- from a pricing suggestion ----------------------------------------------------------------------------


def test_a_suggestion_is_tested_first_and_then_links_to_its_test(org_a, manager_a, product):
    suggestion = make_suggestion(org_a, product, manager_a)
    client = signed_in(manager_a)

    # given the pricing page with a proposed suggestion: the button
    html = client.get("/pricing").content.decode()
    assert f'action="/experiments/from-suggestion/{suggestion.pk}"' in html
    assert "Test this price first" in html

    # when it is pressed
    response = client.post(f"/experiments/from-suggestion/{suggestion.pk}")

    # then a draft price test of the current against the suggested price opens
    experiment = Experiment.objects.get(pricing_suggestion=suggestion)
    assert response["Location"] == f"/experiments/{experiment.pk}"
    page = client.get(response["Location"]).content.decode()
    assert "Price test created as a draft" in page
    assert "Price test on product <strong>Product P1</strong> (P1)" in page
    assert 'data-testid="start-experiment"' in page
    # and the pricing page links to it instead of offering a second one
    html = client.get("/pricing").content.decode()
    assert f'href="/experiments/{experiment.pk}"' in html
    assert "Test this price first" not in html

    # a second press while it is a draft: the service's refusal, back on the pricing page
    again = client.post(f"/experiments/from-suggestion/{suggestion.pk}", follow=True)
    assert "already has a price test in draft or running" in again.content.decode()
    assert Experiment.objects.filter(pricing_suggestion=suggestion).count() == 1


# --- an experiment's page ---------------------------------------------------------------------------------


def test_the_results_are_shown_worded_and_formatted(manager_a, running):
    html = signed_in(manager_a).get(f"/experiments/{running.pk}").content.decode()

    # the header and the plan
    assert 'data-testid="experiment-status">Running<' in html
    assert "A shorter opening line gets more replies." in html
    assert "Template test on campaign <strong>Spring</strong> (K1)" in html
    assert "329 delivered messages per variant" in html
    assert "+10.0 pts" in html  # the minimum detectable effect
    assert f'hx-get="/experiments/{running.pk}/results" hx-trigger="every 30s"' in html
    assert "Updated 20 Nov 2026, 12:00:00 EAT" in html

    # per variant: A 2 of 10 = 20.0%, Wilson (2 + 1.92) / 13.84 -+ 0.1416 x 1.600 = 5.7% to 51.0%;
    # B 5 of 10 = 50.0%, 50.0 -+ 0.1416 x 1.860 = 23.7% to 76.3%
    a_row = re.search(r'<tr data-variant="A">.*?</tr>', html, re.S).group(0)
    assert ">10 / 329<" in a_row
    assert ">20.0%<" in a_row
    assert "5.7% to 51.0%" in a_row
    b_row = re.search(r'<tr data-variant="B">.*?</tr>', html, re.S).group(0)
    assert ">50.0%<" in b_row
    assert "23.7% to 76.3%" in b_row
    # the test: pooled p = 7/20 = 0.35, z = 0.3 / sqrt(0.35 x 0.65 x 0.2) = 1.406, p = 0.1596
    assert "two-proportion z" in html
    assert ">1.406<" in html
    assert ">0.1596<" in html
    # B against the control: +30.0 points, Newcombe -10.7 to +60.0 points; one comparison:
    # Holm leaves p as it is
    comparison = re.search(r'data-testid="comparisons-table">.*?</table>', html, re.S).group(0)
    assert "+30.0 pts" in comparison
    assert "-10.7 pts to +60.0 pts" in comparison
    assert comparison.count(">0.1596<") == 2
    # the forest plot and the bar chart
    assert 'data-testid="forest-plot"' in html
    assert "B: +30.0 pts (-10.7 to +60.0)." in html
    assert 'class="chart chart--bar"' in html
    # the sample ratio 10:10 against 50/50: chi-square 0, p = 1
    assert "p = 1.0000 — no mismatch" in html
    # the decision in words: 10 of 329, the fixed test is not read yet; 10 / 329 = 3%
    assert "Keep running" in html
    assert "The control has 10 of the 329 observations each variant needs" in html
    assert "Progress towards the planned sample: 3%" in html


def test_a_running_price_test_shows_prices_off_assignment_and_the_sequential_look(org_a, manager_a, product):
    # given a sequential price test of 100.00 against 110.00, planned from 0.4 to 0.5 (388 each)
    experiment = services.experiment_create(
        organization=org_a,
        actor=manager_a,
        name="Ten percent more",
        kind="pricing",
        product_id="P1",
        variants=[
            VariantSpec("current", 0.5, Decimal("100.00")),
            VariantSpec("higher", 0.5, Decimal("110.00")),
        ],
        metric="conversion_rate",
        baseline_rate=0.4,
        minimum_detectable_effect=0.1,
        method="sequential",
        now=START - DAY,
    )
    services.experiment_start(organization=org_a, actor=manager_a, experiment_id=experiment.pk, now=START)
    # and three leads the hash assigns to each price, quoted after the start: at 100.00 two won
    # of three; at 110.00 one won of three, one of them quoted 100.00 all the same (off-assignment)
    weights = [("current", 0.5), ("higher", 0.5)]
    leads: dict[str, list[Lead]] = {"current": [], "higher": []}
    n = 0
    while min(len(found) for found in leads.values()) < 3:
        n += 1
        variant = assign(experiment.pk, f"lead:PT{n}", weights)
        if len(leads[variant]) < 3:
            leads[variant].append(LeadFactory(organization=org_a, external_id=f"PT{n}"))
    plan = [("current", "100.00", "won"), ("current", "100.00", "won"), ("current", "100.00", "lost")]
    plan += [("higher", "110.00", "won"), ("higher", "110.00", "lost"), ("higher", "100.00", "lost")]
    for i, (variant, price, outcome) in enumerate(plan):
        quote(
            org_a,
            product,
            price=price,
            outcome=outcome,
            quoted=START + (i + 1) * HOUR,
            lead=leads[variant][i % 3],
        )

    # when the page is read
    html = signed_in(manager_a).get(f"/experiments/{experiment.pk}").content.decode()

    # then each variant has its price, decided quotes, wins and off-assignment quotes
    current = re.search(r'<tr data-variant="current">.*?</tr>', html, re.S).group(0)
    assert ">100.00 KES<" in current
    assert ">3 / 388<" in current
    assert ">66.7%<" in current  # 2 of 3
    higher = re.search(r'<tr data-variant="higher">.*?</tr>', html, re.S).group(0)
    assert ">110.00 KES<" in higher
    assert ">33.3%<" in higher  # 1 of 3
    assert '<td class="num exp-off">1</td>' in higher
    assert '<td class="num exp-off">0</td>' in current
    # the sequential look: information 1 / (1/3 + 1/3) / (388 / 2) = 1.5 / 194 = 0.8%, so the
    # boundary is 2.2414 / sqrt(0.00773) = |z| >= 25.49, far above z = 0.82
    comparison = re.search(r'data-testid="comparisons-table">.*?</table>', html, re.S).group(0)
    assert ">1%<" in comparison
    assert "|z| ≥ 25.49" in comparison
    assert "-33.3 pts" in comparison
    assert "No variant has crossed the sequential boundary yet" in html


def test_the_decision_history_lists_who_did_what_with_the_numbers(manager_a, running):
    html = signed_in(manager_a).get(f"/experiments/{running.pk}").content.decode()
    history = re.search(r'data-testid="experiment-history">.*?</section>', html, re.S).group(0)
    # created on 31 Oct 09:00 UTC = 12:00 in Nairobi, started 1 Nov, looked at now
    assert "31 Oct 2026, 12:00 EAT" in history
    assert "A 50.0%, B 50.0%; planned 329 per variant, baseline 25.0%, minimum effect +10.0 pts" in history
    assert "1 Nov 2026, 12:00 EAT" in history
    assert "A 2/10 (20.0%) · B 5/10 (50.0%) · two-proportion z p = 0.1596 · keep running" in history
    assert history.count("Mia Manager") == 3


def test_the_results_region_refreshes_and_keeps_one_look_an_hour(manager_a, running):
    client = signed_in(manager_a)
    url = f"/experiments/{running.pk}/results"

    first = client.get(url, headers={"HX-Request": "true"})
    assert first.status_code == 200
    assert first.content.decode().lstrip().startswith('<section id="experiment-results"')
    with time_machine.travel(NOW + 30 * dt.timedelta(seconds=1), tick=False):
        client.get(url, headers={"HX-Request": "true"})
    looks = ExperimentEvent.objects.filter(experiment=running, action=ExperimentAction.LOOKED)
    assert looks.count() == 1
    with time_machine.travel(NOW + HOUR, tick=False):
        later = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert looks.count() == 2
    assert "Updated 20 Nov 2026, 13:00:00 EAT" in later


def test_a_draft_has_nothing_measured_yet(org_a, manager_a, campaign):
    draft = template_test(org_a, manager_a)
    html = signed_in(manager_a).get(f"/experiments/{draft.pk}").content.decode()
    assert "Not started yet" in html
    assert "hx-trigger" not in html
    assert 'data-testid="forest-plot"' not in html


def test_a_started_experiment_without_messages_says_so(org_a, manager_a, campaign):
    experiment = template_test(org_a, manager_a)
    services.experiment_start(
        organization=org_a, actor=manager_a, experiment_id=experiment.pk, now=NOW - HOUR
    )
    html = signed_in(manager_a).get(f"/experiments/{experiment.pk}").content.decode()
    assert "No messages delivered for this experiment yet" in html


def test_start_stop_and_decide_with_their_messages(org_a, manager_a, decisive):
    client = signed_in(manager_a)
    page = f"/experiments/{decisive.pk}"

    # start a draft
    response = client.post(f"{page}/start")
    assert response.status_code == 302
    assert response["Location"] == page
    html = client.get(page).content.decode()
    assert "Experiment started" in html
    assert 'data-testid="experiment-status">Running<' in html
    # read as a whole campaign: 10% against 30%, n = 400 each of 199, the fixed test is read
    assert "Variant B wins" in html

    # starting twice: the service's refusal as a message
    html = client.post(f"{page}/start", follow=True).content.decode()
    assert "This experiment is running; only a draft experiment can be started." in html

    # stop, with a note
    client.post(f"{page}/stop", {"note": "Enough sends for this week."})
    assert Experiment.objects.get(pk=decisive.pk).status == "stopped"

    # decide: the decision and its reason in words, and the history has the note
    html = client.post(f"{page}/decide", {"note": "Roll B out."}, follow=True).content.decode()
    assert "Decision recorded." in html
    assert 'data-testid="experiment-status">Decided<' in html
    decision = re.search(r'data-testid="experiment-decision">.*?</div>', html, re.S).group(0)
    assert ">Decision<" in decision
    assert "Variant B wins" in decision
    assert "Variant B converts 30.0% against 10.0% for the control" in decision
    assert "“Roll B out.”" in html
    assert 'data-testid="decide-experiment"' not in html


def test_decide_while_the_statistics_say_keep_running_is_refused_with_the_reason(manager_a, running):
    html = signed_in(manager_a).post(f"/experiments/{running.pk}/decide", follow=True).content.decode()
    assert "No decision yet: The control has 10 of the 329 observations each variant needs" in html
    assert Experiment.objects.get(pk=running.pk).status == "running"


def test_an_overlong_note_is_refused_as_a_message(manager_a, running):
    html = signed_in(manager_a).post(f"/experiments/{running.pk}/stop", {"note": "x" * 2001}, follow=True)
    assert "at most 2000 characters" in html.content.decode()
    assert Experiment.objects.get(pk=running.pk).status == "running"


def test_the_experiment_page_reads_in_a_bounded_number_of_queries(
    manager_a, running, django_assert_max_num_queries
):
    client = signed_in(manager_a)
    client.get(f"/experiments/{running.pk}")  # the hour's look is written
    # session, member, organization; the experiment and its variants; the measurement (one
    # grouped query, whatever the number of messages); the look's savepoint, row lock, last look
    # and release; the history with its actors: 11, one more in an hour (the look's insert)
    with django_assert_max_num_queries(12):
        assert client.get(f"/experiments/{running.pk}").status_code == 200


# --- the campaigns tab's entry link ---------------------------------------------------------------------------


def test_the_campaigns_tab_links_a_campaign_with_two_variants_to_a_new_test(org_a, manager_a, campaign):
    html = signed_in(manager_a).get("/dashboard/analytics/tab/campaigns", {"range": "30d"}).content.decode()
    assert f'href="{NEW}?campaign=K1"' in html
    assert "Start a template test" in html


# --- the forest plot (pure) -------------------------------------------------------------------------------------


def test_forest_plot_coordinates_by_hand():
    # given B: +3 points (-1 to 7), C: +5 (2 to 8), D: no data yet
    plot = forest_plot(
        [Interval("B", 3.0, -1.0, 7.0), Interval("C", 5.0, 2.0, 8.0), Interval("D", None, None, None)]
    )
    # values -1..8 with zero: nice step for 9 / 4 = 2.25 is 2, ticks -2..8; the plot runs from
    # x = 110 to 640 - 220 = 420, so x(v) = 110 + (v + 2) / 10 x 310 = 110 + 31 (v + 2)
    assert [(t.value, t.x) for t in plot.ticks] == [
        (-2, 110),
        (0, 172),
        (2, 234),
        (4, 296),
        (6, 358),
        (8, 420),
    ]
    assert plot.zero_x == 172
    b, c, d = plot.rows
    assert (b.x, b.x_low, b.x_high, b.side) == (265, 141, 389, "across")
    assert (c.x, c.x_low, c.x_high, c.side) == (327, 234, 420, "above")
    assert (d.x, d.x_low, d.x_high, d.side) == (None, None, None, "none")
    # rows 36 apart from 8 + 18; the axis under the third, 44 more for ticks and title
    assert [r.y for r in plot.rows] == [26, 62, 98]
    assert (plot.axis_y, plot.height, plot.width) == (116, 160, 640)


@pytest.mark.parametrize(
    ("low", "high", "side"),
    [(-5.0, -1.0, "below"), (0.0, 2.0, "across"), (0.5, 2.0, "above"), (-2.0, 0.0, "across")],
)
def test_forest_plot_side_of_zero(low, high, side):
    row = forest_plot([Interval("B", (low + high) / 2, low, high)]).rows[0]
    assert row.side == side
    # zero is always on the axis, between (or at) the ends
    plot = forest_plot([Interval("B", (low + high) / 2, low, high)])
    assert plot.ticks[0].value <= 0 <= plot.ticks[-1].value
    assert plot.plot_left <= plot.zero_x <= plot.plot_right
