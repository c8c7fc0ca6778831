"""The demo's running price test (setup_demo): started from the Starter suggestion 42 days
before the demo's as_of, with quotes in its window at the price of each contact's variant."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from crm.demo.generator import DemoConfig, DemoGenerator
from crm.demo.loader import demo_load
from crm.demo.pricing import EXPERIMENT_QUOTES_PER_VARIANT
from crm.models import Quote, Role
from insights.experiments import readout
from insights.experiments.assignment import assign, subject_key
from insights.experiments.models import ExperimentKind, ExperimentStatus
from insights.experiments.services import experiment_create_from_suggestion
from insights.management.commands.setup_demo import DEMO_TEST_DAYS, demo_price_test
from pricing.models import PricingSuggestion
from pricing.services import suggestions_generate
from tests.factories import MemberFactory, OrganizationFactory

AS_OF = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SEED = 7
VARIANTS = [("current", "3741.00"), ("suggested", "3179.85")]


def _records(experiment_id: int) -> list[dict]:
    config = DemoConfig(
        seed=SEED,
        scale="small",
        as_of=AS_OF,
        agent_emails=tuple(f"agent{i}@demo.test" for i in range(8)),
        timezone="Africa/Nairobi",
        currency="KES",
    )
    weights = [("current", 0.5), ("suggested", 0.5)]
    return DemoGenerator(config).pricing.experiment_quote_records(
        product_external_id="PRD-STARTER",
        start=(AS_OF - dt.timedelta(days=DEMO_TEST_DAYS)).timestamp(),
        variants=VARIANTS,
        variant_of=lambda c: assign(
            experiment_id, subject_key(contact_external_id=c, lead_external_id=None), weights
        ),
    )


def _counts(records: list[dict]) -> dict[str, tuple[int, int]]:
    prices = {price: key for key, price in VARIANTS}
    decided, won = Counter(), Counter()
    for record in records:
        if record["outcome"] != "open":
            decided[prices[record["unit_price"]]] += 1
            won[prices[record["unit_price"]]] += record["outcome"] == "won"
    return {key: (decided[key], won[key]) for key, _ in VARIANTS}


def test_experiment_quotes_are_deterministic_and_independent_of_the_test_id():
    first = _records(11)

    assert _records(11) == first
    assert len(first) == 2 * EXPERIMENT_QUOTES_PER_VARIANT
    # Another test id assigns other contacts, but each variant's numbers stay the same.
    assert _counts(_records(12)) == _counts(first)
    # The lower price wins more (Starter's logistic response).
    (n_a, won_a), (n_b, won_b) = _counts(first).values()
    assert won_b / n_b > won_a / n_a


@pytest.mark.django_db
def test_demo_has_a_running_price_test_with_results():
    # given a demo history, its suggestions requested by the manager
    org = OrganizationFactory(slug="demo-x", timezone="Africa/Nairobi", currency="KES")
    manager = MemberFactory(email="manager@demo-x.test", organization=org, role=Role.MANAGER)
    demo_load(organization=org, seed=SEED, scale="small", as_of=AS_OF)
    suggestions_generate(organization=org, requested_by=manager, product_ids=None, now=AS_OF)

    # when setup_demo's price test is made
    experiment = demo_price_test(organization=org, manager=manager, seed=SEED, scale="small", as_of=AS_OF)

    # then it runs since 42 days before as_of, and its results have both variants, on assignment
    assert experiment is not None
    assert experiment.kind == ExperimentKind.PRICING
    assert experiment.status == ExperimentStatus.RUNNING
    assert experiment.started_at == AS_OF - dt.timedelta(days=DEMO_TEST_DAYS)
    reading = readout.readout(experiment, as_of=AS_OF + dt.timedelta(hours=1))
    measures = {m.key: m for m in reading.measures}
    assert set(measures) == {"current", "suggested"}
    for measure in measures.values():
        assert measure.n > 100
        assert measure.off_assignment == 0
    assert reading.results.comparisons[0].ci_low is not None
    assert reading.results.decision.status in ("stop: winner", "keep running")
    # and every quote of the window is at the price of its contact's variant
    weights = [(v.key, v.weight) for v in experiment.variants.all()]
    price = {v.key: v.price for v in experiment.variants.all()}
    quotes = Quote.objects.for_org(org).filter(
        product=experiment.product, quoted_at__gte=experiment.started_at, contact__isnull=False
    )
    assert quotes.count() == 2 * EXPERIMENT_QUOTES_PER_VARIANT
    for contact, unit_price in quotes.values_list("contact__external_id", "unit_price"):
        key = assign(experiment.pk, subject_key(contact_external_id=contact, lead_external_id=None), weights)
        assert unit_price == price[key]
    # and regenerating gives the same numbers
    assert {k: (m.n, m.conversions) for k, m in measures.items()} == _counts(_records(experiment.pk))
    # and the manager can still test another suggestion
    other = PricingSuggestion.objects.for_org(org).exclude(product=experiment.product).first()
    assert other is not None
    made = experiment_create_from_suggestion(
        organization=org, actor=manager, suggestion_id=other.pk, now=AS_OF
    )
    assert made.status == ExperimentStatus.DRAFT
