"""The insight detectors on hand-built rows: no database (docs/metrics.md, "Insight detectors").

AS_OF is Monday 16 Mar 2026 12:00 UTC; organization time zone Africa/Nairobi (UTC+3, no DST),
so the local week of AS_OF starts Mon 16 Mar 00:00 local = Sun 15 Mar 21:00 UTC and the last
complete local week is Mon 9 - Sun 15 Mar.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from agents.metrics import MICROSECONDS_PER_HOUR, AgentTotals
from insights.bi import detectors as d
from insights.bi.models import InsightSettings, InsightType, Priority
from insights.bi.services import thresholds_from

UTC = dt.UTC
NAIROBI = zoneinfo.ZoneInfo("Africa/Nairobi")
AS_OF = dt.datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
CTX = d.Context(as_of=AS_OF, tz=NAIROBI, currency="KES")
DEFAULTS = thresholds_from(InsightSettings())
H, M, L = Priority.HIGH, Priority.MEDIUM, Priority.LOW


def ago(days: float = 0, hours: float = 0) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days, hours=hours)


def with_(**changes) -> d.Thresholds:
    return dataclasses.replace(DEFAULTS, **changes)


def test_defaults_are_the_documented_ones():
    expected = d.Thresholds(
        missed_min_score=60,
        missed_idle_days=7,
        upsell_top_share=0.2,
        upsell_engagement_days=30,
        upsell_quiet_days=90,
        risk_window_days=14,
        risk_drop_share=0.5,
        response_goal_hours=24.0,
        trend_history_weeks=8,
        trend_z=2.0,
        performance_history_weeks=12,
        performance_z=2.0,
    )
    assert thresholds_from(InsightSettings()) == expected


# --- shared helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, []),
        (1, [H]),
        (2, [H, M]),  # ceil(2/3) = 1 high, ceil(4/3) = 2
        (3, [H, M, L]),
        (4, [H, H, M, L]),  # ceil(4/3) = 2, ceil(8/3) = 3
        (5, [H, H, M, M, L]),  # ceil(5/3) = 2, ceil(10/3) = 4
        (6, [H, H, M, M, L, L]),
    ],
)
def test_tercile_priorities(count, expected):
    assert d.tercile_priorities(count) == expected


@pytest.mark.parametrize(
    ("value", "score", "expected"),
    [
        (Decimal("1000"), 70, Decimal("700.00")),
        (Decimal("1234.56"), 33, Decimal("407.40")),  # 407.4048
        (None, 70, Decimal("0")),
        (Decimal("1000"), None, Decimal("0")),
    ],
)
def test_expected_value(value, score, expected):
    assert d.expected_value(value, score) == expected


def test_deviation_is_z_against_the_sample_sd_with_a_floor():
    # history 30, 40 x3: mean 35, sample sd sqrt(6 x 25 / 5) = sqrt(30) = 5.477
    result = d.deviation(10.0, [30, 40, 30, 40, 30, 40], min_sd=2.5)
    assert (result.mean, round(result.sd, 3), round(result.z, 2)) == (35, 5.477, -4.56)
    # a flat history: the floor decides, (24 - 30) / 2.5 = -2.4
    assert d.deviation(24.0, [30, 30, 30], min_sd=2.5).z == pytest.approx(-2.4)
    assert d.deviation(1.0, [3.0], min_sd=1) is None


# --- 1. missed opportunities --------------------------------------------------------------


def lead(
    lead_id=1, *, score=70, value="1000", touch=None, assigned=None, created=None, agent=7
) -> d.OpenLead:
    return d.OpenLead(
        lead_id=lead_id,
        name=f"Lead {lead_id}",
        score=score,
        estimated_value=None if value is None else Decimal(value),
        created_at=created or ago(60),
        assigned_at=assigned,
        last_touch_at=touch,
        agent_id=agent,
        agent_name="Alan" if agent else "",
    )


@pytest.mark.parametrize(
    ("row", "fires", "since"),
    [
        (lead(touch=ago(10)), True, ago(3)),  # 10 days idle: since touch + 7 days
        (lead(score=59, touch=ago(10)), False, None),  # below the good score
        (lead(score=60, touch=ago(7)), True, AS_OF),  # exactly 60 and exactly 7 x 24 h
        (lead(touch=ago(6, hours=23)), False, None),  # one hour short
        (lead(assigned=ago(8)), True, ago(1)),  # never touched: the assignment counts
        (lead(created=ago(9)), True, ago(2)),  # never assigned: the creation counts
        (lead(touch=ago(2), assigned=ago(30)), False, None),  # the touch is what counts
    ],
)
def test_missed_opportunity_rule(row, fires, since):
    found = d.missed_opportunities([row], thresholds=DEFAULTS, ctx=CTX)
    assert bool(found) is fires
    if fires:
        assert found[0].condition_since == since
        assert found[0].subject_key == "lead:1"
        assert found[0].type == InsightType.MISSED_OPPORTUNITY


def test_missed_opportunity_explains_itself():
    # score 70 x 1000 / 100 = 700; idle 10 days
    (finding,) = d.missed_opportunities([lead(touch=ago(10))], thresholds=DEFAULTS, ctx=CTX)
    assert finding.title == "Lead 1 has had no agent contact for 10 days"
    assert "since 6 Mar 2026 (10 days; the limit is 7)" in finding.explanation
    assert "KES 700.00" in finding.explanation
    assert finding.impact == Decimal("700.00")
    assert finding.evidence["expectedValue"] == 700.0
    assert finding.evidence["idleDays"] == 10
    assert finding.evidence["lastTouchKind"] == "last agent touch"
    assert (finding.lead_id, finding.agent_id) == (1, 7)
    assert 2 <= len(finding.action_items) <= 4
    assert any("Alan" in item for item in finding.action_items)


def test_missed_opportunities_are_ranked_by_expected_value_in_terciles():
    rows = [
        lead(1, score=60, value="500", touch=ago(20)),  # 300
        lead(2, score=90, value="1000", touch=ago(8)),  # 900
        lead(3, score=100, value="100", touch=ago(8)),  # 100
        lead(4, score=60, value="1000", touch=ago(8)),  # 600
    ]
    found = d.missed_opportunities(rows, thresholds=DEFAULTS, ctx=CTX)
    assert [(f.lead_id, f.impact, f.priority) for f in found] == [
        (2, Decimal("900.00"), H),
        (4, Decimal("600.00"), H),
        (1, Decimal("300.00"), M),
        (3, Decimal("100.00"), L),
    ]


def test_missed_opportunity_thresholds_change_the_outcome():
    row = lead(score=65, touch=ago(10))
    assert d.missed_opportunities([row], thresholds=with_(missed_idle_days=14), ctx=CTX) == []
    assert d.missed_opportunities([row], thresholds=with_(missed_min_score=70), ctx=CTX) == []
    assert len(d.missed_opportunities([row], thresholds=with_(missed_idle_days=10), ctx=CTX)) == 1


# --- 2. upsell potential ------------------------------------------------------------------


def customer(
    contact_id,
    *,
    activities=0,
    replies=0,
    purchases=0,
    revenue="1000",
    first_sale=None,
    last_upsell=None,
    first_event=None,
) -> d.Customer:
    return d.Customer(
        contact_id=contact_id,
        name=f"Contact {contact_id}",
        first_sale_at=first_sale or ago(200),
        last_upsell_at=last_upsell,
        revenue_year=Decimal(revenue),
        activities=activities,
        replies=replies,
        purchases=purchases,
        first_event_at=first_event or ago(20),
        agent_id=7,
    )


def test_engagement_score_weights():
    # 5 activities x 1 + 1 reply x 2 + 1 purchase x 3 = 10
    assert d.engagement_score(customer(1, activities=5, replies=1, purchases=1)) == 10


def ten_customers(*replacements: d.Customer) -> list[d.Customer]:
    rows = [
        customer(1, activities=5, replies=1, purchases=1),  # score 10
        customer(2, activities=4, revenue="500"),  # 4
        customer(3, activities=4, revenue="900"),  # 4, more revenue than 2
        customer(4, activities=1),  # 1
    ]
    rows += [customer(i) for i in range(5, 11)]  # score 0
    by_id = {c.contact_id: c for c in replacements}
    return [by_id.get(c.contact_id, c) for c in rows]


def test_upsell_takes_the_top_fifth_of_all_customers():
    # 10 customers: ceil(0.2 x 10) = 2 -> contact 1 (10), then contact 3 (4, beats 2 on revenue)
    found = d.upsell_potential(ten_customers(), thresholds=DEFAULTS, ctx=CTX)
    assert [(f.subject_key, f.priority, f.evidence["rank"]) for f in found] == [
        ("contact:1", H, 1),
        ("contact:3", M, 2),
    ]
    assert found[0].evidence["engagementScore"] == 10
    assert found[0].evidence["customers"] == 10
    assert found[0].impact == Decimal("1000.00")
    assert "ranks 1 of your 10 customers" in found[0].explanation


def test_upsell_recent_upsell_excludes_without_promoting_the_next():
    recent = customer(1, activities=5, replies=1, purchases=1, last_upsell=ago(30))
    found = d.upsell_potential(ten_customers(recent), thresholds=DEFAULTS, ctx=CTX)
    assert [f.subject_key for f in found] == ["contact:3"]
    # 91 days ago is outside the 90 quiet days
    old = customer(1, activities=5, replies=1, purchases=1, last_upsell=ago(91))
    assert len(d.upsell_potential(ten_customers(old), thresholds=DEFAULTS, ctx=CTX)) == 2


def test_upsell_new_customers_are_not_in_the_population():
    # contact 1 bought first 10 days ago: out; 9 customers left, ceil(1.8) = 2: contacts 3, 2
    new = customer(1, activities=5, replies=1, purchases=1, first_sale=ago(10))
    found = d.upsell_potential(ten_customers(new), thresholds=DEFAULTS, ctx=CTX)
    assert [f.subject_key for f in found] == ["contact:3", "contact:2"]
    assert found[0].evidence["customers"] == 9


def test_upsell_never_includes_a_zero_score_and_follows_the_share():
    found = d.upsell_potential(ten_customers(), thresholds=with_(upsell_top_share=0.5), ctx=CTX)
    # top 5: 1, 3, 2, 4 and a score-0 customer, who is dropped
    assert [f.subject_key for f in found] == ["contact:1", "contact:3", "contact:2", "contact:4"]
    assert d.upsell_potential([], thresholds=DEFAULTS, ctx=CTX) == []


@pytest.mark.parametrize(
    ("last_upsell", "first_event", "since"),
    [
        (ago(100), ago(20), ago(10)),  # quiet since 100 - 90 = 10 days ago, later than the event
        (ago(200), ago(20), ago(20)),  # quiet since 110 days ago: the first event is later
        (None, ago(20), ago(20)),  # never upsold: quiet since the first sale (200 days ago)
    ],
)
def test_upsell_condition_since(last_upsell, first_event, since):
    row = customer(1, activities=5, last_upsell=last_upsell, first_event=first_event)
    (finding,) = d.upsell_potential([row], thresholds=DEFAULTS, ctx=CTX)
    assert finding.condition_since == since


# --- 3. conversion risk -------------------------------------------------------------------


def interested(*, current=0, previous=0, last_activity=None, inbound=None, touch=None) -> d.InterestedLead:
    return d.InterestedLead(
        lead_id=5,
        name="Lead 5",
        score=50,
        estimated_value=Decimal("2000"),
        current=current,
        previous=previous,
        last_activity_at=last_activity or ago(10),
        last_inbound_at=inbound,
        last_touch_at=touch,
        agent_id=7,
        agent_name="Alan",
    )


@pytest.mark.parametrize(
    ("row", "declined", "waiting"),
    [
        (interested(previous=4, current=1), True, False),  # 1 < 4 x 0.5
        (interested(previous=4, current=2), False, False),  # a drop of exactly half is not more than half
        (interested(previous=3, current=1), True, False),  # 1 < 1.5
        (interested(previous=2, current=0), False, False),  # below the minimum previous of 3
        (interested(inbound=ago(hours=30), touch=ago(2)), False, True),  # unanswered for 30 h > 24 h
        (interested(inbound=ago(hours=20), touch=ago(2)), False, False),  # within the goal
        (interested(inbound=ago(hours=30), touch=ago(hours=29)), False, False),  # answered after it
        (interested(inbound=ago(hours=30)), False, True),  # never touched at all
        (interested(previous=5, current=0, inbound=ago(2)), True, True),
    ],
)
def test_conversion_risk_rule(row, declined, waiting):
    found = d.conversion_risks([row], thresholds=DEFAULTS, ctx=CTX)
    assert bool(found) is (declined or waiting)
    if found:
        assert (found[0].evidence["declined"], found[0].evidence["waiting"]) == (declined, waiting)
        assert found[0].subject_key == "lead:5"
        assert found[0].impact == Decimal("1000.00")  # 2000 x 50 / 100


def test_conversion_risk_since_and_wording():
    (decline,) = d.conversion_risks(
        [interested(previous=4, current=1, last_activity=ago(9))], thresholds=DEFAULTS, ctx=CTX
    )
    assert decline.condition_since == ago(9)
    assert "fell by 75% (4 activities in the previous 14 days, 1 in the last 14)" in decline.explanation
    (wait,) = d.conversion_risks([interested(inbound=ago(hours=30))], thresholds=DEFAULTS, ctx=CTX)
    assert wait.condition_since == ago(hours=6)  # the message + 24 h
    assert wait.evidence["waitedHours"] == 30.0
    assert wait.title == "Lead 5 is waiting 30 hours for a reply"
    assert wait.action_items[0] == "Reply to Lead 5's last message today."
    # both: the later of the two since-times
    (both,) = d.conversion_risks(
        [interested(previous=4, current=0, last_activity=ago(9), inbound=ago(hours=30))],
        thresholds=DEFAULTS,
        ctx=CTX,
    )
    assert both.condition_since == ago(hours=6)


def test_conversion_risk_thresholds_change_the_outcome():
    assert (
        d.conversion_risks(
            [interested(previous=4, current=1)], thresholds=with_(risk_drop_share=0.75), ctx=CTX
        )
        == []
    )
    assert (
        d.conversion_risks(
            [interested(inbound=ago(hours=30))], thresholds=with_(response_goal_hours=48), ctx=CTX
        )
        == []
    )


# --- 4. engagement trends -----------------------------------------------------------------

WEEKS = d.trend_weeks(as_of=AS_OF, tz=NAIROBI, history_weeks=8)
# Newest first: the last complete week (9 Mar), then nine weeks before it.
STEADY = [10, 12, 10, 11, 10, 12, 11, 10, 12]  # weeks 1..9


def series(counts: list[int], source="Referrals", channel="email") -> list[d.WeeklyEngagement]:
    return [d.WeeklyEngagement(source, channel, week, c) for week, c in zip(WEEKS, counts, strict=True) if c]


def test_trend_weeks_are_local_mondays():
    assert WEEKS[0] == dt.date(2026, 3, 9)
    assert WEEKS[-1] == dt.date(2026, 1, 5)
    assert len(WEEKS) == 10
    # Sun 15 Mar 22:00 UTC is Mon 16 Mar 01:00 in Nairobi: the week of 9 Mar is complete there,
    # not yet in UTC
    late_sunday = dt.datetime(2026, 3, 15, 22, 0, tzinfo=UTC)
    assert d.trend_weeks(as_of=late_sunday, tz=NAIROBI, history_weeks=1)[0] == dt.date(2026, 3, 9)
    assert d.trend_weeks(as_of=late_sunday, tz=UTC, history_weeks=1)[0] == dt.date(2026, 3, 2)


def test_trend_rise_beyond_the_usual_weekly_change():
    # changes 20 | -2, 2, -1, 1, -2, 1, 1, -2: mean -0.25, sample sd sqrt(19.5 / 7) = 1.669
    # z = (20 + 0.25) / 1.669 = 12.13
    (finding,) = d.engagement_trends(series([30, *STEADY]), thresholds=DEFAULTS, ctx=CTX)
    assert finding.subject_key == "source:Referrals:channel:email"
    assert finding.evidence["z"] == 12.13
    assert finding.evidence["change"] == 20
    assert finding.evidence["changePercent"] == 200.0  # 10 -> 30
    assert (finding.evidence["usualChangeMean"], finding.evidence["usualChangeSd"]) == (-0.25, 1.67)
    assert finding.priority == H
    assert finding.title == "Engagement from Referrals via email rose 200% last week"
    # the end of the week of 9 Mar: Mon 16 Mar 00:00 Nairobi
    assert finding.condition_since == dt.datetime(2026, 3, 15, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("counts", "fires"),
    [
        ([12, *STEADY], False),  # change 2: z = 2.25 / 1.669 = 1.35
        ([0, *STEADY], True),  # change -10: z = -9.75 / 1.669 = -5.84
        ([8, 1, 0, 1, 0, 1, 0, 1, 0, 1], False),  # a mean of 5 / 9 events a week: too quiet
        ([60, 50, 0, 0, 0, 0, 0, 0, 0, 0], False),  # busy enough (50 / 9 = 5.6) but engaged 1 week of 9
    ],
)
def test_trend_needs_an_unusual_change_on_an_established_series(counts, fires):
    assert bool(d.engagement_trends(series(counts), thresholds=DEFAULTS, ctx=CTX)) is fires


def test_trend_thresholds_and_priorities():
    assert d.engagement_trends(series([30, *STEADY]), thresholds=with_(trend_z=13), ctx=CTX) == []
    # change 5: z = 5.25 / 1.669 = 3.15: at least 1.5 x 2 = 3, under 2 x 2 -> medium
    (medium,) = d.engagement_trends(series([15, *STEADY]), thresholds=DEFAULTS, ctx=CTX)
    assert (medium.evidence["z"], medium.priority) == (3.15, M)
    (low,) = d.engagement_trends(series([15, *STEADY]), thresholds=with_(trend_z=3.0), ctx=CTX)
    assert low.priority == L  # 3.15 < 1.5 x 3
    # fewer history weeks: only the changes of weeks 1..4 count (-2, 2, -1, 1: mean 0, sd 1.826),
    # z = 20 / 1.826 = 10.95
    (short,) = d.engagement_trends(series([30, *STEADY]), thresholds=with_(trend_history_weeks=4), ctx=CTX)
    assert (short.evidence["z"], len(short.evidence["weeklyCounts"])) == (10.95, 6)


def test_trend_series_are_per_source_and_channel():
    rows = series([30, *STEADY]) + series([11, *STEADY], channel="phone") + series([30, *STEADY], source="")
    found = d.engagement_trends(rows, thresholds=DEFAULTS, ctx=CTX)
    assert sorted(f.subject_key for f in found) == [
        "source:(none):channel:email",
        "source:Referrals:channel:email",
    ]


# --- 5. performance -----------------------------------------------------------------------


def test_performance_windows():
    windows = d.performance_windows(as_of=AS_OF, history_weeks=3)
    start = dt.datetime(2026, 2, 14, 12, 0, tzinfo=UTC)  # 16 Mar - 30 days
    assert windows == [
        (start, AS_OF),
        (start - dt.timedelta(days=30), start),
        (start - dt.timedelta(days=37), start - dt.timedelta(days=7)),
        (start - dt.timedelta(days=44), start - dt.timedelta(days=14)),
    ]


def agent(windows: list[AgentTotals]) -> d.AgentHistory:
    return d.AgentHistory(agent_id=7, name="Alan", windows=tuple(windows))


def conv(assigned: int, converted: int) -> AgentTotals:
    return AgentTotals(assigned=assigned, converted=converted)


def resp(hours: float, count: int = 5) -> AgentTotals:
    return AgentTotals(response_microseconds=int(hours * count * MICROSECONDS_PER_HOUR), response_count=count)


HISTORY_40 = [conv(10, 3), conv(10, 4)] * 3  # 30%, 40% x 3: mean 35, sd 5.477


def test_agent_conversion_drop():
    # 1 / 10 = 10%: z = (10 - 35) / 5.477 = -4.56 -> worse, |z| >= 1.5 x 2 -> high
    (finding,) = d.performance_shifts([agent([conv(10, 1), *HISTORY_40])], [], thresholds=DEFAULTS, ctx=CTX)
    assert finding.subject_key == "agent:7:conversion"
    assert (finding.evidence["current"], finding.evidence["usualMean"], finding.evidence["z"]) == (
        10.0,
        35.0,
        -4.56,
    )
    assert finding.priority == H
    assert finding.agent_id == 7
    assert finding.title == "Alan: conversion rate down to 10.0%"
    assert finding.condition_since == AS_OF - dt.timedelta(days=30)
    assert finding.evidence["handledLeads"] == 10


@pytest.mark.parametrize(
    ("windows", "fires"),
    [
        ([conv(10, 3), *HISTORY_40], False),  # 30%: z = -0.91
        ([conv(4, 0), *HISTORY_40], False),  # 4 handled leads: no value
        ([conv(10, 1), *HISTORY_40[:5]], False),  # five history values, six needed
        ([conv(10, 1), *HISTORY_40[:5], conv(4, 0)], False),  # the sixth has too few leads
        ([conv(20, 5), *[conv(10, 3)] * 6], False),  # flat 30%: (25 - 30) / floor 2.5 = -2.0, not beyond
        ([conv(25, 6), *[conv(10, 3)] * 6], True),  # 24%: -2.4
    ],
)
def test_agent_conversion_needs_enough_data_and_a_real_move(windows, fires):
    found = d.performance_shifts([agent(windows)], [], thresholds=DEFAULTS, ctx=CTX)
    assert bool(found) is fires


def test_better_than_usual_is_low_priority():
    (finding,) = d.performance_shifts([agent([conv(10, 8), *HISTORY_40])], [], thresholds=DEFAULTS, ctx=CTX)
    assert (finding.priority, finding.title) == (L, "Alan: conversion rate up to 80.0%")
    assert "better than usual" in finding.explanation


def test_agent_response_time_slower_is_worse():
    # history 2, 3 h x 3: mean 2.5, sd 0.548 -> floor 1 h; 10 h: z = 7.5
    history = [resp(2), resp(3)] * 3
    (finding,) = d.performance_shifts([agent([resp(10), *history])], [], thresholds=DEFAULTS, ctx=CTX)
    assert finding.subject_key == "agent:7:response"
    assert (finding.evidence["current"], finding.evidence["z"], finding.priority) == (10.0, 7.5, H)
    (faster,) = d.performance_shifts(
        [agent([resp(0.1), *[resp(6), resp(4)] * 3])], [], thresholds=DEFAULTS, ctx=CTX
    )
    assert faster.priority == L  # faster than usual: (0.1 - 5) / 1.095 = -4.47


def test_source_conversion_and_the_threshold():
    source = d.SourceHistory("Paid Ads", ((20, 0), *[(10, 3), (10, 4)] * 3))
    (finding,) = d.performance_shifts([], [source], thresholds=DEFAULTS, ctx=CTX)
    assert finding.subject_key == "source:Paid Ads:conversion"
    assert finding.agent_id is None
    assert finding.evidence["createdLeads"] == 20
    # z = (0 - 35) / 5.477 = -6.39: not beyond 7
    assert d.performance_shifts([], [source], thresholds=with_(performance_z=7), ctx=CTX) == []
    # a history setting of 4 windows needs only 4 values
    short = d.SourceHistory("Paid Ads", ((20, 0), *[(10, 3), (10, 4)] * 2))
    assert len(d.performance_shifts([], [short], thresholds=with_(performance_history_weeks=4), ctx=CTX)) == 1


def test_every_finding_is_json_ready():
    import json

    findings = (
        d.missed_opportunities([lead(touch=ago(10))], thresholds=DEFAULTS, ctx=CTX)
        + d.upsell_potential(ten_customers(), thresholds=DEFAULTS, ctx=CTX)
        + d.conversion_risks([interested(previous=4, current=1)], thresholds=DEFAULTS, ctx=CTX)
        + d.engagement_trends(series([30, *STEADY]), thresholds=DEFAULTS, ctx=CTX)
        + d.performance_shifts([agent([conv(10, 1), *HISTORY_40])], [], thresholds=DEFAULTS, ctx=CTX)
    )
    assert {f.type for f in findings} == set(InsightType.values)
    for finding in findings:
        json.dumps(finding.evidence)
        assert 2 <= len(finding.action_items) <= 4
        assert len(finding.title) <= 200
        assert finding.condition_since <= AS_OF
