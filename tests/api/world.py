"""A small history of organization A around the real clock, so that every answer the
schema conformance test gets has rows in it (lists, nulls and non-nulls), not only zeros.

The conformance test requests go through the WSGI application with the real time (the
clock cannot be frozen around hypothesis), so the rows are placed relative to `now`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from agents.models import AgentGoal, GoalPeriod
from agents.services import period_bounds
from crm.last_touch import sales_last_touch_refresh
from crm.models import ActivityType, CampaignMessage, LeadStatus, Member, Organization, Role, Touchpoint
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    LeadFactory,
    MemberFactory,
    SaleFactory,
)
from tests.insights.bi.factories_ui import InsightFactory, MetricFactory, OpportunityFactory

DAY = dt.timedelta(days=1)


def build_world(org: Organization, *, agent: Member, manager: Member, now: dt.datetime) -> None:
    """Two agents' leads, calls, e-mails and sales over the last 40 days, two campaigns with
    messages and touchpoints, a reached goal, insights, opportunities and metric rows."""

    def ago(days: float) -> dt.datetime:
        return now - days * DAY

    bea = MemberFactory(email="bea@acme.test", name="Bea Agent", organization=org, role=Role.AGENT)
    contacts = [
        ContactFactory(organization=org, external_id=f"C{i}", country=country, created_at=ago(60))
        for i, country in enumerate(("KE", "UG", "TZ", ""))
    ]
    lead = LeadFactory
    leads = [
        lead(
            organization=org,
            external_id="L1",
            contact=contacts[0],
            assigned_agent=agent,
            source="Referrals",
            region="North",
            product_line="Pro",
            score=82,
            created_at=ago(6),
            assigned_at=ago(6),
            contacted_at=ago(5.8),
            interested_at=ago(5),
            converted_at=ago(4),
            status=LeadStatus.CONVERTED,
            satisfaction_rating=5,
            rated_at=ago(3),
        ),
        lead(
            organization=org,
            external_id="L2",
            contact=contacts[1],
            assigned_agent=agent,
            source="Web Forms",
            region="South",
            product_line="Basic",
            score=45,
            created_at=ago(3),
            assigned_at=ago(2.9),
            contacted_at=ago(2.5),
            status=LeadStatus.CONTACTED,
            satisfaction_rating=3,
            rated_at=ago(2),
        ),
        lead(
            organization=org,
            external_id="L3",
            contact=contacts[2],
            assigned_agent=bea,
            source="Paid Ads",
            region="North",
            product_line="Pro",
            score=None,
            estimated_value=None,
            created_at=ago(10),
            assigned_at=ago(10),
            contacted_at=ago(9.9),
            lost_at=ago(8),
            status=LeadStatus.LOST,
        ),
        lead(
            organization=org,
            external_id="L4",
            assigned_agent=agent,
            source="Referrals",
            region="South",
            product_line="Basic",
            created_at=ago(40),
            assigned_at=ago(40),
            contacted_at=ago(39),
            interested_at=ago(38),
            converted_at=ago(35),
            status=LeadStatus.CONVERTED,
        ),
        lead(organization=org, external_id="L5", source="", created_at=ago(1), status=LeadStatus.NEW),
    ]
    for i, (who, kind, days, outcome, seconds) in enumerate(
        [
            (agent, ActivityType.CALL, 0.2, "success", 300),
            (agent, ActivityType.CALL, 1.5, "no_answer", None),
            (agent, ActivityType.CALL, 5.9, "success", 610),
            (bea, ActivityType.CALL, 2.1, "failed", 45),
            (bea, ActivityType.CALL, 9.9, "success", 1200),
            (agent, ActivityType.CALL, 36, "voicemail", 20),
            (agent, ActivityType.EMAIL, 2.4, "", None),
            (agent, ActivityType.CONVERSION, 4, "", None),
            (bea, ActivityType.MEETING, 12, "success", 1800),
        ]
    ):
        ActivityFactory(
            organization=org,
            external_id=f"A{i}",
            lead=leads[i % 4],
            agent=who,
            type=kind,
            occurred_at=ago(days),
            outcome=outcome,
            duration_seconds=seconds,
            automated=i == 1,
            metadata={"channel": "phone"} if kind == ActivityType.CALL else {},
        )
    for i, (who, lead_index, amount, kind, days, currency) in enumerate(
        [
            (agent, 0, "1200.00", "new", 4, "KES"),
            (agent, 1, "250.50", "recurring", 2, "KES"),
            (agent, None, "99.99", "one_time", 7, "KES"),
            (agent, 0, "80.00", "upsell", 3, "EUR"),
            (bea, 2, "640.00", "renewal", 11, "KES"),
            (agent, 3, "500.00", "new", 35, "KES"),
        ]
    ):
        SaleFactory(
            organization=org,
            external_id=f"S{i}",
            agent=who,
            lead=None if lead_index is None else leads[lead_index],
            amount=Decimal(amount),
            kind=kind,
            closed_at=ago(days),
            currency=currency,
            product_line="Pro" if i % 2 == 0 else "Basic",
        )
    spring = CampaignFactory(
        organization=org, external_id="K1", name="Spring", spend=Decimal("100.00"), started_at=ago(20)
    )
    promo = CampaignFactory(organization=org, external_id="K2", name="Promo", spend=Decimal("0.00"))
    for i, (campaign, days, delivered, read, replied) in enumerate(
        [
            (spring, 5, True, True, True),
            (spring, 5, True, True, False),
            (spring, 4, True, False, False),
            (spring, 3, False, False, False),
            (promo, 2, True, False, False),
        ]
    ):
        sent = ago(days)
        CampaignMessage.objects.create(
            organization=org,
            external_id=f"M{i}",
            campaign=campaign,
            contact=contacts[i % 4],
            sent_at=sent,
            delivered_at=sent + dt.timedelta(minutes=1) if delivered else None,
            read_at=sent + dt.timedelta(minutes=5) if read else None,
            replied_at=sent + dt.timedelta(minutes=9) if replied else None,
            failed_at=None if delivered else sent + dt.timedelta(minutes=1),
        )
    for i, (lead_index, campaign, days) in enumerate([(0, spring, 6.5), (1, spring, 3.5), (1, promo, 2.5)]):
        Touchpoint.objects.create(
            organization=org,
            external_id=f"T{i}",
            lead=leads[lead_index],
            contact=leads[lead_index].contact,
            campaign=campaign,
            channel="whatsapp",
            occurred_at=ago(days),
        )
    # Rows made by factories bypass ingestion: derive what it would (the sales' last touch).
    sales_last_touch_refresh(organization_id=org.pk)
    start, end = period_bounds(GoalPeriod.MONTHLY, now.astimezone(org.tz).date())
    AgentGoal.objects.create(
        organization=org,
        agent=agent,
        period=GoalPeriod.MONTHLY,
        goal_type="conversions",
        target=Decimal("1.00"),
        period_start=start,
        period_end=end,
        achieved_at=ago(0.5),
    )
    InsightFactory(
        organization=org,
        lead=leads[1],
        priority="high",
        created_at=ago(1),
        condition_since=ago(2),
    )
    InsightFactory(
        organization=org,
        type="upsell_potential",
        agent=bea,
        contact=contacts[2],
        impact=None,
        created_at=ago(3),
        condition_since=ago(4),
        resolved_at=ago(1),
        resolved_by=manager,
        resolution_note="Called",
    )
    OpportunityFactory(organization=org, owner=agent, lead=leads[0], created_at=ago(3))
    OpportunityFactory(
        organization=org,
        type="renewal",
        status="converted",
        owner=bea,
        estimated_value=None,
        currency="",
        created_at=ago(30),
        closed_at=ago(2),
        status_changed_at=ago(2),
    )
    for days, agent_id in ((1, None), (2, None), (1, agent.pk)):
        MetricFactory(
            organization=org,
            agent_id=agent_id,
            period_start=(now - days * DAY).astimezone(org.tz).date(),
            computed_at=now,
        )
