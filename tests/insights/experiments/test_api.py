"""The experiments API (DESIGN section 9.4): create with the sample size, every bad input of
issue 16, roles and tenancy, the lifecycle and its decision history, the results and their
query count, the assignment, and the list."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
import time_machine

from crm.models import AuditLog, CampaignMessage
from insights.experiments import services
from insights.experiments.assignment import assign
from insights.experiments.models import Experiment, ExperimentEvent
from tests.factories import CampaignFactory, ContactFactory, LeadFactory, MemberFactory
from tests.insights.experiments.conftest import DAY, HOUR, NOW, START, client_for, make_product, message

pytestmark = pytest.mark.django_db

EXPERIMENTS = "/api/v1/bi/experiments"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def campaign_body(**changes) -> dict:
    body = {
        "name": "Shorter first line",
        "hypothesis": "A shorter opening line gets more replies.",
        "kind": "campaign",
        "campaignId": "K1",
        "variants": [{"key": "A", "weight": 0.5}, {"key": "B", "weight": 0.5}],
        "metric": "reply_rate",
        "minimumDetectableEffect": 0.1,
        "method": "frequentist",
    }
    return {**body, **changes}


def pricing_body(**changes) -> dict:
    body = {
        "name": "Ten percent more",
        "kind": "pricing",
        "productId": "P1",
        "variants": [
            {"key": "list", "weight": 0.5, "price": "100.00"},
            {"key": "up", "weight": 0.5, "price": "110.00"},
        ],
        "metric": "conversion_rate",
        "minimumDetectableEffect": 0.1,
    }
    return {**body, **changes}


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


def error_of(response) -> dict:
    return response.json()["error"]


# --- create -------------------------------------------------------------------------------


def test_a_manager_creates_a_campaign_experiment_planned_from_the_control_so_far(org_a, manager_a, campaign):
    response = client_for(manager_a).post(EXPERIMENTS, campaign_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    experiment = Experiment.objects.get(pk=body["id"])
    assert body["status"] == "draft"
    # the control A's reply rate before now: 1 of 4 delivered = 0.25
    assert body["baselineRate"] == 0.25
    # power.prop.test(p1 = .25, p2 = .35, power = .8): n = 328.47 -> 329 per variant
    assert body["requiredSampleSize"] == 329
    assert [v["key"] for v in body["variants"]] == ["A", "B"]
    assert [v["control"] for v in body["variants"]] == [True, False]
    assert body["campaign"] == {"id": "K1", "name": "Spring"}
    assert body["createdBy"] == {"id": manager_a.pk, "name": manager_a.display_name}
    [event] = ExperimentEvent.objects.filter(experiment=experiment)
    assert (event.action, event.payload["requiredSampleSize"], event.payload["baselineN"]) == (
        "created",
        329,
        4,
    )
    assert AuditLog.objects.filter(object_type="experiment", object_id=str(experiment.pk)).get().action == (
        "experiment.created"
    )


def test_the_sample_size_is_rs_power_prop_test(org_a, manager_a, campaign):
    body = campaign_body(baselineRate=0.5, minimumDetectableEffect=0.25, power=0.9)
    response = client_for(manager_a).post(EXPERIMENTS, body, format="json")
    # power.prop.test(p1 = .5, p2 = .75, power = .9): n = 76.7 -> 77
    assert response.json()["requiredSampleSize"] == 77


def test_a_negative_effect_plans_for_a_drop(org_a, manager_a, product):
    response = client_for(manager_a).post(
        EXPERIMENTS, pricing_body(minimumDetectableEffect=-0.13), format="json"
    )
    # 0.4 -> 0.27: power.prop.test(p1 = .4, p2 = .27): 205.7 -> 206
    assert response.json()["requiredSampleSize"] == 206


def test_a_pricing_experiment_plans_from_the_products_last_90_days(org_a, manager_a, product):
    response = client_for(manager_a).post(EXPERIMENTS, pricing_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    # 4 won of 10 decided quotes -> 0.4; power.prop.test(p1 = .4, p2 = .5): 387.3 -> 388
    assert (body["baselineRate"], body["requiredSampleSize"]) == (0.4, 388)
    assert [v["price"] for v in body["variants"]] == [100.0, 110.0]
    assert body["product"] == {"id": "P1", "name": "Product P1"}


def test_revenue_per_contact_uses_the_t_test_sample_size(org_a, manager_a, product):
    body = pricing_body(metric="revenue_per_contact", baselineSd=1.0, minimumDetectableEffect=1.0, power=0.9)
    response = client_for(manager_a).post(EXPERIMENTS, body, format="json")
    assert response.status_code == 201, response.content
    # power.t.test(delta = 1, sd = 1, power = .9): n = 22.02 -> 23
    assert response.json()["requiredSampleSize"] == 23
    # without baselineSd: the control's so far, 4 subjects of 100 and 6 of 0 -> sd 51.64
    response = client_for(manager_a).post(
        EXPERIMENTS, pricing_body(metric="revenue_per_contact", minimumDetectableEffect=50.0), format="json"
    )
    assert response.json()["baselineSd"] == pytest.approx(51.6397779)
    assert response.json()["baselineRate"] == 40.0


def _variants(*pairs) -> list[dict]:
    return [dict(zip(("key", "weight", "price"), pair, strict=False)) for pair in pairs]


BAD_INPUT = [
    ("one variant", campaign_body(variants=_variants(("A", 1.0))), 400, "variants"),
    ("no variants", campaign_body(variants=[]), 400, "variants"),
    ("weights sum to 0.9", campaign_body(variants=_variants(("A", 0.5), ("B", 0.4))), 400, "variants"),
    ("weights sum to 1.1", campaign_body(variants=_variants(("A", 0.6), ("B", 0.5))), 400, "variants"),
    ("a zero weight", campaign_body(variants=_variants(("A", 1.0), ("B", 0.0))), 400, "variants"),
    ("duplicate keys", campaign_body(variants=_variants(("A", 0.5), ("A", 0.5))), 400, "variants"),
    ("unknown campaign", campaign_body(campaignId="K-NOPE"), 404, "campaignId"),
    ("no campaign", campaign_body(campaignId=None), 400, "campaignId"),
    ("unknown product", pricing_body(productId="P-NOPE"), 404, "productId"),
    ("reply rate of prices", pricing_body(metric="reply_rate"), 400, "metric"),
    ("read rate of prices", pricing_body(metric="read_rate"), 400, "metric"),
    ("an unknown metric", campaign_body(metric="happiness"), 400, "metric"),
    ("alpha 0", campaign_body(alpha=0), 400, "alpha"),
    ("alpha 1", campaign_body(alpha=1), 400, "alpha"),
    ("alpha 1.5", campaign_body(alpha=1.5), 400, "alpha"),
    ("alpha -0.1", campaign_body(alpha=-0.1), 400, "alpha"),
    ("power 0", campaign_body(power=0), 400, "power"),
    ("power 1", campaign_body(power=1), 400, "power"),
    ("power 2", campaign_body(power=2), 400, "power"),
    (
        "a price without price",
        pricing_body(variants=_variants(("list", 0.5, "100.00"), ("up", 0.5))),
        400,
        "variants",
    ),
    (
        "a zero price",
        pricing_body(variants=_variants(("list", 0.5, "100.00"), ("up", 0.5, "0.00"))),
        400,
        "variants",
    ),
    ("a priced message", campaign_body(variants=_variants(("A", 0.5, "1.00"), ("B", 0.5))), 400, "variants"),
    (
        "variants the campaign lacks",
        campaign_body(variants=_variants(("A", 0.5), ("Z", 0.5))),
        400,
        "variants",
    ),
    ("a zero effect", campaign_body(minimumDetectableEffect=0), 400, "minimumDetectableEffect"),
    ("an effect past 1", campaign_body(minimumDetectableEffect=0.8), 400, "minimumDetectableEffect"),
    ("an effect below 0", campaign_body(minimumDetectableEffect=-0.3), 400, "minimumDetectableEffect"),
    ("a baseline of 1", campaign_body(baselineRate=1.0), 400, "baselineRate"),
    ("bayesian revenue", pricing_body(metric="revenue_per_contact", method="bayesian"), 400, "method"),
    ("a whole-campaign price test", pricing_body(scope="whole_campaign"), 400, "scope"),
]


@pytest.mark.parametrize(
    ("body", "status", "field"), [case[1:] for case in BAD_INPUT], ids=[c[0] for c in BAD_INPUT]
)
def test_bad_input_names_the_field(org_a, manager_a, campaign, product, body, status, field):
    response = client_for(manager_a).post(EXPERIMENTS, body, format="json")
    assert response.status_code == status, response.content
    assert field in error_of(response)["details"], error_of(response)
    assert not Experiment.objects.exists()


def test_no_baseline_and_none_given_is_a_400_naming_baseline_rate(org_a, manager_a):
    CampaignFactory(organization=org_a, external_id="K-EMPTY", name="No messages yet")
    response = client_for(manager_a).post(EXPERIMENTS, campaign_body(campaignId="K-EMPTY"), format="json")
    assert response.status_code == 400
    assert "baselineRate" in error_of(response)["details"]
    # with a baseline given it is fine (a campaign without messages takes any variant keys)
    response = client_for(manager_a).post(
        EXPERIMENTS, campaign_body(campaignId="K-EMPTY", baselineRate=0.1), format="json"
    )
    assert response.status_code == 201, response.content


def test_revenue_without_spread_is_a_400_naming_baseline_sd(org_a, manager_a):
    make_product(org_a, "P-NEW")
    body = pricing_body(productId="P-NEW", metric="revenue_per_contact", minimumDetectableEffect=10.0)
    response = client_for(manager_a).post(EXPERIMENTS, body, format="json")
    assert response.status_code == 400
    assert "baselineSd" in error_of(response)["details"]


def test_another_organizations_campaign_or_product_is_a_404_like_a_missing_one(
    org_a, org_b, manager_a, campaign
):
    CampaignFactory(organization=org_b, external_id="K-B", name="Theirs")
    make_product(org_b, "P-B")
    client = client_for(manager_a)
    for body, field in (
        (campaign_body(campaignId="K-B"), "campaignId"),
        (pricing_body(productId="P-B"), "productId"),
    ):
        response = client.post(EXPERIMENTS, body, format="json")
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
        assert field in error_of(response)["details"]
    missing = client.post(EXPERIMENTS, campaign_body(campaignId="K-NONE"), format="json")
    theirs = client.post(EXPERIMENTS, campaign_body(campaignId="K-B"), format="json")
    assert error_of(theirs)["message"].replace("K-B", "X") == error_of(missing)["message"].replace(
        "K-NONE", "X"
    )


# --- roles and tenancy ----------------------------------------------------------------------


@pytest.fixture
def experiment(org_a, manager_a, campaign) -> Experiment:
    return services.experiment_create(
        organization=org_a,
        actor=manager_a,
        name="Template test",
        kind="campaign",
        campaign_id="K1",
        variants=[services.VariantSpec("A", 0.5), services.VariantSpec("B", 0.5)],
        metric="reply_rate",
        minimum_detectable_effect=0.1,
        method="frequentist",
        now=START - HOUR,
    )


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("get", "/results"), ("post", "/start"), ("post", "/stop"), ("post", "/decide")],
)
def test_agents_are_refused_and_outsiders_get_a_404(agent_a, outsider, experiment, method, suffix):
    url = f"{EXPERIMENTS}/{experiment.pk}{suffix}"
    assert getattr(client_for(agent_a), method)(url, format="json").status_code == 403
    response = getattr(client_for(outsider), method)(url, format="json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    missing = getattr(client_for(outsider), method)(f"{EXPERIMENTS}/999999{suffix}", format="json")
    assert missing.json() == response.json()


def test_agents_cannot_create_or_list(agent_a, campaign):
    client = client_for(agent_a)
    assert client.post(EXPERIMENTS, campaign_body(), format="json").status_code == 403
    assert client.get(EXPERIMENTS).status_code == 403


def test_an_outsider_lists_only_their_own(outsider, experiment):
    response = client_for(outsider).get(EXPERIMENTS)
    assert response.status_code == 200
    assert response.json()["results"] == []


# --- lifecycle ------------------------------------------------------------------------------


def _post(member, experiment, action: str):
    return client_for(member).post(f"{EXPERIMENTS}/{experiment.pk}/{action}", format="json")


def test_the_lifecycle_and_its_decision_history(org_a, manager_a, admin_a, campaign, experiment):
    # given the experiment started, and data that decides it: A 2 of 20 replied, B 16 of 20;
    # planned for 0.2 -> 0.7 (n 14.3 -> 15 per variant)
    experiment.baseline_rate, experiment.minimum_detectable_effect, experiment.required_sample_size = (
        0.2,
        0.5,
        15,
    )
    experiment.save()
    with time_machine.travel(START, tick=False):
        started = _post(manager_a, experiment, "start")
    assert started.status_code == 200, started.content
    assert started.json()["status"] == "running"
    bulk_messages(org_a, campaign, "A", delivered=20, replied=2, sent=START + DAY)
    bulk_messages(org_a, campaign, "B", delivered=20, replied=16, sent=START + DAY)
    # when it is stopped, then decided by someone else
    stopped = client_for(manager_a).post(
        f"{EXPERIMENTS}/{experiment.pk}/stop", {"note": "Enough for the Q4 plan"}, format="json"
    )
    assert stopped.json()["status"] == "stopped"
    assert stopped.json()["stoppedAt"] == NOW.isoformat()
    decided = _post(admin_a, experiment, "decide")
    # then
    assert decided.status_code == 200, decided.content
    body = decided.json()
    assert (body["status"], body["decision"], body["winner"]) == ("decided", "stop: winner", "B")
    assert "Variant B" in body["decisionReason"]
    assert [e["action"] for e in body["events"]] == ["created", "started", "stopped", "decided"]
    stop_event, decide_event = body["events"][2], body["events"][3]
    assert [(v["key"], v["n"], v["conversions"]) for v in stop_event["payload"]["variants"]] == [
        ("A", 20, 2),
        ("B", 20, 16),
    ]
    assert stop_event["payload"]["note"] == "Enough for the Q4 plan"
    assert decide_event["actor"] == str(admin_a)
    assert decide_event["payload"]["decision"] == "stop: winner"
    audit = AuditLog.objects.filter(object_type="experiment", object_id=str(experiment.pk)).order_by("id")
    assert [a.action for a in audit] == [
        "experiment.created",
        "experiment.started",
        "experiment.stopped",
        "experiment.decided",
    ]
    assert (audit[3].before["status"], audit[3].after["status"]) == ("stopped", "decided")
    assert audit[2].after["note"] == "Enough for the Q4 plan"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("draft", "stop"),
        ("draft", "decide"),
        ("running", "start"),
        ("stopped", "start"),
        ("stopped", "stop"),
        ("decided", "start"),
        ("decided", "stop"),
        ("decided", "decide"),
    ],
)
def test_a_transition_from_the_wrong_status_is_a_409(manager_a, experiment, status, action):
    Experiment.objects.filter(pk=experiment.pk).update(status=status)
    response = _post(manager_a, experiment, action)
    assert response.status_code == 409
    assert error_of(response)["details"]["status"] == status
    assert ExperimentEvent.objects.filter(experiment=experiment).count() == 1  # only "created"


def test_deciding_while_the_statistics_say_keep_running_is_a_409_with_the_reason(
    org_a, manager_a, experiment
):
    services.experiment_start(organization=org_a, actor=manager_a, experiment_id=experiment.pk, now=START)
    response = _post(manager_a, experiment, "decide")
    assert response.status_code == 409
    details = error_of(response)["details"]
    assert details["decision"] == "keep running"
    assert "329" in details["reason"]  # the observations each variant needs
    experiment.refresh_from_db()
    assert experiment.status == "running"


# --- results --------------------------------------------------------------------------------


@pytest.fixture
def running(org_a, manager_a, campaign, experiment) -> Experiment:
    """Started at START; after it A has 3 delivered (1 replied), B 4 delivered (2 replied)."""
    services.experiment_start(organization=org_a, actor=manager_a, experiment_id=experiment.pk, now=START)
    people = [ContactFactory(organization=org_a, external_id=f"RR{i}") for i in range(7)]
    for i, replied in enumerate([True, False, False]):
        message(org_a, campaign, "A", people[i], START + DAY, replied=replied)
    for i, replied in enumerate([True, True, False, False]):
        message(org_a, campaign, "B", people[3 + i], START + DAY, replied=replied)
    return experiment


def test_the_results_follow_the_contract(manager_a, running, django_assert_max_num_queries):
    # the experiment with its variants (2), the measurement (1), and the look: a savepoint, the
    # row lock, the last look, the event, the release (5)
    with django_assert_max_num_queries(8):
        response = client_for(manager_a).get(f"{EXPERIMENTS}/{running.pk}/results")
    assert response.status_code == 200, response.content
    body = response.json()
    a, b = body["variants"]
    assert (a["key"], a["n"], a["conversions"], a["rate"]) == ("A", 3, 1, pytest.approx(1 / 3))
    assert (b["key"], b["n"], b["conversions"], b["rate"]) == ("B", 4, 2, 0.5)
    assert a["ciLow"] < a["rate"] < a["ciHigh"]
    # two variants: pooled two-proportion z of B against A; pooled p = 3/7,
    # variance 3/7 x 4/7 x (1/4 + 1/3) = 1/7, z = (1/2 - 1/3) / sqrt(1/7) = 0.44096
    assert body["test"]["name"] == "two-proportion z"
    assert body["test"]["statistic"] == pytest.approx(0.4409586)
    assert body["test"]["pValue"] == pytest.approx(math.erfc(0.4409586 / math.sqrt(2)))
    [comparison] = body["comparisons"]
    assert (comparison["key"], comparison["controlKey"]) == ("B", "A")
    assert comparison["difference"] == pytest.approx(1 / 6)
    assert comparison["pValueAdjusted"] == pytest.approx(comparison["pValue"])  # one comparison
    assert [row["key"] for row in body["bayesian"]] == ["A", "B"]
    assert sum(row["probabilityBest"] for row in body["bayesian"]) == pytest.approx(1)
    # SRM: 3 and 4 against 3.5 each: chi-square 0.5 / 3.5 = 0.143, p = 0.7055
    assert body["srm"] == {"pValue": pytest.approx(0.7054570), "mismatch": False}
    assert body["decision"] == "keep running"
    assert body["reason"]
    assert body["window"] == {"start": START.isoformat(), "end": NOW.isoformat()}
    assert body["requiredSampleSize"] == 329


def test_a_look_joins_the_history_at_most_once_an_hour(manager_a, running):
    client = client_for(manager_a)
    url = f"{EXPERIMENTS}/{running.pk}/results"
    client.get(url)
    client.get(url)
    with time_machine.travel(NOW + 59 * dt.timedelta(minutes=1), tick=False):
        client.get(url)
    with time_machine.travel(NOW + HOUR, tick=False):
        client.get(url)
    looks = list(
        ExperimentEvent.objects.filter(experiment=running, action="looked").values_list("at", flat=True)
    )
    assert looks == [NOW, NOW + HOUR]
    payload = ExperimentEvent.objects.filter(experiment=running, action="looked").first().payload
    assert [(v["key"], v["n"], v["conversions"]) for v in payload["variants"]] == [("A", 3, 1), ("B", 4, 2)]
    # looks are history, not state changes: no audit rows
    assert not AuditLog.objects.filter(action__startswith="experiment.look").exists()


def test_a_draft_has_results_of_nothing(manager_a, experiment):
    body = client_for(manager_a).get(f"{EXPERIMENTS}/{experiment.pk}/results").json()
    assert [(v["n"], v["rate"]) for v in body["variants"]] == [(0, None), (0, None)]
    assert (body["test"], body["srm"], body["window"]) == (None, None, None)
    assert not ExperimentEvent.objects.filter(action="looked").exists()


# --- assignment -----------------------------------------------------------------------------


@pytest.fixture
def price_test(org_a, manager_a, product) -> Experiment:
    experiment = services.experiment_create(
        organization=org_a,
        actor=manager_a,
        name="Price test",
        kind="pricing",
        product_id="P1",
        variants=[
            services.VariantSpec("list", 0.5, Decimal("100.00")),
            services.VariantSpec("up", 0.5, Decimal("110.00")),
        ],
        metric="conversion_rate",
        minimum_detectable_effect=0.1,
        method="sequential",
        now=START,
    )
    return services.experiment_start(
        organization=org_a, actor=manager_a, experiment_id=experiment.pk, now=START
    )


def test_an_agent_learns_which_price_to_quote(org_a, agent_a, price_test):
    contacts = [ContactFactory(organization=org_a, external_id=f"AC{i}") for i in range(6)]
    client = client_for(agent_a)
    for contact in contacts:
        url = f"{EXPERIMENTS}/{price_test.pk}/assignment?contact={contact.external_id}"
        first, again = client.get(url), client.get(url)
        assert first.status_code == 200, first.content
        assert first.json() == again.json()
        expected = assign(price_test.pk, f"contact:{contact.external_id}", [("list", 0.5), ("up", 0.5)])
        assert first.json() == {
            "experimentId": price_test.pk,
            "status": "running",
            "active": True,
            "subject": f"contact:{contact.external_id}",
            "variant": expected,
            "price": {"list": 100.0, "up": 110.0}[expected],
        }


def test_a_lead_with_a_contact_gets_the_contacts_price(org_a, agent_a, price_test):
    contact = ContactFactory(organization=org_a, external_id="LC1")
    LeadFactory(organization=org_a, external_id="LL1", contact=contact)
    LeadFactory(organization=org_a, external_id="LL2")
    client = client_for(agent_a)
    by_lead = client.get(f"{EXPERIMENTS}/{price_test.pk}/assignment?lead=LL1").json()
    by_contact = client.get(f"{EXPERIMENTS}/{price_test.pk}/assignment?contact=LC1").json()
    assert by_lead == by_contact
    assert client.get(f"{EXPERIMENTS}/{price_test.pk}/assignment?lead=LL2").json()["subject"] == "lead:LL2"


def test_assignment_refusals(org_a, org_b, agent_a, outsider, price_test, experiment):
    ContactFactory(organization=org_a, external_id="AC1")
    ContactFactory(organization=org_b, external_id="BC1")
    client = client_for(agent_a)
    base = f"{EXPERIMENTS}/{price_test.pk}/assignment"
    unknown, theirs = client.get(f"{base}?contact=NOPE"), client.get(f"{base}?contact=BC1")
    assert (unknown.status_code, theirs.status_code) == (404, 404)
    assert "contact" in error_of(theirs)["details"]
    neither = client.get(base)
    assert neither.status_code == 400
    assert "contact" in error_of(neither)["details"]
    assert client.get(f"{base}?contact=AC1&lead=L1").status_code == 400
    # a campaign experiment assigns no prices
    campaign_test = client.get(f"{EXPERIMENTS}/{experiment.pk}/assignment?contact=AC1")
    assert campaign_test.status_code == 409
    # another organization's experiment
    assert client_for(outsider).get(f"{base}?contact=BC1").status_code == 404


# --- list -----------------------------------------------------------------------------------


def test_the_list_filters_and_pages(org_a, manager_a, experiment, price_test):
    client = client_for(manager_a)
    everything = client.get(EXPERIMENTS).json()
    assert [row["id"] for row in everything["results"]] == [price_test.pk, experiment.pk]  # newest first
    assert [row["id"] for row in client.get(f"{EXPERIMENTS}?kind=campaign").json()["results"]] == [
        experiment.pk
    ]
    assert [row["id"] for row in client.get(f"{EXPERIMENTS}?status=running").json()["results"]] == [
        price_test.pk
    ]
    first = client.get(f"{EXPERIMENTS}?limit=1").json()
    assert [row["id"] for row in first["results"]] == [price_test.pk]
    second = client.get(f"{EXPERIMENTS}?limit=1&cursor={first['nextCursor']}").json()
    assert [row["id"] for row in second["results"]] == [experiment.pk]
    assert second["nextCursor"] is None
    bad = client.get(f"{EXPERIMENTS}?cursor=not-a-cursor")
    assert bad.status_code == 400
    assert "cursor" in error_of(bad)["details"]
    assert client.get(f"{EXPERIMENTS}?status=paused").status_code == 400


def test_the_detail_has_variants_and_events(manager_a, experiment):
    body = client_for(manager_a).get(f"{EXPERIMENTS}/{experiment.pk}").json()
    assert body["id"] == experiment.pk
    assert [v["key"] for v in body["variants"]] == ["A", "B"]
    assert [e["action"] for e in body["events"]] == ["created"]
    assert body["events"][0]["actor"] == str(manager_a)


def test_a_second_manager_of_the_organization_sees_it(org_a, experiment):
    colleague = MemberFactory(organization=org_a, email="second@acme.test", role="manager")
    assert client_for(colleague).get(f"{EXPERIMENTS}/{experiment.pk}").status_code == 200
