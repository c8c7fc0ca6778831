"""A price test started from a pricing suggestion: POST /api/v1/bi/experiments/from-suggestion
(current price against suggested, 50/50, conversion rate, sequential by default)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction

from insights.experiments import services
from insights.experiments.models import Experiment
from pricing.models import PricingSuggestion
from tests.insights.experiments.conftest import NOW, client_for, make_product

pytestmark = pytest.mark.django_db

FROM_SUGGESTION = "/api/v1/bi/experiments/from-suggestion"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def make_suggestion(org, product, requester, *, status: str = "proposed", analysis: dict | None = None):
    return PricingSuggestion.objects.create(
        organization=org,
        product=product,
        tier=product.tier,
        currency=org.currency,
        current_price=product.list_price,
        suggested_price=Decimal("115.00"),
        change_pct=Decimal("15.0"),
        elasticity=-0.5,
        elasticity_low=-0.9,
        elasticity_high=-0.1,
        elasticity_n=120,
        elasticity_method="logit(win ~ log price)",
        revenue_change_pct=4.0,
        revenue_change_low=1.0,
        revenue_change_high=7.0,
        churn_probability=0.1,
        churn_customers=3,
        confidence=0.6,
        rationale="Buyers barely react to price: raise it.",
        analysis={
            "winProbabilityCurrent": {"estimate": 0.45, "low": 0.4, "high": 0.5},
            "winProbabilitySuggested": {"estimate": 0.32, "low": 0.25, "high": 0.39},
        }
        if analysis is None
        else analysis,
        status=status,
        requested_by=requester,
        created_at=NOW - dt.timedelta(days=1),
        expires_at=NOW + dt.timedelta(days=29),
    )


def test_a_suggestion_becomes_a_draft_price_test(org_a, manager_a, product):
    suggestion = make_suggestion(org_a, product, manager_a)
    response = client_for(manager_a).post(FROM_SUGGESTION, {"suggestionId": suggestion.pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["metric"], body["method"], body["status"]) == (
        "pricing",
        "conversion_rate",
        "sequential",
        "draft",
    )
    assert [(v["key"], v["weight"], v["price"], v["control"]) for v in body["variants"]] == [
        ("current", 0.5, 100.0, True),
        ("suggested", 0.5, 115.0, False),
    ]
    assert body["suggestionId"] == suggestion.pk
    assert body["product"]["id"] == "P1"
    assert body["hypothesis"] == suggestion.rationale
    # the effect the analysis predicts: 0.32 - 0.45 = -0.13 (the higher price wins less); the
    # baseline is the product's 4 won of 10 decided quotes = 0.4;
    # power.prop.test(p1 = .4, p2 = .27): 205.7 -> 206
    assert (body["minimumDetectableEffect"], body["baselineRate"], body["requiredSampleSize"]) == (
        -0.13,
        0.4,
        206,
    )
    created = Experiment.objects.get(pk=body["id"]).events.get()
    assert created.payload["suggestionId"] == suggestion.pk


def test_without_recent_quotes_the_baseline_is_the_analysis_estimate(org_a, manager_a):
    product = make_product(org_a, "P-QUIET")
    suggestion = make_suggestion(org_a, product, manager_a)
    body = (
        client_for(manager_a)
        .post(FROM_SUGGESTION, {"suggestionId": suggestion.pk, "method": "bayesian"}, format="json")
        .json()
    )
    # 0.45 from the analysis; power.prop.test(p1 = .45, p2 = .32): 218.7 -> 219
    assert (body["baselineRate"], body["requiredSampleSize"], body["method"]) == (0.45, 219, "bayesian")


def test_without_a_prediction_the_effect_is_five_points_against_the_change(org_a, manager_a, product):
    suggestion = make_suggestion(org_a, product, manager_a, analysis={})
    body = client_for(manager_a).post(FROM_SUGGESTION, {"suggestionId": suggestion.pk}, format="json").json()
    # the price goes up (100 -> 115): plan for a drop of 0.05
    assert body["minimumDetectableEffect"] == -0.05


def test_the_body_may_set_the_effect_and_name(org_a, manager_a, product):
    suggestion = make_suggestion(org_a, product, manager_a, analysis={})
    body = (
        client_for(manager_a)
        .post(
            FROM_SUGGESTION,
            {"suggestionId": suggestion.pk, "name": "Pro +15%", "minimumDetectableEffect": 0.2},
            format="json",
        )
        .json()
    )
    assert (body["name"], body["minimumDetectableEffect"]) == ("Pro +15%", 0.2)


@pytest.mark.parametrize("status", ["rejected", "expired", "applied", "rolled_back"])
def test_a_suggestion_no_longer_open_is_a_409(org_a, manager_a, product, status):
    suggestion = make_suggestion(org_a, product, manager_a, status=status)
    response = client_for(manager_a).post(FROM_SUGGESTION, {"suggestionId": suggestion.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["status"] == status


def test_a_second_open_test_of_one_suggestion_is_a_409(org_a, manager_a, product):
    suggestion = make_suggestion(org_a, product, manager_a)
    client = client_for(manager_a)
    assert client.post(FROM_SUGGESTION, {"suggestionId": suggestion.pk}, format="json").status_code == 201
    assert client.post(FROM_SUGGESTION, {"suggestionId": suggestion.pk}, format="json").status_code == 409


def test_another_organizations_suggestion_is_a_404_like_a_missing_one(org_b, manager_a, outsider):
    theirs = make_suggestion(org_b, make_product(org_b, "P-B"), outsider)
    client = client_for(manager_a)
    response = client.post(FROM_SUGGESTION, {"suggestionId": theirs.pk}, format="json")
    missing = client.post(FROM_SUGGESTION, {"suggestionId": 999999}, format="json")
    assert (response.status_code, missing.status_code) == (404, 404)
    assert response.json() == missing.json()
    assert "suggestionId" in response.json()["error"]["details"]
    assert not Experiment.objects.exists()


def test_agents_cannot_start_a_price_test(org_a, agent_a, manager_a, product):
    suggestion = make_suggestion(org_a, product, manager_a)
    assert (
        client_for(agent_a).post(FROM_SUGGESTION, {"suggestionId": suggestion.pk}, format="json").status_code
        == 403
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "suggestionId"),
        ({"suggestionId": "x"}, "suggestionId"),
        ({"suggestionId": 1, "alpha": 1}, "alpha"),
    ],
)
def test_bad_input(org_a, manager_a, product, body, field):
    if "alpha" in body:
        body["suggestionId"] = make_suggestion(org_a, product, manager_a).pk
    response = client_for(manager_a).post(FROM_SUGGESTION, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_the_database_keeps_one_open_test_per_suggestion(org_a, manager_a, product):
    """Two requests at once both pass the service's check; the constraint stops the second."""
    suggestion = make_suggestion(org_a, product, manager_a)
    arguments = {
        "organization": org_a,
        "actor": manager_a,
        "name": "Race",
        "kind": "pricing",
        "product_id": "P1",
        "variants": [
            services.VariantSpec("current", 0.5, Decimal("100.00")),
            services.VariantSpec("suggested", 0.5, Decimal("115.00")),
        ],
        "metric": "conversion_rate",
        "minimum_detectable_effect": -0.1,
        "method": "sequential",
        "now": NOW,
        "pricing_suggestion": suggestion,
    }
    services.experiment_create(**arguments)
    with pytest.raises(IntegrityError), transaction.atomic():
        services.experiment_create(**arguments)
