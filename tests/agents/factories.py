"""A small, hand-checkable agent history (numbers worked out in the tests' comments).

Organization A is in Africa/Nairobi (UTC+3, no DST). The reference time is Sunday
22 Nov 2026 12:00 UTC (15:00 local). The 7d window is [15 Nov 12:00, 22 Nov 12:00) UTC and
the previous one [8 Nov 12:00, 15 Nov 12:00) UTC.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial

from crm.models import Role
from tests.factories import LeadFactory, MemberFactory, SaleFactory

UTC = dt.UTC
AS_OF = dt.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


def build_history(org, agent):
    """Leads L1-L7 and sales S1-S6 for `agent`, L8 for a second agent (Bea)."""
    bea = MemberFactory(email="bea@acme.test", name="Bea Agent", organization=org, role=Role.AGENT)
    lead = LeadFactory
    leads = {
        "L1": lead(
            organization=org,
            external_id="L1",
            assigned_agent=agent,
            source="Referrals",
            created_at=at(11, 16, 8),
            assigned_at=at(11, 16, 9),
            contacted_at=at(11, 16, 11),
            interested_at=at(11, 17),
            converted_at=at(11, 18),
            satisfaction_rating=5,
            status="converted",
        ),
        "L2": lead(
            organization=org,
            external_id="L2",
            assigned_agent=agent,
            source="Web Forms",
            created_at=at(11, 17, 9),
            assigned_at=at(11, 17, 10),
            contacted_at=at(11, 17, 14),
            interested_at=at(11, 18),
            satisfaction_rating=3,
            status="interested",
        ),
        "L3": lead(
            organization=org,
            external_id="L3",
            assigned_agent=agent,
            source="Web Forms",
            created_at=at(11, 20, 7),
            assigned_at=at(11, 20, 8),
        ),
        # never assigned: handled when created; contacted but no response time (no assigned_at)
        "L4": lead(
            organization=org,
            external_id="L4",
            assigned_agent=agent,
            source="Paid Ads",
            created_at=at(11, 21, 9),
            contacted_at=at(11, 21, 12),
            status="contacted",
        ),
        "L5": lead(
            organization=org,
            external_id="L5",
            assigned_agent=agent,
            source="Referrals",
            created_at=at(11, 10, 9),
            assigned_at=at(11, 10, 10),
            contacted_at=at(11, 10, 13),
            converted_at=at(11, 12),
            satisfaction_rating=4,
            status="converted",
        ),
        "L6": lead(
            organization=org,
            external_id="L6",
            assigned_agent=agent,
            source="Referrals",
            created_at=at(11, 12, 9),
            assigned_at=at(11, 12, 10),
        ),
        # today (local 22 Nov): answered live, never from the daily rows
        "L7": lead(
            organization=org,
            external_id="L7",
            assigned_agent=agent,
            source="Referrals",
            created_at=at(11, 22, 5),
            assigned_at=at(11, 22, 6),
            contacted_at=at(11, 22, 7),
            status="contacted",
        ),
        "L8": lead(
            organization=org,
            external_id="L8",
            assigned_agent=bea,
            source="Events",
            created_at=at(11, 19, 9),
            assigned_at=at(11, 19, 10),
            contacted_at=at(11, 19, 11),
            converted_at=at(11, 20),
            status="converted",
        ),
    }
    # in the organization's currency (KES for org_a): the only sales whose amounts are summed
    sale = partial(SaleFactory, currency=org.currency)
    sales = {
        "S1": sale(
            organization=org,
            external_id="S1",
            agent=agent,
            lead=leads["L1"],
            amount=Decimal("1000.00"),
            closed_at=at(11, 18, 12),
        ),
        # 21 Nov 23:30 UTC is 22 Nov 02:30 in Nairobi: today, local
        "S2": sale(
            organization=org,
            external_id="S2",
            agent=agent,
            amount=Decimal("250.50"),
            closed_at=at(11, 21, 23, 30),
        ),
        # Sunday 8 Nov 22:00 UTC is Monday 9 Nov 01:00 local: ISO week of 9 Nov, not 2 Nov
        "S3": sale(
            organization=org,
            external_id="S3",
            agent=agent,
            lead=leads["L5"],
            amount=Decimal("500.00"),
            closed_at=at(11, 8, 22),
        ),
        "S4": sale(
            organization=org, external_id="S4", agent=agent, amount=Decimal("700.25"), closed_at=at(10, 5, 10)
        ),
        # after 22 Oct 15:00 local: outside the previous month-to-date window
        "S5": sale(
            organization=org, external_id="S5", agent=agent, amount=Decimal("99.00"), closed_at=at(10, 25, 10)
        ),
        # 31 Oct 22:00 UTC is 1 Nov 01:00 local: November
        "S6": sale(
            organization=org, external_id="S6", agent=agent, amount=Decimal("10.00"), closed_at=at(10, 31, 22)
        ),
        "S7": sale(
            organization=org,
            external_id="S7",
            agent=bea,
            lead=leads["L8"],
            amount=Decimal("5000.00"),
            closed_at=at(11, 20, 12),
        ),
    }
    return bea, leads, sales
