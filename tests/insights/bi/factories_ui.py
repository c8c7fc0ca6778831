"""Rows the generators would write (insights, opportunities, metric series), made directly
for the tests of the API, the page and the admin (the generators have their own tests)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import factory

from crm.models import Role
from insights.bi.models import (
    BusinessInsight,
    InsightType,
    MetricName,
    MetricPeriod,
    Opportunity,
    OpportunityStatus,
    OpportunityType,
    PerformanceMetric,
    Priority,
)
from tests.factories import ActivityFactory, LeadFactory, MemberFactory, OrganizationFactory, SaleFactory

UTC = dt.UTC
AS_OF = dt.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # tests/agents/factories.py


class InsightFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BusinessInsight

    organization = factory.SubFactory(OrganizationFactory)
    type = InsightType.MISSED_OPPORTUNITY
    priority = Priority.MEDIUM
    subject_key = factory.Sequence(lambda n: f"lead:{n}")
    title = factory.Sequence(lambda n: f"Insight {n}")
    explanation = "A lead with a good score has had no agent activity for 9 days."
    action_items = factory.LazyFunction(lambda: ["Call the lead today", "Log the outcome"])
    evidence = factory.LazyFunction(lambda: {"score": 82, "days_idle": 9, "expectedValue": 4500.0})
    impact = Decimal("4500.00")
    condition_since = factory.LazyFunction(lambda: AS_OF - dt.timedelta(days=2))
    created_at = factory.LazyFunction(lambda: AS_OF - dt.timedelta(days=1))
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
    last_seen_at = factory.LazyAttribute(lambda o: o.created_at)


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    organization = factory.SubFactory(OrganizationFactory)
    type = OpportunityType.UPSELL
    status = OpportunityStatus.IDENTIFIED
    subject_key = factory.Sequence(lambda n: f"contact:{n}")
    title = factory.Sequence(lambda n: f"Opportunity {n}")
    explanation = "Bought twice in 90 days; similar customers upgraded."
    evidence = factory.LazyFunction(lambda: {"purchases90d": 2})
    confidence = 70
    confidence_method = "model"
    estimated_value = Decimal("1000.00")
    currency = "KES"
    created_at = factory.LazyFunction(lambda: AS_OF - dt.timedelta(days=3))
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
    status_changed_at = factory.LazyAttribute(lambda o: o.created_at)


class MetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PerformanceMetric

    organization = factory.SubFactory(OrganizationFactory)
    metric = MetricName.CONVERSION_RATE
    period = MetricPeriod.DAY
    period_start = dt.date(2026, 11, 20)
    value = Decimal("25.0000")
    numerator = Decimal("1")
    denominator = Decimal("4")
    computed_at = AS_OF


DAY = dt.timedelta(days=1)


def ago(days: float) -> dt.datetime:
    return AS_OF - days * DAY


@dataclass
class BiWorld:
    """Organization A (Nairobi, KES): Alan (agent_a) and Bea, two agents; a manager; leads,
    sales and activities in the last 30 days and the 30 before; insights and opportunities
    of each agent and of nobody; organization B with one of each. Numbers in test_api.py."""

    org: object
    manager: object
    alan: object
    bea: object
    leads: dict
    insights: dict
    opportunities: dict
    org_b: object
    outsider: object
    insight_b: object
    opportunity_b: object


def build_bi_world(org, manager, alan, outsider) -> BiWorld:
    bea = MemberFactory(email="bea@acme.test", name="Bea Agent", organization=org, role=Role.AGENT)
    lead = LeadFactory
    leads = {
        "L1": lead(
            organization=org,
            external_id="L1",
            name="Kamau Traders",
            assigned_agent=alan,
            created_at=ago(5),
            status="converted",
            converted_at=ago(2),
        ),
        "L2": lead(
            organization=org, external_id="L2", name="Wanjiru Foods", assigned_agent=alan, created_at=ago(4)
        ),
        "L3": lead(
            organization=org,
            external_id="L3",
            name="Otieno Motors",
            assigned_agent=bea,
            created_at=ago(3),
            status="interested",
            interested_at=ago(2),
        ),
        "L4": lead(
            organization=org,
            external_id="L4",
            name="Achieng Salon",
            assigned_agent=alan,
            created_at=ago(40),
            status="contacted",
            contacted_at=ago(39),
        ),
    }
    SaleFactory(
        organization=org,
        agent=alan,
        lead=leads["L1"],
        amount=Decimal("1000.00"),
        currency="KES",
        closed_at=ago(2),
    )
    SaleFactory(organization=org, agent=bea, amount=Decimal("500.00"), currency="KES", closed_at=ago(10))
    SaleFactory(organization=org, agent=alan, amount=Decimal("750.00"), currency="KES", closed_at=ago(45))
    for who, kind, days in (
        (alan, "call", 1),
        (alan, "call", 6),
        (bea, "call", 2),
        (alan, "call", 35),
        (alan, "email", 3),
        (bea, "meeting", 40),
    ):
        ActivityFactory(organization=org, agent=who, type=kind, occurred_at=ago(days), outcome="success")
    insight = InsightFactory
    insights = {
        "lead": insight(
            organization=org,
            type="missed_opportunity",
            priority="high",
            lead=leads["L2"],
            title="Wanjiru Foods has gone quiet",
            impact=Decimal("4500.00"),
            created_at=ago(1),
        ),
        "perf": insight(
            organization=org,
            type="performance",
            priority="low",
            agent=alan,
            impact=None,
            title="Alan takes twice as long to reply",
            evidence={"responseHours": 7.5, "usualHours": 3.25},
            created_at=ago(2),
        ),
        "bea": insight(
            organization=org,
            type="upsell_potential",
            priority="medium",
            lead=leads["L3"],
            agent=bea,
            title="Otieno Motors is ready for more",
            impact=Decimal("900.00"),
            created_at=ago(1),
        ),
        "org": insight(
            organization=org,
            type="engagement_trend",
            priority="low",
            impact=None,
            title="Replies by e-mail fell sharply",
            created_at=ago(40),
        ),
        "old": insight(
            organization=org,
            type="missed_opportunity",
            priority="medium",
            lead=leads["L1"],
            title="Kamau Traders waited a week",
            created_at=ago(50),
            resolved_at=ago(35),
            resolved_by=manager,
            resolution_note="Called",
        ),
    }
    opportunity = OpportunityFactory
    opportunities = {
        "alan": opportunity(
            organization=org,
            type="upsell",
            owner=alan,
            estimated_value=Decimal("1000.00"),
            confidence=70,
            title="Upgrade for Kamau Traders",
        ),
        "lead": opportunity(
            organization=org,
            type="cross_sell",
            lead=leads["L2"],
            estimated_value=Decimal("400.00"),
            confidence=50,
            title="Cross-sell to Wanjiru Foods",
        ),
        "bea": opportunity(
            organization=org,
            type="renewal",
            status="in_progress",
            owner=bea,
            lead=leads["L3"],
            estimated_value=Decimal("2000.00"),
            confidence=45,
            title="Renewal of Otieno Motors",
        ),
        "conv": opportunity(
            organization=org,
            type="expansion",
            status="converted",
            owner=bea,
            estimated_value=Decimal("500.00"),
            confidence=90,
            created_at=ago(50),
            closed_at=ago(5),
            status_changed_at=ago(5),
            title="Expansion done",
        ),
        "lost": opportunity(
            organization=org,
            type="win_back",
            status="lost",
            owner=alan,
            estimated_value=Decimal("300.00"),
            confidence=20,
            created_at=ago(60),
            closed_at=ago(40),
            status_changed_at=ago(40),
            title="Win-back that failed",
        ),
    }
    org_b = outsider.organization
    lead_b = LeadFactory(organization=org_b, external_id="LB", name="ZZ-B-LEAD", created_at=ago(3))
    return BiWorld(
        org=org,
        manager=manager,
        alan=alan,
        bea=bea,
        leads=leads,
        insights=insights,
        opportunities=opportunities,
        org_b=org_b,
        outsider=outsider,
        insight_b=InsightFactory(organization=org_b, lead=lead_b, priority="high", title="ZZ-B-INSIGHT"),
        opportunity_b=OpportunityFactory(organization=org_b, lead=lead_b, title="ZZ-B-OPPORTUNITY"),
    )
