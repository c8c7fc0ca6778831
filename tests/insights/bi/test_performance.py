"""The PerformanceMetric series (insights.bi.performance; docs/metrics.md, "Performance metrics").

Hand-built history: organization "perf" in America/Los_Angeles (UTC-8 in January and
February 2026, no DST change then). AS_OF = Wed 4 Feb 2026 12:00 UTC = 04:00 local; the
engine's rebuild of the last 19 complete days covers the local days Fri 16 Jan .. Tue 3
Feb, the ISO weeks of Mon 12 Jan, 19 Jan, 26 Jan and 2 Feb, and the months January and
February (February and the week of 2 Feb are partial: counted up to Wed 4 Feb 00:00 local). The week of 26 Jan runs Mon 26 Jan .. Sun 1 Feb: it crosses
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
import io
import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.db.models import Max, Min
from django.test.utils import CaptureQueriesContext

from agents import analytics as agent_analytics
from agents import metrics as agent_metrics
from agents import selectors as agent_selectors
from core.stats.refresh import statistics_mark_stale, statistics_rebuild, statistics_refresh
from core.timeranges import Window, add_months, local_midnight
from crm.events import Ingested
from crm.models import CampaignMessage, Member, Role
from insights import analytics
from insights.bi import refresh as bi_refresh
from insights.bi.models import PerformanceMetric
from insights.bi.performance import definitions as d
from insights.bi.performance import selectors, services
from insights.bi.performance.definitions import PeriodTotals
from insights.bi.performance.selectors import fill_state
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
DAYS = 19
# Wed 4 Feb 00:00 local: the end of AS_OF's yesterday, which the rows count up to
COUNTED_TO = dt.datetime(2026, 2, 4, 8, 0, tzinfo=dt.UTC)
FAMILY = "performance"


def rebuild(org, *, as_of: dt.datetime = AS_OF, days: int = DAYS) -> int:
    """The engine's rebuild of the family for the last `days` complete local days before
    `as_of` (what `rebuild_statistics --family performance --days N` does)."""
    yesterday = as_of.astimezone(org.tz).date() - dt.timedelta(days=1)
    return statistics_rebuild(
        organization=org, family=FAMILY, first_day=yesterday - dt.timedelta(days=days - 1), last_day=yesterday
    )


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
    written = rebuild(org)
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
    # 19 days + 4 weeks + 2 months of 7 organization metrics = 175; agent rows: 4 monthly,
    # 5 weekly and 11 daily (agent, period) pairs of 6 metrics = 120
    assert written == 295 == PerformanceMetric.objects.for_org(org).count()
    spans = (
        PerformanceMetric.objects.for_org(org)
        .values("period")
        .annotate(first=Min("period_start"), last=Max("period_start"))
        .order_by("period")
    )
    assert {(r["period"], r["first"], r["last"]) for r in spans} == {
        ("day", dt.date(2026, 1, 16), dt.date(2026, 2, 3)),
        ("week", dt.date(2026, 1, 12), WEEK_2),
        ("month", JAN, FEB),
    }


def test_daily_values_follow_the_local_day(org, history):
    rebuild(org)
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
    rebuild(org)
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
    rebuild(org)
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
        (WEEK_2, 0.0, 0.0, 1.0, False),  # the current week, counted up to the end of 3 Feb
    ]
    assert (rows[0]["agent_id"], rows[0]["period"], rows[0]["computed_at"]) == (None, "week", COUNTED_TO)
    every = selectors.metric_series(organization=org, metric=None, period="month", start=JAN, end=FEB)
    assert [(r["metric"], r["period_start"]) for r in every] == sorted(
        (m, s) for m in d.METRICS for s in (JAN, FEB)
    )
    for bad in ({"metric": "nope"}, {"period": "year"}, {"start": FEB, "end": JAN}):
        arguments = {"metric": None, "period": "month", "start": JAN, "end": FEB, **bad}
        with pytest.raises(ValueError):  # noqa: PT011 - each names its argument
            selectors.metric_series(organization=org, **arguments)


def test_rollup_path_equals_live_path(org, history):
    rebuild(org)
    live = snapshot(org)
    # the daily rollups answer the trusted days (up to 3 Feb local); today stays live
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    statistics_refresh(organization=org, family="agents", as_of=AS_OF)
    assert selectors.trusted_days(organization=org) == selectors.TrustedDays(
        insights=dt.date(2026, 2, 3), agents=dt.date(2026, 2, 3)
    )
    rebuild(org)
    assert snapshot(org) == live


# --- idempotency and tenancy ---------------------------------------------------------------


def test_refresh_is_idempotent(org, history):
    rebuild(org)
    first = snapshot(org)
    again = rebuild(org)
    assert snapshot(org) == first
    assert again == len(first)
    # half the rows lost: the next run restores them
    ids = list(PerformanceMetric.objects.for_org(org).order_by("id").values_list("id", flat=True))
    PerformanceMetric.objects.filter(id__in=ids[::2]).delete()
    rebuild(org)
    assert snapshot(org) == first


def test_a_crash_halfway_leaves_the_previous_rows(org, history, monkeypatch):
    rebuild(org)
    before = snapshot(org)

    def crash(*args, **kwargs):
        raise RuntimeError("worker lost")

    # the rows are deleted, then the insert fails: the transaction rolls the delete back
    monkeypatch.setattr(PerformanceMetric.objects, "bulk_create", crash)
    with pytest.raises(RuntimeError):
        rebuild(org, as_of=AS_OF + dt.timedelta(days=1))
    assert snapshot(org) == before


def test_a_shorter_run_replaces_only_its_periods(org, history):
    rebuild(org)
    before = {r[:4]: r for r in snapshot(org)}
    later = AS_OF + dt.timedelta(days=1)  # Thu 5 Feb 04:00 local: yesterday is 4 Feb
    rebuild(org, as_of=later, days=2)
    after = {r[:4]: r for r in snapshot(org)}
    # counted up to Thu 5 Feb 00:00 local
    rebuilt = {key for key, row in after.items() if row[7] == COUNTED_TO + dt.timedelta(days=1)}
    # 3 and 4 Feb, the week of 2 Feb, February
    assert {(k[2], k[3]) for k in rebuilt} == {
        ("day", dt.date(2026, 2, 3)),
        ("day", dt.date(2026, 2, 4)),
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
    rebuild(other)
    theirs = snapshot(other)
    rebuild(org)
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


# --- the engine's family: only what is stale -----------------------------------------------


def rows_by_key(org) -> dict[tuple, tuple]:
    """(agent, metric, period, period start) -> (pk, computed_at): a row kept is the same row."""
    return {
        (r.agent_id, r.metric, r.period, r.period_start): (r.pk, r.computed_at)
        for r in PerformanceMetric.objects.for_org(org)
    }


def rewritten_periods(before: dict, after: dict) -> set[tuple[str, dt.date]]:
    return {(key[2], key[3]) for key, row in after.items() if before.get(key) != row}


def days(first: dt.date, last: dt.date) -> set[tuple[str, dt.date]]:
    return {("day", first + dt.timedelta(days=n)) for n in range((last - first).days + 1)}


def test_a_refresh_rewrites_only_the_new_and_trailing_periods(org, history):
    # given the first fill: from the first day with data (D, created Tue 20 Jan local) up to
    # yesterday (Tue 3 Feb local)
    assert statistics_refresh(organization=org, family=FAMILY, as_of=AS_OF) == (
        dt.date(2026, 1, 20),
        dt.date(2026, 2, 3),
    )
    before = rows_by_key(org)

    # when the engine runs ten days later (Sat 14 Feb 04:00 local: yesterday is 13 Feb)
    span = statistics_refresh(organization=org, family=FAMILY, as_of=AS_OF + dt.timedelta(days=10))

    # then it rebuilds from the day after the filled one (4 Feb; the seven trailing days
    # start on 7 Feb): those days, their weeks and February; every older row is kept as it
    # was (same primary key, same computed_at)
    assert span == (dt.date(2026, 2, 4), dt.date(2026, 2, 13))
    after = rows_by_key(org)
    assert rewritten_periods(before, after) == days(dt.date(2026, 2, 4), dt.date(2026, 2, 13)) | {
        ("week", WEEK_2),
        ("week", dt.date(2026, 2, 9)),
        ("month", FEB),
    }
    assert {k: v for k, v in before.items() if (k[2], k[3]) not in rewritten_periods(before, after)} == {
        k: after[k] for k in before if (k[2], k[3]) not in rewritten_periods(before, after)
    }
    # February is complete only up to 13 Feb: still partial
    feb = selectors.metric_series(organization=org, metric="upsell_rate", period="month", start=FEB, end=FEB)
    assert [(r["complete"], r["computed_at"]) for r in feb] == [(False, COUNTED_TO + dt.timedelta(days=10))]


def test_the_refresh_twice_gives_the_same_rows(org, history):
    statistics_refresh(organization=org, family=FAMILY, as_of=AS_OF)
    first = snapshot(org)
    statistics_refresh(organization=org, family=FAMILY, as_of=AS_OF)
    assert snapshot(org) == first
    assert len(first) == 7 * (15 + 3 + 2) + 6 * (11 + 5 + 4)  # 20 Jan .. 3 Feb; agents as above


def old_sale(org, history) -> None:
    """A sale imported late into Thu 22 Jan (12:00 local), with the stale mark the ingestion
    writes in the same transaction."""
    closed = utc(1, 22, 20)
    SaleFactory(
        organization=org,
        external_id="perf-S6",
        contact=history["leads"]["C"].contact,
        agent=history["bob"],
        amount=Decimal(500),
        kind="new",
        closed_at=closed,
    )
    assert FAMILY in statistics_mark_stale(Ingested(org.pk, "sales", closed, closed, 1))


def test_a_late_sale_makes_its_day_stale_and_the_refresh_rebuilds_from_it(org, history):
    statistics_refresh(organization=org, family=FAMILY, as_of=AS_OF)
    before = rows_by_key(org)
    old_sale(org, history)

    span = statistics_refresh(organization=org, family=FAMILY, as_of=AS_OF)

    # the engine rebuilds from the stale day up to yesterday; the days before it are kept
    assert span == (dt.date(2026, 1, 22), dt.date(2026, 2, 3))
    after = rows_by_key(org)
    assert {k: after[k] for k in after if k[2] == "day" and k[3] < dt.date(2026, 1, 22)} == {
        k: before[k] for k in before if k[2] == "day" and k[3] < dt.date(2026, 1, 22)
    }
    assert shown(org, "month", JAN)["revenue_per_lead"] == 383.33  # (650 + 500) / 3 leads
    assert shown(org, "day", dt.date(2026, 1, 22), history["bob"])["upsell_rate"] == 0.0  # cC, a new sale


def test_a_rebuild_of_an_old_day_rewrites_its_periods_and_the_next_ones_only(org, history):
    # given a filled series and a sale imported late into Thu 22 Jan
    statistics_refresh(organization=org, family=FAMILY, as_of=AS_OF)
    before = rows_by_key(org)
    old_sale(org, history)

    # when the engine rebuilds that one day
    written = statistics_rebuild(
        organization=org, family=FAMILY, first_day=dt.date(2026, 1, 22), last_day=dt.date(2026, 1, 22)
    )

    # then its day, ISO week and month are rewritten whole, with the period after each
    # (whose lead velocity compares with it), and nothing else
    after = rows_by_key(org)
    assert rewritten_periods(before, after) == {
        ("day", dt.date(2026, 1, 22)),
        ("day", dt.date(2026, 1, 23)),
        ("week", WEEK_19),
        ("week", WEEK_26),
        ("month", JAN),
        ("month", FEB),
    }
    assert written == sum(1 for k in after if (k[2], k[3]) in rewritten_periods(before, after))
    # a whole month, not the day: January counts all its sales, February all up to 3 Feb
    # (the day the series is filled through), so the rows equal a rebuild of everything
    assert shown(org, "month", JAN)["revenue_per_lead"] == 383.33
    rebuilt = snapshot(org)
    PerformanceMetric.objects.for_org(org).delete()
    statistics_rebuild(
        organization=org, family=FAMILY, first_day=dt.date(2026, 1, 20), last_day=dt.date(2026, 2, 3)
    )
    assert snapshot(org) == rebuilt


def test_the_command_rebuilds_the_family_for_the_last_days(org, history, time_machine):
    time_machine.move_to(AS_OF, tick=False)
    out = io.StringIO()
    call_command("rebuild_statistics", org.slug, family=[FAMILY], days=3, stdout=out)
    # 1, 2 and 3 Feb, the weeks of 26 Jan and 2 Feb, February: 6 periods x 7 organization
    # rows; agents: alice on 1 (B), 2 (S4) and 3 Feb (S1), bob on 2 (C) and 3 Feb (velocity
    # after C), both in the two weeks and February: 11 x 6; 42 + 66 = 108
    assert "performance: 108 rows rewritten for the last 3 days." in out.getvalue()
    # then the first fill from the first day with data
    assert "performance: up to date (2026-01-20 .. 2026-02-03 rebuilt)." in out.getvalue()
    assert fill_state(org).filled_through == dt.date(2026, 2, 3)


def test_the_bi_run_refreshes_the_series_only_when_the_engine_has_not(org, history):
    assert bi_refresh.performance_series_refresh(organization=org, as_of=AS_OF) == {
        "rebuilt_from": "2026-01-20",
        "up_to": "2026-02-03",
    }
    kept = rows_by_key(org)
    # the nightly engine run (or this) filled it: the business-intelligence run leaves it
    assert bi_refresh.performance_series_refresh(organization=org, as_of=AS_OF) == {"up_to": "2026-02-03"}
    assert rows_by_key(org) == kept
    # an import marked 2 Feb stale: the run rebuilds from the trailing days (28 Jan)
    at = utc(2, 2, 20)
    statistics_mark_stale(Ingested(org.pk, "leads", at, at, 1))
    assert bi_refresh.performance_series_refresh(organization=org, as_of=AS_OF) == {
        "rebuilt_from": "2026-01-28",
        "up_to": "2026-02-03",
    }


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
        refresh = captured(lambda t=team: rebuild(t))
        inserts = [q for q in refresh if q.startswith("INSERT")]
        rows = PerformanceMetric.objects.for_org(team).count()
        batch = connection.ops.bulk_batch_size(
            [f for f in PerformanceMetric._meta.concrete_fields if not f.primary_key], [None] * rows
        )
        assert len(inserts) == math.ceil(rows / min(batch, services.BULK_BATCH_SIZE))
        counts[team.slug] = (len(reads), len([q for q in refresh if not q.startswith("INSERT")]))
    # eleven reads with trusted rollup days (leads, sales, messages: rollup + live; agents:
    # rollup + live leads + live sales; customers by agent and overall), seven all live
    reads = 11 if with_rollups else 7
    # the rebuild counts up to the end of yesterday, so with the rollups trusted through it
    # nothing is live: six reads per period kind (three rollups, the agents' rollup,
    # customers by agent and overall)
    per_kind = 6 if with_rollups else 7
    assert counts["perf-small"] == counts["perf-large"]
    assert counts["perf-small"][0] == reads
    # three fill states (the series' own and the two it reads), three period kinds, one
    # delete (+ savepoints)
    assert counts["perf-small"][1] == 3 + 3 * per_kind + 1 + 2


def test_metric_series_is_one_query(org, history, django_assert_num_queries):
    rebuild(org)
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
    statistics_refresh(organization=org, family=FAMILY, as_of=GEN_AS_OF)
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
    rebuild(org, as_of=GEN_AS_OF, days=120)
    live = snapshot(org)
    statistics_refresh(organization=org, family="insights", as_of=GEN_AS_OF)
    statistics_refresh(organization=org, family="agents", as_of=GEN_AS_OF)
    rebuild(org, as_of=GEN_AS_OF, days=120)
    assert snapshot(org) == live
    assert len(live) > 1000


def comparable(org) -> list[tuple]:
    """The rows without their primary key and computed_at, but with whether the period is
    complete (an old row of an incremental run was computed earlier than a full rebuild's)."""
    tz = org.tz
    return [
        (*row[:7], local_midnight(d.next_period_start(row[3], row[2]), tz) <= row[7]) for row in snapshot(org)
    ]


def test_incremental_refreshes_equal_a_full_rebuild(generated_org):
    org = generated_org
    tz = org.tz
    # given a first fill 40 days before GEN_AS_OF, with the dashboard rollups filled then
    # (so the series read rollup days and raw rows alike), and a refresh 12 days later
    first_as_of = GEN_AS_OF - dt.timedelta(days=40)
    statistics_refresh(organization=org, family="insights", as_of=first_as_of)
    statistics_refresh(organization=org, family="agents", as_of=first_as_of)
    first_span = statistics_refresh(organization=org, family=FAMILY, as_of=first_as_of)
    statistics_refresh(organization=org, family=FAMILY, as_of=GEN_AS_OF - dt.timedelta(days=28))
    # and a sale imported late into a day 100 days back
    closed = GEN_AS_OF - dt.timedelta(days=100)
    agent = Member.objects.for_org(org).filter(role=Role.AGENT).order_by("pk").first()
    customer = ContactFactory(organization=org, external_id="late-customer")
    SaleFactory(
        organization=org,
        external_id="late",
        contact=customer,
        agent=agent,
        amount=Decimal(12345),
        currency=org.currency,
        kind="upsell",
        closed_at=closed,
    )
    statistics_mark_stale(Ingested(org.pk, "sales", closed, closed, 1))
    month = d.period_start(closed.astimezone(tz).date(), "month")
    stale = shown(org, "month", month)

    # when the engine refreshes at GEN_AS_OF
    statistics_refresh(organization=org, family=FAMILY, as_of=GEN_AS_OF)
    incremental = comparable(org)
    # the late sale's month was recomputed (revenue and customers moved)
    fresh = shown(org, "month", month)
    assert fresh["revenue_per_lead"] > stale["revenue_per_lead"]
    assert fresh["upsell_rate"] != stale["upsell_rate"]

    # then the rows equal a full rebuild of the same days, done at once
    PerformanceMetric.objects.for_org(org).delete()
    yesterday = GEN_AS_OF.astimezone(tz).date() - dt.timedelta(days=1)
    statistics_rebuild(organization=org, family=FAMILY, first_day=first_span[0], last_day=yesterday)
    assert comparable(org) == incremental
    # the first fill went back at most 400 days (the data set starts earlier)
    assert first_span[0] == first_as_of.astimezone(tz).date() - dt.timedelta(days=400)
    assert len(incremental) > 10_000
