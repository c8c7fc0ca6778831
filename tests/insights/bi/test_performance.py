"""The PerformanceMetric series (insights.bi.performance; docs/metrics.md, "Performance metrics").

Hand-built history: organization "perf" in America/Los_Angeles (UTC-8 in January and
February 2026, no DST change then). AS_OF = Wed 4 Feb 2026 12:00 UTC = 04:00 local; with
days=20 the refresh covers the local days Fri 16 Jan .. Wed 4 Feb, the ISO weeks of Mon 12
Jan, 19 Jan, 26 Jan and 2 Feb, and the months January and February (February, the week of
2 Feb and 4 Feb are partial). The week of 26 Jan runs Mon 26 Jan .. Sun 1 Feb: it crosses
the month boundary. Local times in brackets.

    lead agent  created (UTC)             assigned       contacted          converted   contact
    A    alice  Sun 1 Feb 05:00 (Sat 31 Jan 21:00)  +1h  +3h (response 2h)  3 Feb       cA
    B    alice  Mon 2 Feb 07:30 (Sun 1 Feb 23:30)   +0h  +4h (response 4h)  -           cB
    C    bob    Mon 2 Feb 09:00 (Mon 2 Feb 01:00)   +0h  -                  -           cC
    D    bob    Tue 20 Jan 18:00 (Tue 20 Jan 10:00) +1h  +2.5h (resp 1.5h)  25 Jan      cD
    E    -      Wed 21 Jan 18:00 (Wed 21 Jan 10:00) -    -                  -           -

    sale agent amount     kind        closed (UTC)                          customer
    S1   alice 1000 USD   new         Tue 3 Feb 18:00 (Tue 3 Feb 10:00)     cA (lead A)
    S2   bob    300 USD   upsell      Sun 1 Feb 06:00 (Sat 31 Jan 22:00)    cD (contact, no lead)
    S3   bob    200 USD   renewal     Sun 25 Jan 20:00 (Sun 25 Jan 12:00)   cD
    S4   alice  999 EUR   expansion   Mon 2 Feb 20:00 (Mon 2 Feb 12:00)     cB (lead B)
    S5   bob    150 USD   cross_sell  Fri 30 Jan 20:00 (Fri 30 Jan 12:00)   cD

    message sent (UTC)                        delivered replied
    m1      Sat 31 Jan 20:00 (31 Jan 12:00)   yes       yes
    m2      Sun 1 Feb 04:00 (31 Jan 20:00)    yes       -
    m3      Mon 2 Feb 06:00 (1 Feb 22:00)     yes       yes
    m4      Tue 3 Feb 06:00 (2 Feb 22:00)     - (failed)

In UTC the months and weeks would differ (A, B, m2, m3 and S2 change period), which the
expected numbers below show.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents import analytics as agent_analytics
from agents import metrics as agent_metrics
from agents import selectors as agent_selectors
from core.stats.refresh import statistics_refresh
from core.timeranges import Window, add_months, local_midnight
from crm.models import CampaignMessage, Member, Role
from insights import analytics
from insights.bi.models import PerformanceMetric
from insights.bi.performance import definitions as d
from insights.bi.performance import selectors, services
from insights.bi.performance.definitions import PeriodTotals
from insights.tabs import campaigns as campaigns_tab
from insights.tabs import leads as leads_tab
from insights.tabs import parse_tab_query
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    LeadFactory,
    MemberFactory,
    OrganizationFactory,
    SaleFactory,
)

AS_OF = dt.datetime(2026, 2, 4, 12, 0, tzinfo=dt.UTC)
DAYS = 20


def utc(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


# --- pure definitions (no database) -------------------------------------------------------

ORG, AGENT = d.ORGANIZATION, d.AGENT
T = PeriodTotals


@pytest.mark.parametrize(
    ("metric", "scope", "current", "previous", "expected"),
    [
        # (numerator, denominator, shown value)
        ("conversion_rate", ORG, T(created=3, created_converted=2), T(), (2, 3, 66.7)),  # 2/3
        ("conversion_rate", AGENT, T(handled=4, handled_converted=1), T(), (1, 4, 25.0)),
        # 1/16 = 6.25%: both dashboards round half up (core.metrics.round_half_up) -> 6.3
        ("conversion_rate", ORG, T(created=16, created_converted=1), T(), (1, 16, 6.3)),
        ("conversion_rate", AGENT, T(handled=16, handled_converted=1), T(), (1, 16, 6.3)),
        ("conversion_rate", ORG, T(), T(), (0, 0, None)),  # no lead: null, not 0
        ("response_rate", ORG, T(handled=4, contacted=3), T(), (3, 4, 75.0)),
        ("response_rate", AGENT, T(handled=2, contacted=0), T(), (0, 2, 0.0)),
        ("response_rate", AGENT, T(), T(), (0, 0, None)),
        ("engagement_rate", ORG, T(delivered=3, replied=2), T(), (2, 3, 66.7)),
        ("engagement_rate", ORG, T(delivered=0), T(), (0, 0, None)),
        # 2 h + 4 h = 21,600 s over 2 leads = 3.0 h
        (
            "avg_response_time",
            AGENT,
            T(response_microseconds=21_600_000_000, response_count=2),
            T(),
            (21600, 2, 3.0),
        ),
        # 1 h + 1 h + 2 h = 4 h over 3 = 1.333.. h
        (
            "avg_response_time",
            ORG,
            T(response_microseconds=14_400_000_000, response_count=3),
            T(),
            (14400, 3, 1.33),
        ),
        ("avg_response_time", ORG, T(handled=1), T(), (0, 0, None)),
        ("lead_velocity", ORG, T(created=2), T(created=3), (2, 3, -33.3)),  # (2 - 3) / 3
        ("lead_velocity", AGENT, T(handled=3), T(handled=2), (3, 2, 50.0)),  # (3 - 2) / 2
        ("lead_velocity", ORG, T(created=5), T(), (5, 0, None)),  # no previous period
        ("lead_velocity", AGENT, T(), T(handled=2), (0, 2, -100.0)),
        ("revenue_per_lead", ORG, T(created=3, revenue=Decimal("650.00")), T(), (650, 3, 216.67)),
        ("revenue_per_lead", AGENT, T(handled=1, revenue=Decimal("1999.00")), T(), (1999, 1, 1999.0)),
        ("revenue_per_lead", ORG, T(revenue=Decimal("100.00")), T(), (100, 0, None)),  # no lead
        ("upsell_rate", ORG, T(customers=2, upsell_customers=1), T(), (1, 2, 50.0)),
        ("upsell_rate", AGENT, T(customers=3, upsell_customers=1), T(), (1, 3, 33.3)),
        ("upsell_rate", AGENT, T(), T(), (0, 0, None)),
    ],
)
def test_metric_definitions(metric, scope, current, previous, expected):
    value = d.metric_value(metric, scope=scope, current=current, previous=previous)
    shown = d.shown_value(metric, scope=scope, numerator=value.numerator, denominator=value.denominator)
    assert (value.numerator, value.denominator, shown) == (
        Decimal(expected[0]),
        Decimal(expected[1]),
        expected[2],
    )
    assert (value.value is None) == (expected[2] is None)


def test_exact_values_keep_four_decimals():
    value = d.metric_value(
        "conversion_rate", scope=ORG, current=T(created=3, created_converted=2), previous=T()
    )
    assert value.value == Decimal("66.6667")  # 2/3 x 100
    value = d.metric_value(
        "avg_response_time",
        scope=AGENT,
        current=T(response_microseconds=14_400_000_000, response_count=3),
        previous=T(),
    )
    assert value.value == Decimal("1.3333")  # 4 h / 3


def test_engagement_rate_is_organization_wide_only():
    assert "engagement_rate" not in d.AGENT_METRICS
    with pytest.raises(ValueError, match="organization-wide"):
        d.fraction("engagement_rate", scope=AGENT, current=T(), previous=T())


@pytest.mark.parametrize(
    ("day", "period", "start", "previous", "following"),
    [
        (dt.date(2026, 2, 1), "day", dt.date(2026, 2, 1), dt.date(2026, 1, 31), dt.date(2026, 2, 2)),
        (
            dt.date(2026, 2, 1),
            "week",
            dt.date(2026, 1, 26),
            dt.date(2026, 1, 19),
            dt.date(2026, 2, 2),
        ),  # a Sunday
        (dt.date(2026, 1, 26), "week", dt.date(2026, 1, 26), dt.date(2026, 1, 19), dt.date(2026, 2, 2)),
        (dt.date(2026, 1, 15), "month", dt.date(2026, 1, 1), dt.date(2025, 12, 1), dt.date(2026, 2, 1)),
    ],
)
def test_periods(day, period, start, previous, following):
    assert d.period_start(day, period) == start
    assert d.previous_period_start(start, period) == previous
    assert d.next_period_start(start, period) == following


def test_period_starts_cover_both_ends():
    weeks = list(d.period_starts(dt.date(2026, 1, 16), dt.date(2026, 2, 4), "week"))
    assert weeks == [dt.date(2026, 1, 12), dt.date(2026, 1, 19), dt.date(2026, 1, 26), dt.date(2026, 2, 2)]
    assert list(d.period_starts(dt.date(2025, 12, 31), dt.date(2026, 1, 1), "month")) == [
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
    ]


# --- the hand-built history ---------------------------------------------------------------


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="perf", timezone="America/Los_Angeles", currency="USD")


@pytest.fixture
def history(org):
    alice = MemberFactory(email="alice@perf.test", organization=org, role=Role.AGENT)
    bob = MemberFactory(email="bob@perf.test", organization=org, role=Role.AGENT)
    MemberFactory(email="mona@perf.test", organization=org, role=Role.MANAGER)  # no data: no rows
    contacts = {
        n: ContactFactory(organization=org, external_id=f"perf-{n}") for n in ("cA", "cB", "cC", "cD")
    }
    lead = lambda ext, **kw: LeadFactory(organization=org, external_id=f"perf-{ext}", **kw)  # noqa: E731
    leads = {
        "A": lead(
            "A",
            contact=contacts["cA"],
            assigned_agent=alice,
            created_at=utc(2, 1, 5),
            assigned_at=utc(2, 1, 6),
            contacted_at=utc(2, 1, 8),
            converted_at=utc(2, 3, 10),
        ),
        "B": lead(
            "B",
            contact=contacts["cB"],
            assigned_agent=alice,
            created_at=utc(2, 2, 7, 30),
            assigned_at=utc(2, 2, 7, 30),
            contacted_at=utc(2, 2, 11, 30),
        ),
        "C": lead(
            "C", contact=contacts["cC"], assigned_agent=bob, created_at=utc(2, 2, 9), assigned_at=utc(2, 2, 9)
        ),
        "D": lead(
            "D",
            contact=contacts["cD"],
            assigned_agent=bob,
            created_at=utc(1, 20, 18),
            assigned_at=utc(1, 20, 19),
            contacted_at=utc(1, 20, 20, 30),
            converted_at=utc(1, 25, 18),
        ),
        "E": lead("E", created_at=utc(1, 21, 18)),
    }
    sale = lambda ext, **kw: SaleFactory(organization=org, external_id=f"perf-{ext}", **kw)  # noqa: E731
    sale("S1", lead=leads["A"], agent=alice, amount=Decimal(1000), kind="new", closed_at=utc(2, 3, 18))
    sale("S2", contact=contacts["cD"], agent=bob, amount=Decimal(300), kind="upsell", closed_at=utc(2, 1, 6))
    sale(
        "S3",
        contact=contacts["cD"],
        lead=leads["D"],
        agent=bob,
        amount=Decimal(200),
        kind="renewal",
        closed_at=utc(1, 25, 20),
    )
    sale(
        "S4",
        lead=leads["B"],
        agent=alice,
        amount=Decimal(999),
        currency="EUR",
        kind="expansion",
        closed_at=utc(2, 2, 20),
    )
    sale(
        "S5",
        contact=contacts["cD"],
        agent=bob,
        amount=Decimal(150),
        kind="cross_sell",
        closed_at=utc(1, 30, 20),
    )
    campaign = CampaignFactory(organization=org, external_id="perf-K")
    for i, (sent, delivered, replied) in enumerate(
        [
            (utc(1, 31, 20), True, True),
            (utc(2, 1, 4), True, False),
            (utc(2, 2, 6), True, True),
            (utc(2, 3, 6), False, False),
        ]
    ):
        later = sent + dt.timedelta(minutes=5)
        CampaignMessage.objects.create(
            organization=org,
            external_id=f"perf-m{i + 1}",
            campaign=campaign,
            sent_at=sent,
            delivered_at=later if delivered else None,
            replied_at=later if replied else None,
            failed_at=None if delivered else later,
        )
    return {"alice": alice, "bob": bob, "leads": leads}


def shown(org, period: str, start: dt.date, agent=None) -> dict[str, float | None]:
    rows = selectors.metric_series(
        organization=org,
        metric=None,
        period=period,
        start=start,
        end=start,
        agent_id=None if agent is None else agent.pk,
    )
    return {row["metric"]: row["value"] for row in rows if row["period_start"] == start}


def snapshot(org) -> list[tuple]:
    return sorted(
        PerformanceMetric.objects.for_org(org).values_list(
            "agent_id", "metric", "period", "period_start", "value", "numerator", "denominator", "computed_at"
        ),
        key=lambda r: (r[0] or 0, r[1], r[2], r[3]),
    )


JAN, FEB = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
WEEK_19, WEEK_26, WEEK_2 = dt.date(2026, 1, 19), dt.date(2026, 1, 26), dt.date(2026, 2, 2)


def test_monthly_and_weekly_organization_values_hand_computed(org, history):
    report = services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    assert shown(org, "month", JAN) == {
        "conversion_rate": 66.7,  # created A (31 Jan local), D, E; converted A, D: 2/3
        "response_rate": 100.0,  # handled A, D, both contacted
        "engagement_rate": 50.0,  # m1, m2 delivered, m1 replied: 1/2
        "avg_response_time": 1.75,  # (2 h + 1.5 h) / 2
        "lead_velocity": None,  # 3 created against 0 in December
        "revenue_per_lead": 216.67,  # S2 300 + S3 200 + S5 150 = 650 / 3 leads
        "upsell_rate": 100.0,  # customers {cD}, upsold {cD} (three sales, one customer)
    }
    assert shown(org, "month", FEB) == {
        "conversion_rate": 0.0,  # B, C: none converted
        "response_rate": 50.0,  # B contacted, C not
        "engagement_rate": 100.0,  # m3 delivered and replied, m4 failed: 1/1
        "avg_response_time": 4.0,  # B: 4 h
        "lead_velocity": -33.3,  # (2 - 3) / 3
        "revenue_per_lead": 500.0,  # S1 1000 (S4 is in EUR: not revenue) / 2 leads
        "upsell_rate": 50.0,  # customers cA (new), cB (expansion): 1/2
    }
    assert shown(org, "week", WEEK_26) == {  # Mon 26 Jan .. Sun 1 Feb, across the month boundary
        "conversion_rate": 50.0,  # A, B: A converted
        "response_rate": 100.0,
        "engagement_rate": 66.7,  # m1, m2, m3 delivered; m1, m3 replied: 2/3
        "avg_response_time": 3.0,  # (2 h + 4 h) / 2
        "lead_velocity": 0.0,  # 2 against 2 (D, E) the week before
        "revenue_per_lead": 225.0,  # S2 300 + S5 150 = 450 / 2
        "upsell_rate": 100.0,  # cD
    }
    assert shown(org, "week", WEEK_2) == {
        "conversion_rate": 0.0,  # C
        "response_rate": 0.0,  # C not contacted
        "engagement_rate": None,  # m4 not delivered: nothing to reply to
        "avg_response_time": None,  # no contacted lead: null, not 0
        "lead_velocity": -50.0,  # (1 - 2) / 2
        "revenue_per_lead": 1000.0,  # S1 / C
        "upsell_rate": 50.0,  # cA new, cB expansion
    }
    assert shown(org, "week", WEEK_19) == {
        "conversion_rate": 50.0,  # D, E: D converted
        "response_rate": 100.0,  # D
        "engagement_rate": None,
        "avg_response_time": 1.5,
        "lead_velocity": None,  # nothing the week of 12 Jan
        "revenue_per_lead": 100.0,  # S3 200 (Sun 25 Jan local) / 2
        "upsell_rate": 0.0,  # cD bought a renewal only
    }
    # 20 days + 4 weeks + 2 months of 7 organization metrics = 182; agent rows: 4 monthly,
    # 5 weekly and 11 daily (agent, period) pairs of 6 metrics = 120
    assert report.rows == 302 == PerformanceMetric.objects.for_org(org).count()
    assert [(r.period, r.first, r.last) for r in report.ranges] == [
        ("day", dt.date(2026, 1, 16), dt.date(2026, 2, 4)),
        ("week", dt.date(2026, 1, 12), WEEK_2),
        ("month", JAN, FEB),
    ]


def test_daily_values_follow_the_local_day(org, history):
    services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    saturday = shown(org, "day", dt.date(2026, 1, 31))
    # A was created at 21:00 local on Sat 31 Jan (1 Feb in UTC); S2 closed 22:00 local
    assert saturday["conversion_rate"] == 100.0
    assert saturday["revenue_per_lead"] == 300.0
    assert saturday["engagement_rate"] == 50.0  # m1 replied, m2 not
    assert shown(org, "day", dt.date(2026, 2, 1))["conversion_rate"] == 0.0  # B at 23:30 local
    # an empty period has a row whose values are all null, never 0
    empty = selectors.metric_series(
        organization=org, metric=None, period="day", start=dt.date(2026, 1, 17), end=dt.date(2026, 1, 17)
    )
    assert len(empty) == 7
    assert {(r["value"], r["numerator"], r["denominator"]) for r in empty} == {(None, 0.0, 0.0)}


def test_agent_rows_hand_computed(org, history):
    services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    alice, bob = history["alice"], history["bob"]
    assert shown(org, "month", JAN, alice) == {
        "conversion_rate": 100.0,  # handled A (assigned 31 Jan 22:00 local), converted
        "response_rate": 100.0,
        "avg_response_time": 2.0,
        "lead_velocity": None,  # 1 handled against 0
        "revenue_per_lead": 0.0,  # no sale in January over 1 handled lead
        "upsell_rate": None,  # no sale: no customer
    }
    assert shown(org, "month", FEB, alice) == {
        "conversion_rate": 0.0,  # B
        "response_rate": 100.0,
        "avg_response_time": 4.0,
        "lead_velocity": 0.0,  # 1 against 1
        # totalRevenue S1 1000 USD / 1 handled lead: S4 (999 EUR) is in another currency, left out
        # of the agent KPI's revenue as of the overview's
        "revenue_per_lead": 1000.0,
        "upsell_rate": 50.0,  # cA new, cB expansion
    }
    assert shown(org, "month", JAN, bob) == {
        "conversion_rate": 100.0,  # D
        "response_rate": 100.0,
        "avg_response_time": 1.5,
        "lead_velocity": None,
        "revenue_per_lead": 650.0,  # S2 + S3 + S5 / D
        "upsell_rate": 100.0,
    }
    assert shown(org, "week", WEEK_2, alice)["lead_velocity"] == -100.0  # 0 handled against A, B
    assert shown(org, "week", WEEK_26, bob)["lead_velocity"] == -100.0  # 0 against D
    assert shown(org, "month", FEB, bob)["avg_response_time"] is None  # C never contacted
    manager = Member.objects.get(email="mona@perf.test")
    assert not PerformanceMetric.objects.filter(agent=manager).exists()
    assert not PerformanceMetric.objects.filter(agent__isnull=False, metric="engagement_rate").exists()
    # the agent rows of the week of 12 Jan: nobody had data
    assert not PerformanceMetric.objects.filter(
        agent__isnull=False, period="week", period_start=dt.date(2026, 1, 12)
    ).exists()


def test_metric_series_rows(org, history):
    services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    rows = selectors.metric_series(
        organization=org,
        metric="conversion_rate",
        period="week",
        start=dt.date(2026, 1, 21),
        end=dt.date(2026, 2, 4),
    )
    # the week of 19 Jan overlaps 21 Jan, so it is included
    assert [
        (r["period_start"], r["value"], r["numerator"], r["denominator"], r["complete"]) for r in rows
    ] == [
        (WEEK_19, 50.0, 1.0, 2.0, True),
        (WEEK_26, 50.0, 1.0, 2.0, True),
        (WEEK_2, 0.0, 0.0, 1.0, False),  # the current week, counted up to AS_OF
    ]
    assert (rows[0]["agent_id"], rows[0]["period"], rows[0]["computed_at"]) == (None, "week", AS_OF)
    every = selectors.metric_series(organization=org, metric=None, period="month", start=JAN, end=FEB)
    assert [(r["metric"], r["period_start"]) for r in every] == sorted(
        (m, s) for m in d.METRICS for s in (JAN, FEB)
    )
    for bad in ({"metric": "nope"}, {"period": "year"}, {"start": FEB, "end": JAN}):
        arguments = {"metric": None, "period": "month", "start": JAN, "end": FEB, **bad}
        with pytest.raises(ValueError):  # noqa: PT011 - each names its argument
            selectors.metric_series(organization=org, **arguments)


def test_rollup_path_equals_live_path(org, history):
    services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    live = snapshot(org)
    # the daily rollups answer the trusted days (up to 3 Feb local); today stays live
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    statistics_refresh(organization=org, family="agents", as_of=AS_OF)
    assert selectors.trusted_days(organization=org) == selectors.TrustedDays(
        insights=dt.date(2026, 2, 3), agents=dt.date(2026, 2, 3)
    )
    services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    assert snapshot(org) == live


# --- idempotency and tenancy ---------------------------------------------------------------


def test_refresh_is_idempotent(org, history):
    services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    first = snapshot(org)
    again = services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    assert snapshot(org) == first
    assert again.deleted == again.rows == len(first)
    # half the rows lost: the next run restores them
    ids = list(PerformanceMetric.objects.for_org(org).order_by("id").values_list("id", flat=True))
    PerformanceMetric.objects.filter(id__in=ids[::2]).delete()
    services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    assert snapshot(org) == first


def test_a_crash_halfway_leaves_the_previous_rows(org, history, monkeypatch):
    services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    before = snapshot(org)

    def crash(*args, **kwargs):
        raise RuntimeError("worker lost")

    # the rows are deleted, then the insert fails: the transaction rolls the delete back
    monkeypatch.setattr(PerformanceMetric.objects, "bulk_create", crash)
    with pytest.raises(RuntimeError):
        services.performance_metrics_refresh(organization=org, as_of=AS_OF + dt.timedelta(hours=1), days=DAYS)
    assert snapshot(org) == before


def test_a_shorter_run_replaces_only_its_periods(org, history):
    services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    before = {r[:4]: r for r in snapshot(org)}
    later = AS_OF + dt.timedelta(days=1)  # Thu 5 Feb 04:00 local
    services.performance_metrics_refresh(organization=org, as_of=later, days=2)
    after = {r[:4]: r for r in snapshot(org)}
    rebuilt = {key for key, row in after.items() if row[7] == later}
    # 4 and 5 Feb, the week of 2 Feb, February
    assert {(k[2], k[3]) for k in rebuilt} == {
        ("day", dt.date(2026, 2, 4)),
        ("day", dt.date(2026, 2, 5)),
        ("week", WEEK_2),
        ("month", FEB),
    }
    assert {k: r for k, r in after.items() if k not in rebuilt} == {
        k: r for k, r in before.items() if (k[2], k[3]) not in {(p, s) for _, _, p, s in rebuilt}
    }
    assert shown(org, "day", dt.date(2026, 2, 4))["conversion_rate"] is None  # still nothing created


def test_tenancy(org, history):
    other = OrganizationFactory(slug="perf-other", timezone="UTC", currency="USD")
    outsider = MemberFactory(email="olga@other.test", organization=other, role=Role.AGENT)
    LeadFactory(
        organization=other,
        external_id="o-1",
        assigned_agent=outsider,
        created_at=utc(1, 31, 12),
        assigned_at=utc(1, 31, 12),
        converted_at=utc(2, 1, 12),
    )
    services.performance_metrics_refresh(organization=other, as_of=AS_OF, days=DAYS)
    theirs = snapshot(other)
    services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    assert snapshot(other) == theirs  # refreshing one organization leaves the other alone
    assert shown(other, "month", JAN)["conversion_rate"] == 100.0  # o-1 only
    assert shown(org, "month", JAN)["conversion_rate"] == 66.7  # o-1 is not counted here
    # another organization's agent has no series here (and no error that reveals them)
    assert (
        selectors.metric_series(
            organization=org, metric=None, period="month", start=JAN, end=FEB, agent_id=outsider.pk
        )
        == []
    )
    assert (
        selectors.metric_series(
            organization=other, metric=None, period="month", start=JAN, end=FEB, agent_id=history["alice"].pk
        )
        == []
    )


# --- query counts -------------------------------------------------------------------------


def build_team(org, agents: int) -> None:
    for n in range(agents):
        member = MemberFactory(email=f"a{n}@{org.slug}.test", organization=org, role=Role.AGENT)
        contact = ContactFactory(organization=org, external_id=f"{org.slug}-c{n}")
        for day in (20, 27):
            lead = LeadFactory(
                organization=org,
                external_id=f"{org.slug}-l{n}-{day}",
                contact=contact,
                assigned_agent=member,
                created_at=utc(1, day, 12),
                assigned_at=utc(1, day, 13),
                contacted_at=utc(1, day, 15),
                converted_at=utc(2, 2, 12),
            )
            SaleFactory(
                organization=org,
                external_id=f"{org.slug}-s{n}-{day}",
                lead=lead,
                agent=member,
                kind="upsell",
                closed_at=utc(2, 2, 12 + n % 6),
            )
        LeadFactory(
            organization=org,
            external_id=f"{org.slug}-today-{n}",
            assigned_agent=member,
            created_at=utc(2, 4, 9),
            assigned_at=utc(2, 4, 9),
        )


def captured(function) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        function()
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("with_rollups", [False, True])
def test_query_count_does_not_grow_with_agents(db, with_rollups):
    small = OrganizationFactory(slug="perf-small", timezone="Asia/Kolkata")
    large = OrganizationFactory(slug="perf-large", timezone="Asia/Kolkata")
    build_team(small, 1)
    build_team(large, 6)
    counts = {}
    for team in (small, large):
        if with_rollups:
            statistics_refresh(organization=team, family="insights", as_of=AS_OF)
            statistics_refresh(organization=team, family="agents", as_of=AS_OF)
        trusted = selectors.trusted_days(organization=team)
        reads = captured(
            lambda t=team, tr=trusted: selectors.period_totals(
                organization=t, period="week", first_start=dt.date(2026, 1, 5), end=AS_OF, trusted=tr
            )
        )
        refresh = captured(
            lambda t=team: services.performance_metrics_refresh(organization=t, as_of=AS_OF, days=DAYS)
        )
        inserts = [q for q in refresh if q.startswith("INSERT")]
        rows = PerformanceMetric.objects.for_org(team).count()
        batch = connection.ops.bulk_batch_size(
            [f for f in PerformanceMetric._meta.concrete_fields if not f.primary_key], [None] * rows
        )
        assert len(inserts) == math.ceil(rows / min(batch, services.BULK_BATCH_SIZE))
        counts[team.slug] = (len(reads), len([q for q in refresh if not q.startswith("INSERT")]))
    # eleven reads with trusted rollup days (leads, sales, messages: rollup + live; agents:
    # rollup + live leads + live sales; customers by agent and overall), seven all live;
    # the refresh: two fill states, three period kinds, one delete (+ savepoints)
    reads = 11 if with_rollups else 7
    assert counts["perf-small"] == counts["perf-large"]
    assert counts["perf-small"][0] == reads
    assert counts["perf-small"][1] == 2 + 3 * reads + 1 + 2


def test_metric_series_is_one_query(org, history, django_assert_num_queries):
    services.performance_metrics_refresh(organization=org, as_of=AS_OF, days=DAYS)
    with django_assert_num_queries(1):
        rows = selectors.metric_series(
            organization=org,
            metric=None,
            period="day",
            start=dt.date(2026, 1, 16),
            end=dt.date(2026, 2, 4),
            agent_id=history["bob"].pk,
        )
    assert len(rows) == 7 * 6  # bob's 7 days with data, 6 metrics each


# --- the series equal the dashboards (generated data) --------------------------------------

GEN_AS_OF = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(params=["America/Los_Angeles", "Asia/Kolkata"])
def generated_org(request, db):
    org = OrganizationFactory(slug=f"perf-{request.param.split('/')[1].lower()}", timezone=request.param)
    call_command(
        "generate_demo_data", org.slug, seed=5, scale="small", as_of=GEN_AS_OF.isoformat(), verbosity=0
    )
    return org


def overview_for(org, first: dt.date, last: dt.date) -> dict:
    body = {
        "timeRange": {"start": first.isoformat(), "end": last.isoformat()},
        "metrics": ["leads", "revenue", "campaigns"],
    }
    request = analytics.parse_overview_request(organization=org, body=body, as_of=GEN_AS_OF)
    return analytics.compute_overview(organization=org, request=request)["data"]


def tab_query(org, tab: str, first: dt.date, last: dt.date):
    params = {"range": "custom", "start": first.isoformat(), "end": last.isoformat()}
    return parse_tab_query(tab=tab, organization=org, params=params, as_of=GEN_AS_OF)


def per_lead(revenue: float, leads: int) -> float | None:
    """Revenue / leads from the dashboard's own two figures, money rounded half up."""
    if not leads:
        return None
    return float((Decimal(str(revenue)) / leads).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def assert_equals_dashboards(org, period: str, first: dt.date, seen: set[str]) -> int:
    """The organization's and every agent's series of one period against the dashboards for
    the same custom window; returns the number of agents checked, and adds the metrics
    that had a value (not null) to `seen`."""
    last = d.next_period_start(first, period) - dt.timedelta(days=1)
    ours = shown(org, period, first)
    seen |= {metric for metric, value in ours.items() if value is not None}
    data = overview_for(org, first, last)
    assert ours["conversion_rate"] == data["leads"]["conversionRate"], (period, first)
    leads_kpis = leads_tab.compute(tab_query(org, "leads", first, last))["kpis"]["current"]
    assert ours["conversion_rate"] == leads_kpis["conversionRate"], (period, first)
    assert ours["engagement_rate"] == data["campaigns"]["replyRate"], (period, first)
    assert (
        ours["engagement_rate"]
        == campaigns_tab.compute(tab_query(org, "campaigns", first, last))["totals"]["replyRate"]
    )
    assert ours["revenue_per_lead"] == per_lead(data["revenue"]["total"], data["leads"]["total"]), (
        period,
        first,
    )

    window = Window(
        start=local_midnight(first, org.tz),
        end=local_midnight(last + dt.timedelta(days=1), org.tz),
        label=f"perf-{period}-{first}",
    )
    team = agent_selectors.agent_window_totals(
        organization=org, window=window, state=agent_selectors.fill_state(org)
    )
    everyone = sum(team.values(), agent_metrics.AgentTotals())
    everyone_kpis = agent_metrics.agent_kpis(everyone).payload()
    assert ours["avg_response_time"] == everyone_kpis["responseTimeHours"], (period, first)
    agents = Member.objects.for_org(org).filter(role=Role.AGENT)
    checked = 0
    for agent in agents:
        theirs = shown(org, period, first, agent)
        kpis = agent_analytics._kpis(organization=org, agent=agent, window=window, as_of=GEN_AS_OF)["kpis"]
        funnel = agent_metrics.funnel_payload(team.get(agent.pk, agent_metrics.AgentTotals()))
        if not theirs:  # no row: nothing handled, nothing sold
            assert (kpis["leadsHandled"], kpis["totalRevenue"]) == (0, 0), (agent.email, period, first)
            continue
        checked += 1
        assert theirs["conversion_rate"] == kpis["conversionRate"], (agent.email, period, first)
        assert theirs["avg_response_time"] == kpis["responseTimeHours"], (agent.email, period, first)
        assert theirs["response_rate"] == funnel["conversionRates"]["contactRate"], (
            agent.email,
            period,
            first,
        )
        assert theirs["revenue_per_lead"] == per_lead(kpis["totalRevenue"], kpis["leadsHandled"]), agent.email
    return checked


def test_series_equal_the_dashboard_definitions(generated_org):
    org = generated_org
    # the dashboards and the series both read the rollups for trusted days
    statistics_refresh(organization=org, family="insights", as_of=GEN_AS_OF)
    statistics_refresh(organization=org, family="agents", as_of=GEN_AS_OF)
    services.performance_metrics_refresh(organization=org, as_of=GEN_AS_OF)
    seen: set[str] = set()
    current_month = d.period_start(GEN_AS_OF.astimezone(org.tz).date(), "month")
    months = [add_months(current_month, -n) for n in range(10, 0, -1)]  # the complete months of 2026
    checked = sum(assert_equals_dashboards(org, "month", month, seen) for month in months)
    weeks = [dt.date(2026, 3, 2), dt.date(2026, 3, 9), dt.date(2026, 10, 26)]  # DST changes 8 Mar, 1 Nov
    checked += sum(assert_equals_dashboards(org, "week", week, seen) for week in weeks)
    checked += assert_equals_dashboards(org, "day", dt.date(2026, 11, 2), seen)
    # the numbers compared are real ones, not nulls: every metric had values, many agents too
    assert seen == set(d.METRICS)
    assert checked > 50


def test_generated_rollup_path_equals_live_path(generated_org):
    org = generated_org
    services.performance_metrics_refresh(organization=org, as_of=GEN_AS_OF, days=120)
    live = snapshot(org)
    statistics_refresh(organization=org, family="insights", as_of=GEN_AS_OF)
    statistics_refresh(organization=org, family="agents", as_of=GEN_AS_OF)
    services.performance_metrics_refresh(organization=org, as_of=GEN_AS_OF, days=120)
    assert snapshot(org) == live
    assert len(live) > 1000
