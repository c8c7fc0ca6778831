"""The experiments' answers match the OpenAPI schema with real rows in them.

tests/api/test_schema_conformance.py generates requests for every operation, but its world has
no experiment, so a generated id finds none and only the error answers are checked there.
Here each operation answers on experiments with data (a running campaign test with results,
a decided one, a pricing test, the list) and schemathesis validates each answer against the
schema drf-spectacular serves.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
import schemathesis
import time_machine
from drf_spectacular.generators import SchemaGenerator
from schemathesis.core.transport import Response

from insights.experiments import services
from tests.factories import CampaignFactory, ContactFactory
from tests.insights.experiments.conftest import DAY, HOUR, NOW, START, client_for, message
from tests.insights.experiments.test_api import bulk_messages

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def conforms(schema, path: str, method: str, response, url: str) -> None:
    """Validate a Django test response as schemathesis validates the WSGI answers."""
    answer = Response(
        status_code=response.status_code,
        headers={name: [value] for name, value in response.headers.items()},
        content=response.content,
        request=requests.Request(method, f"http://testserver{url}").prepare(),
        elapsed=0.0,
        verify=True,
        encoding="utf-8",
    )
    schema[path][method].validate_response(answer)


def _experiment(org, member, **changes):
    arguments = {
        "organization": org,
        "actor": member,
        "name": "Template test",
        "kind": "campaign",
        "campaign_id": "K1",
        "variants": [services.VariantSpec("A", 0.5), services.VariantSpec("B", 0.5)],
        "metric": "reply_rate",
        "baseline_rate": 0.2,
        "minimum_detectable_effect": 0.5,
        "method": "frequentist",
        "now": START - HOUR,
        **changes,
    }
    experiment = services.experiment_create(**arguments)
    return services.experiment_start(organization=org, actor=member, experiment_id=experiment.pk, now=START)


@pytest.mark.parametrize("method", ["frequentist", "bayesian", "sequential"])
def test_results_and_detail_conform(schema, org_a, manager_a, campaign, method):
    experiment = _experiment(org_a, manager_a, method=method)
    bulk_messages(org_a, campaign, "A", delivered=20, replied=2, sent=START + DAY)
    bulk_messages(org_a, campaign, "B", delivered=20, replied=16, sent=START + DAY)
    client = client_for(manager_a)
    url = f"/api/v1/bi/experiments/{experiment.pk}/results"
    response = client.get(url)
    assert response.status_code == 200
    conforms(schema, "/api/v1/bi/experiments/{experiment_id}/results", "GET", response, url)
    for action in ("stop", "decide"):
        url = f"/api/v1/bi/experiments/{experiment.pk}/{action}"
        response = client.post(url, format="json")
        assert response.status_code == 200, response.content
        conforms(schema, f"/api/v1/bi/experiments/{{experiment_id}}/{action}", "POST", response, url)
    url = f"/api/v1/bi/experiments/{experiment.pk}"
    conforms(schema, "/api/v1/bi/experiments/{experiment_id}", "GET", client.get(url), url)


def test_three_variants_and_revenue_conform(schema, org_a, manager_a, campaign):
    fresh = CampaignFactory(organization=org_a, external_id="K5", name="Three templates")
    three = _experiment(
        org_a,
        manager_a,
        variants=[
            services.VariantSpec("A", 0.4),
            services.VariantSpec("B", 0.3),
            services.VariantSpec("C", 0.3),
        ],
        campaign_id="K5",
    )
    people = [ContactFactory(organization=org_a, external_id=f"T{i}") for i in range(6)]
    for i, variant in enumerate("AABBCC"):
        message(org_a, fresh, variant, people[i], START + DAY, replied=i % 2 == 0)
    client = client_for(manager_a)
    url = f"/api/v1/bi/experiments/{three.pk}/results"
    conforms(schema, "/api/v1/bi/experiments/{experiment_id}/results", "GET", client.get(url), url)
    revenue = _experiment(
        org_a,
        manager_a,
        metric="revenue_per_contact",
        baseline_rate=None,
        baseline_sd=10.0,
        minimum_detectable_effect=5.0,
    )
    url = f"/api/v1/bi/experiments/{revenue.pk}/results"
    response = client.get(url)
    assert response.json()["bayesian"] is None
    conforms(schema, "/api/v1/bi/experiments/{experiment_id}/results", "GET", response, url)


def test_create_list_and_assignment_conform(schema, org_a, manager_a, agent_a, product):
    client = client_for(manager_a)
    body = {
        "name": "Price",
        "kind": "pricing",
        "productId": "P1",
        "variants": [
            {"key": "a", "weight": 0.5, "price": "100.00"},
            {"key": "b", "weight": 0.5, "price": "120.00"},
        ],
        "metric": "conversion_rate",
        "minimumDetectableEffect": 0.1,
    }
    url = "/api/v1/bi/experiments"
    response = client.post(url, body, format="json")
    assert response.status_code == 201
    conforms(schema, url, "POST", response, url)
    experiment_id = response.json()["id"]
    start = f"/api/v1/bi/experiments/{experiment_id}/start"
    conforms(
        schema,
        "/api/v1/bi/experiments/{experiment_id}/start",
        "POST",
        client.post(start, format="json"),
        start,
    )
    conforms(schema, url, "GET", client.get(url), url)
    ContactFactory(organization=org_a, external_id="C-9")
    assignment = f"/api/v1/bi/experiments/{experiment_id}/assignment?contact=C-9"
    response = client_for(agent_a).get(assignment)
    assert response.status_code == 200
    conforms(schema, "/api/v1/bi/experiments/{experiment_id}/assignment", "GET", response, assignment)
    assert Decimal(str(response.json()["price"])) in (Decimal("100"), Decimal("120"))
