"""A small hand-built history for the manager overview (numbers worked out in test_api.py).

Organization A is in Africa/Nairobi (UTC+3, no DST). AS_OF = 15 Mar 2026 12:00 UTC, so
7d is W = [8 Mar 12:00, 15 Mar 12:00) UTC and the previous window [1 Mar 12:00, 8 Mar 12:00).
`copy` builds independent copies (other ids, other agents) for the query-count test.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from crm.last_touch import sales_last_touch_refresh
from crm.models import ActivityType, CampaignMessage, Role, Touchpoint
from tests.factories import ActivityFactory, CampaignFactory, LeadFactory, MemberFactory, SaleFactory

AS_OF = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)


def at(day: int, hour: int = 9, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC)


def build_history(org, agent, *, copy: int = 0) -> dict:
    p = f"x{copy}-" if copy else ""
    other = MemberFactory(email=f"{p}bea@acme.test", organization=org, role=Role.AGENT)
    lead = lambda ext, **kw: LeadFactory(organization=org, external_id=p + ext, **kw)  # noqa: E731
    leads = {
        "L1": lead(
            "L1",
            region="North",
            product_line="Pro",
            source="Ads",
            score=80,
            estimated_value=Decimal(1000),
            created_at=at(10),
            interested_at=at(11),
            converted_at=at(12),
            assigned_agent=agent,
        ),
        "L2": lead(
            "L2",
            region="North",
            product_line="Basic",
            source="Referrals",
            score=60,
            estimated_value=Decimal(500),
            created_at=at(11),
            assigned_agent=agent,
        ),
        "L3": lead(
            "L3",
            region="South",
            product_line="Pro",
            source="Ads",
            score=None,
            estimated_value=Decimal(2000),
            created_at=at(14),
            lost_at=at(15, 8),
            assigned_agent=other,
        ),
        "L4": lead(
            "L4",
            region="South",
            product_line="Basic",
            source="Ads",
            score=40,
            estimated_value=Decimal(300),
            created_at=at(5),
            converted_at=at(6),
            assigned_agent=agent,
        ),
        "L5": lead(
            "L5",
            region="North",
            product_line="Pro",
            source="Referrals",
            score=70,
            estimated_value=Decimal(700),
            created_at=at(1, month=2),
        ),
    }
    call = lambda ext, lead_key, member, outcome, seconds, when: ActivityFactory(  # noqa: E731
        organization=org,
        external_id=p + ext,
        lead=leads[lead_key],
        agent=member,
        type=ActivityType.CALL,
        outcome=outcome,
        duration_seconds=seconds,
        occurred_at=when,
    )
    call("C1", "L1", agent, "success", 300, at(10, 10))
    call("C2", "L2", agent, "failed", 90, at(11, 10))
    call("C3", "L3", other, "success", None, at(14, 10))
    call("C4", "L4", agent, "success", 600, at(5, 10))
    ActivityFactory(
        organization=org,
        external_id=p + "E1",
        lead=leads["L1"],
        agent=agent,
        type=ActivityType.EMAIL,
        occurred_at=at(10, 11),
    )
    sale = lambda ext, lead_key, amount, kind, when, currency="KES": SaleFactory(  # noqa: E731
        organization=org,
        external_id=p + ext,
        lead=leads[lead_key],
        agent=agent,
        amount=Decimal(amount),
        kind=kind,
        closed_at=when,
        currency=currency,
        product_line=leads[lead_key].product_line,
    )
    sale("S1", "L1", "1000.00", "new", at(12, 10))
    sale("S2", "L2", "250.50", "recurring", at(13, 10))
    sale("S3", "L4", "500.00", "recurring", at(6, 10))
    sale("S4", "L2", "999.00", "new", at(13, 11), currency="EUR")
    k1 = CampaignFactory(organization=org, external_id=p + "K1", name=f"{p}Spring", spend=Decimal("100.00"))
    k2 = CampaignFactory(organization=org, external_id=p + "K2", name=f"{p}Promo", spend=Decimal("50.00"))
    messages = [
        # (campaign, sent, delivered, read, replied, failed)
        (k1, at(10), True, True, True, False),
        (k1, at(10), True, True, False, False),
        (k1, at(11), True, False, False, False),
        (k1, at(11), False, False, False, True),
        (k2, at(12), True, True, False, False),
        (k2, at(5), True, False, False, False),
    ]
    for i, (campaign, sent, delivered, read, replied, failed) in enumerate(messages):
        later = sent + dt.timedelta(minutes=5)
        CampaignMessage.objects.create(
            organization=org,
            external_id=f"{p}M{i}",
            campaign=campaign,
            sent_at=sent,
            delivered_at=later if delivered else None,
            read_at=later if read else None,
            replied_at=later if replied else None,
            failed_at=later if failed else None,
        )
    touches = [
        ("T1", "L1", k1, at(9)),
        ("T2", "L1", k2, at(11)),
        ("T3", "L1", k1, at(13)),
        ("T4", "L2", k1, at(12)),
        ("T5", "L4", k1, at(4)),
    ]
    for ext, lead_key, campaign, when in touches:
        Touchpoint.objects.create(
            organization=org, external_id=p + ext, lead=leads[lead_key], campaign=campaign, occurred_at=when
        )
    # Rows made by factories bypass ingestion: derive what it would (the sales' last touch).
    sales_last_touch_refresh(organization_id=org.pk)
    return {"leads": leads, "other": other, "campaigns": (k1, k2)}
