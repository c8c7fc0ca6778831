"""Factories and hand-built histories for the business-insight tests.

Each helper lives in its own clearly named section; add yours in a new section.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from crm.models import (
    Activity,
    ActivityType,
    CampaignMessage,
    Direction,
    Lead,
    LeadStatus,
    Member,
    Role,
    SaleKind,
)
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    ContactFactory,
    LeadFactory,
    MemberFactory,
    SaleFactory,
)

# --- detector world (insights.bi.detectors, insights.bi.services.insights_refresh) -------------
#
# DETECTOR_AS_OF = Wed 18 Mar 2026 12:00 UTC (15:00 in Nairobi). The last complete local week
# in Nairobi is Mon 9 - Sun 15 Mar = [Sun 8 Mar 21:00, Sun 15 Mar 21:00) UTC. One world gives,
# with the default settings, exactly these findings:
#
#   missed_opportunity  M1: open, score 80, value 1000, last outbound call 10 days ago
#                       (not M2: called 2 days ago; not M3: score 50; not M4: converted)
#   upsell_potential    contact C1: 3 answered calls + 1 campaign reply in 30 days = score 5,
#                       the top ceil(0.2 x 5 customers) = 1 (C2..C5: nothing; C2 also upsold)
#   conversion_risk     R1: interested, 4 calls in [-28 d, -14 d), none since (4 -> 0)
#                       R3: interested, inbound e-mail 30 h ago, last call 3 days ago
#                       (not R2: 4 -> 3)
#   engagement_trend    Events / email: 10 inbound e-mails a week for nine weeks, 30 in the
#                       week of 9 Mar, 20 of them on Mon 9 Mar 00:30 Nairobi (Sun 8 Mar 21:30
#                       UTC: in a UTC organization they fall in the week of 2 Mar instead)
#   performance         agent "perf": a Partners lead every 2 days for 150 days, 6 of every 15
#                       converted an hour after assignment (40%) before the last 30 days, none
#                       of the 14 in them (0%); every one contacted after 30 minutes (flat): agent:<perf>:conversion and source:Partners:conversion

DETECTOR_AS_OF = dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.UTC)


def _ago(days: float = 0, hours: float = 0) -> dt.datetime:
    return DETECTOR_AS_OF - dt.timedelta(days=days, hours=hours)


@dataclass
class DetectorWorld:
    leads: dict[str, Lead]
    contacts: dict
    perf_agent: Member


def detector_world(org, agent, *, copy: int = 0) -> DetectorWorld:
    """Build one world (see above) in `org`; `copy` > 0 builds an independent copy (other ids,
    another perf agent) for the query-count test."""
    p = f"w{copy}-"
    currency = org.currency
    leads: dict[str, Lead] = {}

    def lead(key: str, **fields) -> Lead:
        defaults = {
            "score": 50,
            "estimated_value": Decimal(1000),
            "created_at": _ago(40),
            "assigned_at": _ago(40),
            "assigned_agent": agent,
            "status": LeadStatus.CONTACTED,
            "source": "Referrals",
        }
        leads[key] = LeadFactory(
            organization=org, external_id=p + key, name=f"{p}{key}", **{**defaults, **fields}
        )
        return leads[key]

    def call(lead_key: str, when: dt.datetime, **fields) -> Activity:
        defaults = {
            "type": ActivityType.CALL,
            "direction": Direction.OUTBOUND,
            "outcome": "success",
            "channel": "phone",
        }
        return ActivityFactory(
            organization=org, lead=leads[lead_key], agent=agent, occurred_at=when, **{**defaults, **fields}
        )

    # missed opportunities
    lead("M1", score=80)
    call("M1", _ago(10))
    lead("M2", score=80)
    call("M2", _ago(2))
    lead("M3", score=50)
    call("M3", _ago(10))
    lead("M4", score=90, converted_at=_ago(20), status=LeadStatus.CONVERTED)

    # upsell potential: five customers since 100 days
    contacts = {}
    campaign = CampaignFactory(organization=org, external_id=p + "CMP", channel="whatsapp")
    for n in range(1, 6):
        key = f"C{n}"
        contacts[key] = ContactFactory(organization=org, external_id=p + key, name=f"{p}{key}")
        lead(
            key,
            contact=contacts[key],
            created_at=_ago(120),
            assigned_at=_ago(120),
            converted_at=_ago(100),
            status=LeadStatus.CONVERTED,
            score=70,
        )
        SaleFactory(
            organization=org,
            external_id=f"{p}S{n}",
            lead=leads[key],
            contact=contacts[key],
            agent=agent,
            amount=Decimal(500 * n),
            currency=currency,
            kind=SaleKind.NEW,
            closed_at=_ago(100),
        )
    for days in (5, 12, 20):
        call("C1", _ago(days))
    CampaignMessage.objects.create(
        organization=org,
        external_id=p + "CM1",
        campaign=campaign,
        contact=contacts["C1"],
        sent_at=_ago(9),
        delivered_at=_ago(9),
        replied_at=_ago(8),
    )
    SaleFactory(
        organization=org,
        external_id=p + "S-UP",
        lead=leads["C2"],
        contact=contacts["C2"],
        agent=agent,
        amount=Decimal(300),
        currency=currency,
        kind=SaleKind.UPSELL,
        closed_at=_ago(10),
    )

    # conversion risk
    for key in ("R1", "R2", "R3"):
        lead(key, interested_at=_ago(30), status=LeadStatus.INTERESTED)
    for days in (16, 18, 20, 22):
        call("R1", _ago(days))
        call("R2", _ago(days))
    for days in (2, 5, 8):
        call("R2", _ago(days))
    call("R3", _ago(3))
    call("R3", _ago(hours=30), type=ActivityType.EMAIL, direction=Direction.INBOUND, channel="email")

    # engagement trend: inbound e-mails on a lost Events lead, Wednesdays 12:00 UTC
    lead(
        "T1",
        source="Events",
        lost_at=_ago(200),
        status=LeadStatus.LOST,
        created_at=_ago(300),
        assigned_at=_ago(300),
    )
    wednesday = dt.datetime(2026, 3, 11, 12, 0, tzinfo=dt.UTC)
    moments = [wednesday - dt.timedelta(weeks=k) for k in range(10) for _ in range(10)]
    moments += [dt.datetime(2026, 3, 8, 21, 30, tzinfo=dt.UTC)] * 20
    Activity.objects.bulk_create(
        Activity(
            organization=org,
            external_id=f"{p}T-{i}",
            lead=leads["T1"],
            agent=agent,
            occurred_at=when,
            type=ActivityType.EMAIL,
            direction=Direction.INBOUND,
            channel="email",
        )
        for i, when in enumerate(moments)
    )

    # performance: 75 Partners leads of the perf agent, one every 2 days at 06:00 UTC
    perf = MemberFactory(
        email=f"{p}perf@{org.slug}.test", name=f"Perf {copy}", organization=org, role=Role.AGENT
    )
    first = dt.datetime(2025, 10, 19, 6, 0, tzinfo=dt.UTC)  # 150 days before 18 Mar 06:00
    batch = []
    for i in range(75):
        assigned = first + dt.timedelta(days=2 * i)
        converts = assigned < DETECTOR_AS_OF - dt.timedelta(days=30) and i % 5 in (0, 1)
        batch.append(
            Lead(
                organization=org,
                external_id=f"{p}P-{i}",
                name=f"{p}P-{i}",
                source="Partners",
                score=30,
                estimated_value=Decimal(100),
                assigned_agent=perf,
                created_at=assigned,
                assigned_at=assigned,
                contacted_at=assigned + dt.timedelta(minutes=30),
                converted_at=assigned + dt.timedelta(hours=1) if converts else None,
                status=LeadStatus.CONVERTED if converts else LeadStatus.CONTACTED,
            )
        )
    Lead.objects.bulk_create(batch)
    return DetectorWorld(leads=leads, contacts=contacts, perf_agent=perf)
