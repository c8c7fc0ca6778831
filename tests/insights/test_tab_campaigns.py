"""The Campaigns tab (insights.tabs.campaigns) on hand-built data.

Organization A is in Africa/Nairobi (UTC+3). AS_OF = Sun 15 Mar 2026 12:00 UTC (15:00 local);
7d is W = [8 Mar 12:00, 15 Mar 12:00) UTC, the previous window [1 Mar 12:00, 8 Mar 12:00).

Two histories:
- build_history (tests/insights/factories.py): campaigns K1 "Spring" and K2 "Promo", their
  touchpoints and sales (the overview's numbers, see test_api.py);
- build_ab (below): campaign AB1 "Launch AB" with variants A and B, sent at chosen local hours.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.stats.refresh import statistics_refresh
from crm.models import CampaignMessage, Touchpoint
from insights import analytics
from insights.experiments.stats import two_proportion_z
from insights.metrics import campaigns as cm
from insights.metrics import funnel_rates
from insights.selectors.records import records_for_url
from insights.tabs import TabInputError, campaigns, parse_tab_query
from reports.charts import BarChart, FunnelChart, HeatmapChart, render_svg
from tests.factories import CampaignFactory, MemberFactory
from tests.insights.factories import AS_OF, at, build_history

pytestmark = pytest.mark.django_db
API = "/api/analytics/tabs/campaigns"
FRAGMENT = "/dashboard/analytics/tab/campaigns"


@pytest.fixture
def frozen():
    with time_machine.travel(AS_OF, tick=False):
        yield


@pytest.fixture
def history(org_a, agent_a):
    return build_history(org_a, agent_a)


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC)


AB_GROUPS = [
    # (variant, sent_at UTC, messages, delivered, read, replied): the first n of each group
    ("A", utc(10, 7), 20, 20, 15, 8),  # Tue 10 Mar 10:00 local
    ("B", utc(11, 7, 30), 12, 12, 6, 3),  # Wed 11 Mar 10:30 local
    ("B", utc(11, 11), 20, 20, 10, 2),  # Wed 11 Mar 14:00 local
    ("", utc(14, 20, 59), 1, 1, 1, 1),  # Sat 14 Mar 23:59 local (no variant)
    ("", utc(14, 21, 30), 1, 0, 0, 0),  # Sun 15 Mar 00:30 local, today (no variant, failed)
    ("A", utc(8, 11, 59), 1, 1, 1, 1),  # one minute before W starts: previous window
    ("C", utc(5, 9), 1, 1, 1, 1),  # previous window: no third variant in W
]


def build_ab(org, *, copy: int = 0):
    p = f"x{copy}-" if copy else ""
    ab = CampaignFactory(
        organization=org, external_id=p + "AB1", name=f"{p}Launch AB", spend=Decimal("200.00")
    )
    messages, n = [], 0
    for variant, sent, count, delivered, read, replied in AB_GROUPS:
        later = sent + dt.timedelta(minutes=10)
        for i in range(count):
            n += 1
            messages.append(
                CampaignMessage(
                    organization=org,
                    external_id=f"{p}AB-{n}",
                    campaign=ab,
                    variant=variant,
                    sent_at=sent,
                    delivered_at=later if i < delivered else None,
                    read_at=later if i < read else None,
                    replied_at=later if i < replied else None,
                    failed_at=None if i < delivered else later,
                )
            )
    CampaignMessage.objects.bulk_create(messages)
    return ab


def query(org, **params):
    return parse_tab_query(tab="campaigns", organization=org, params=params, as_of=AS_OF)


def compute(org, **params) -> dict:
    return campaigns.compute(query(org, **params))


def cell(payload: dict, weekday: int, hour: int) -> dict:
    found = payload["sendTimes"]["cells"][(weekday - 1) * 24 + hour]
    assert (found["weekday"], found["hour"]) == (weekday, hour)
    return found


def _ids(qs) -> list[str]:
    return sorted(qs.values_list("external_id", flat=True))


# --- the pure arithmetic ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "n", "b", "m", "z", "p"),
    [
        # pooled 40/200 = 0.2; se = sqrt(0.2 x 0.8 x (1/100 + 1/100)) = sqrt(0.0032) = 0.056569;
        # z = (0.30 - 0.10) / 0.056569 = 3.5355; p = erfc(3.5355 / sqrt 2) = erfc(2.5) = 0.000407
        (30, 100, 10, 100, 3.5355, 0.000407),
        # pooled 0.11; se = sqrt(0.11 x 0.89 x 0.02) = 0.044249; z = 0.02 / 0.044249 = 0.4520;
        # p = 2 x (1 - Phi(0.452)) = 2 x 0.32564 = 0.6513
        (12, 100, 10, 100, 0.4520, 0.6513),
        # the other way round: z changes sign, p does not
        (10, 100, 12, 100, -0.4520, 0.6513),
        # pooled 13/52 = 0.25; se = sqrt(0.25 x 0.75 x (1/20 + 1/32)) = sqrt(0.0152344) = 0.123428;
        # z = (0.40 - 0.15625) / 0.123428 = 1.9748; p = 2 x (1 - Phi(1.9748)) = 0.0483
        (8, 20, 5, 32, 1.9748, 0.0483),
    ],
)
def test_two_proportion_z_test_hand_checked(a, n, b, m, z, p):
    test = two_proportion_z(a, n, b, m)
    assert test.statistic == pytest.approx(z, abs=5e-5)
    assert test.p_value == pytest.approx(p, abs=5e-5 if p > 0.001 else 5e-7)
    assert cm.significant(test) is (p < 0.05)


@pytest.mark.parametrize(
    ("a", "n", "b", "m"),
    [
        (0, 0, 1, 10),  # nothing delivered on one side
        (0, 10, 0, 20),  # no success anywhere: no variation to test
        (10, 10, 20, 20),  # all succeeded on both sides
    ],
)
def test_z_test_is_none_without_variation_or_trials(a, n, b, m):
    assert two_proportion_z(a, n, b, m) is None
    assert cm.verdict(None) == "not yet significant"


def test_ab_test_does_not_test_more_replies_than_deliveries():
    # Ingestion accepts a reply without a delivery: B's 3 replies on 2 delivered (150%) make it
    # the best, and its comparison is skipped rather than computed on impossible counts.
    result = cm.ab_test({"A": {"delivered": 10, "replied": 4}, "B": {"delivered": 2, "replied": 3}})
    assert result["replyBestVariant"] == "B"
    assert result["variants"][0]["replyTest"] == {
        "vs": "B",
        "z": None,
        "pValue": None,
        "significant": False,
        "verdict": "not yet significant",
    }


def test_best_variant_ties_go_to_more_delivered_then_the_name():
    variants = {
        "B": {"delivered": 10, "replied": 2},  # 20%
        "A": {"delivered": 20, "replied": 4},  # 20%, more delivered: best
        "C": {"delivered": 5, "replied": 0},
        "D": {"delivered": 0, "replied": 0},  # nothing delivered: never best
    }
    assert cm.best_variant(variants, measure="replied") == "A"
    assert (
        cm.best_variant({"Y": {"delivered": 5, "read": 1}, "X": {"delivered": 5, "read": 1}}, measure="read")
        == "X"
    )
    assert cm.best_variant({"A": {"sent": 3}}, measure="read") is None


def test_ab_test_compares_every_variant_with_the_best():
    result = cm.ab_test(
        {
            "A": {"sent": 100, "delivered": 100, "read": 50, "replied": 30},
            "B": {"sent": 100, "delivered": 100, "read": 50, "replied": 10},
            "C": {"sent": 100, "delivered": 100, "read": 40, "replied": 12},
        }
    )
    assert result["replyBestVariant"] == "A"  # 30% > 12% > 10%
    b, c = result["variants"][1], result["variants"][2]
    # A vs B: z = 3.5355 (see above); A vs C: pooled 0.21, se = sqrt(0.21 x 0.79 x 0.02) = 0.057602,
    # z = 0.18 / 0.057602 = 3.1249, p = 0.0018: both significant, so the campaign is
    assert (b["replyTest"]["z"], b["replyTest"]["pValue"]) == (3.54, 0.0004)
    assert (c["replyTest"]["z"], c["replyTest"]["pValue"]) == (3.12, 0.0018)
    assert result["replyVerdict"] == "significant at 95%"
    # read: A and B tie at 50% with 100 delivered each: A by name; A vs B z = 0, p = 1
    assert result["readBestVariant"] == "A"
    assert b["readTest"] == {
        "vs": "A",
        "z": 0.0,
        "pValue": 1.0,
        "significant": False,
        "verdict": "not yet significant",
    }
    assert result["readVerdict"] == "not yet significant"
    assert result["variants"][0]["replyTest"] is None  # the best is the reference


def test_best_hour_needs_30_delivered_and_breaks_ties():
    def hour(h, delivered, replied):
        return {
            "hour": h,
            "delivered": delivered,
            "replied": replied,
            "readRate": None,
            "replyRate": funnel_rates({"delivered": delivered, "replied": replied})["replyRate"],
        }

    hours = [hour(9, 30, 6), hour(14, 60, 12), hour(16, 29, 29), hour(20, 60, 12)]
    # 9h, 14h and 20h qualify at 20%; 14h and 20h have more delivered; 14h is earlier
    assert cm.best_hour(hours) == (
        {"hour": 14, "delivered": 60, "replied": 12, "readRate": None, "replyRate": 20.0},
        None,
    )
    best, note = cm.best_hour([hour(16, 29, 29)])
    assert best is None
    assert note == (
        "No hour had at least 30 delivered messages in this period (the busiest had 29), "
        "too few to compare reply rates."
    )
    assert cm.best_hour([hour(3, 0, 0)]) == (None, "No campaign message was delivered in this period.")


# --- the payload on build_history -------------------------------------------------------------

EXPECTED_TOTALS_7D = {
    "active": 2,  # K1 and K2 sent in W
    "sent": 5,  # K1 4 + K2 1 (K2's 5 Mar message is in the previous window)
    "delivered": 4,
    "read": 3,
    "replied": 1,
    "deliveredRate": 80.0,  # 4/5
    "readRate": 75.0,  # 3/4
    "replyRate": 25.0,
    "responseRate": 25.0,  # 1/4
    "totalSpend": 150.0,  # 100 + 50
    "attributedRevenue": 1250.5,  # S1 1000.00 -> K2 (T2), S2 250.50 -> K1 (T4); S4 is EUR
    "roi": 733.7,  # (1250.50 - 150) / 150 = 733.67
    "costPerLead": 50.0,  # 150 / 3 distinct leads (L1, L2, L4)
    "trend": 400.0,  # sent (5 - 1) / 1
}
K1_ROW = {
    "id": "K1",
    "name": "Spring",
    "sent": 4,
    "delivered": 3,
    "read": 2,
    "replied": 1,
    "deliveredRate": 75.0,
    "readRate": 66.7,
    "replyRate": 33.3,  # 3/4, 2/3, 1/3
    "spend": 100.0,
    "attributedRevenue": 250.5,
    "roi": 150.5,  # (250.50 - 100) / 100
    "leads": 3,
    "costPerLead": 33.33,  # 100 / 3 (L1, L2, L4)
}
K2_ROW = {
    "id": "K2",
    "name": "Promo",
    "sent": 1,
    "delivered": 1,
    "read": 1,
    "replied": 0,
    "deliveredRate": 100.0,
    "readRate": 100.0,
    "replyRate": 0.0,
    "spend": 50.0,
    "attributedRevenue": 1000.0,
    "roi": 1900.0,  # (1000 - 50) / 50
    "leads": 1,
    "costPerLead": 50.0,  # L1
}


def test_totals_and_rows_hand_computed(history, org_a, frozen):
    payload = compute(org_a, range="7d")
    assert payload["range"] == {
        "label": "7d",
        "start": "2026-03-08T12:00:00+00:00",
        "end": "2026-03-15T12:00:00+00:00",
        "previousStart": "2026-03-01T12:00:00+00:00",
        "timezone": "Africa/Nairobi",
        "currency": "KES",
    }
    assert payload["filtersApplied"] is False
    assert payload["totals"] == EXPECTED_TOTALS_7D
    assert payload["campaigns"] == [K1_ROW, K2_ROW]  # most sent first
    assert payload["comparison"] == {
        "selected": ["K1", "K2"],
        "isDefault": True,
        "campaigns": [K1_ROW, K2_ROW],
    }
    assert payload["variants"] == []  # no message has a variant


def test_totals_are_exactly_the_overviews_campaigns_block(history, org_a, frozen):
    payload = compute(org_a, range="30d")
    overview = analytics.overview(
        organization=org_a, time_range="30d", metrics=["campaigns"], filters={}, as_of=AS_OF
    )["data"]["campaigns"]
    assert payload["campaigns"] == overview.pop("campaigns")
    assert payload["totals"] == overview
    # 30d = [13 Feb 12:00, 15 Mar 12:00): K2's 5 Mar message counts too, S3 (6 Mar) goes to K1 via T5
    assert (overview["sent"], overview["attributedRevenue"]) == (6, 1750.5)


def test_send_times_of_build_history(history, org_a, frozen):
    send = compute(org_a, range="7d")["sendTimes"]
    # at(d) = 09:00 UTC = 12:00 in Nairobi. Tue 10 Mar: K1 x2 (both delivered and read, one reply)
    assert cell({"sendTimes": send}, 2, 12) == {
        "weekday": 2,
        "hour": 12,
        "sent": 2,
        "delivered": 2,
        "read": 2,
        "replied": 1,
        "readRate": 100.0,
        "replyRate": 50.0,
    }
    # Wed 11 Mar: K1 x2, one delivered (not read), one failed
    assert cell({"sendTimes": send}, 3, 12)["readRate"] == 0.0
    assert cell({"sendTimes": send}, 3, 12)["sent"] == 2
    # Thu 12 Mar: K2 delivered and read
    assert (cell({"sendTimes": send}, 4, 12)["readRate"], cell({"sendTimes": send}, 4, 12)["replyRate"]) == (
        100.0,
        0.0,
    )
    assert len(send["cells"]) == 168
    assert sum(c["sent"] for c in send["cells"]) == 5
    assert cell({"sendTimes": send}, 1, 12)["readRate"] is None  # Monday: nothing delivered
    noon = send["byHour"][12]
    assert noon == {
        "hour": 12,
        "sent": 5,
        "delivered": 4,
        "read": 3,
        "replied": 1,
        "readRate": 75.0,
        "replyRate": 25.0,
    }
    assert send["bestHour"] is None
    assert send["bestHourNote"] == (
        "No hour had at least 30 delivered messages in this period (the busiest had 4), "
        "too few to compare reply rates."
    )


def test_empty_window_gives_zeros_and_nulls(org_a, frozen):
    payload = compute(org_a, range="24h")
    assert payload["totals"] == {
        "active": 0,
        "sent": 0,
        "delivered": 0,
        "read": 0,
        "replied": 0,
        "deliveredRate": None,
        "readRate": None,
        "replyRate": None,
        "responseRate": None,
        "totalSpend": 0.0,
        "attributedRevenue": 0.0,
        "roi": None,
        "costPerLead": None,
        "trend": None,
    }
    assert payload["campaigns"] == []
    assert payload["comparison"] == {"selected": [], "isDefault": True, "campaigns": []}
    assert payload["variants"] == []
    send = payload["sendTimes"]
    assert all(c["sent"] == 0 and c["readRate"] is None and c["replyRate"] is None for c in send["cells"])
    assert (send["bestHour"], send["bestHourNote"]) == (
        None,
        "No campaign message was delivered in this period.",
    )


# --- A/B variants and the best hour on build_ab ----------------------------------------------

AB_ROW = {
    "id": "AB1",
    "name": "Launch AB",
    "sent": 54,  # A 20 + B 12 + B 20 + no variant 2 (8 Mar 11:59 and 5 Mar are before W)
    "delivered": 53,
    "read": 32,
    "replied": 14,  # 20+12+20+1, 15+6+10+1, 8+3+2+1
    "deliveredRate": 98.1,  # 53/54 = 98.15
    "readRate": 60.4,  # 32/53 = 60.38
    "replyRate": 26.4,  # 14/53 = 26.42
    "spend": 200.0,
    "attributedRevenue": 0.0,
    "roi": -100.0,  # (0 - 200) / 200
    "leads": 0,
    "costPerLead": None,
}
AB_VARIANTS = {
    "id": "AB1",
    "name": "Launch AB",
    "variants": [
        {
            "variant": "A",
            "sent": 20,
            "delivered": 20,
            "read": 15,
            "replied": 8,
            "readRate": 75.0,
            "replyRate": 40.0,  # 15/20, 8/20
            "readBest": True,
            "readTest": None,
            "replyBest": True,
            "replyTest": None,
        },
        {
            "variant": "B",
            "sent": 32,
            "delivered": 32,
            "read": 16,
            "replied": 5,
            "readRate": 50.0,
            "replyRate": 15.6,  # 16/32, 5/32 = 15.625
            "readBest": False,
            "replyBest": False,
            # read: pooled 31/52 = 0.59615; se = sqrt(0.59615 x 0.40385 x (1/20 + 1/32)) = 0.139862;
            # z = (0.75 - 0.50) / 0.139862 = 1.7875; p = 2 x (1 - Phi(1.7875)) = 0.0739
            "readTest": {
                "vs": "A",
                "z": 1.79,
                "pValue": 0.0739,
                "significant": False,
                "verdict": "not yet significant",
            },
            # reply: pooled 13/52 = 0.25; se = 0.123428; z = (0.40 - 0.15625) / 0.123428 = 1.9748; p = 0.0483
            "replyTest": {
                "vs": "A",
                "z": 1.97,
                "pValue": 0.0483,
                "significant": True,
                "verdict": "significant at 95%",
            },
        },
    ],
    "readBestVariant": "A",
    "readVerdict": "not yet significant",
    "replyBestVariant": "A",
    "replyVerdict": "significant at 95%",
}


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "rollups"])
def test_ab_variants_and_best_hour(org_a, frozen, use_rollups):
    build_ab(org_a)
    if use_rollups:
        # rollups through Sat 14 Mar local; 8 Mar (partial first day) and 15 Mar stay live
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    payload = compute(org_a, range="7d")
    assert payload["campaigns"] == [AB_ROW]
    assert payload["totals"]["trend"] == 2600.0  # previous window: 8 Mar 11:59 and 5 Mar: (54 - 2) / 2
    # messages without a variant are not a variant; C was sent before W
    assert payload["variants"] == [AB_VARIANTS]
    # one campaign sent: the default comparison has only it
    assert payload["comparison"] == {"selected": ["AB1"], "isDefault": True, "campaigns": [AB_ROW]}
    # send times, local (UTC+3) weekday x hour
    assert cell(payload, 2, 10) == {
        "weekday": 2,
        "hour": 10,
        "sent": 20,
        "delivered": 20,
        "read": 15,
        "replied": 8,
        "readRate": 75.0,
        "replyRate": 40.0,
    }
    assert (cell(payload, 3, 10)["readRate"], cell(payload, 3, 10)["replyRate"]) == (50.0, 25.0)  # 6/12, 3/12
    assert (cell(payload, 3, 14)["readRate"], cell(payload, 3, 14)["replyRate"]) == (
        50.0,
        10.0,
    )  # 10/20, 2/20
    assert (cell(payload, 6, 23)["sent"], cell(payload, 6, 23)["replyRate"]) == (1, 100.0)  # Sat 23:59
    # Sun 00:30 local (Sat 21:30 UTC): sent, not delivered -> rates null
    assert (cell(payload, 7, 0)["sent"], cell(payload, 7, 0)["readRate"]) == (1, None)
    assert cell(payload, 6, 21)["sent"] == 0  # not the UTC hour
    hours = payload["sendTimes"]["byHour"]
    # 10h: Tue 20 + Wed 12 = 32 delivered, 21 read, 11 replies -> 65.625%, 34.375%
    assert hours[10] == {
        "hour": 10,
        "sent": 32,
        "delivered": 32,
        "read": 21,
        "replied": 11,
        "readRate": 65.6,
        "replyRate": 34.4,
    }
    # 23h has 100% but 1 delivered; 14h has 20 delivered: only 10h reaches 30
    assert payload["sendTimes"]["bestHour"] == {
        "hour": 10,
        "delivered": 32,
        "replied": 11,
        "readRate": 65.6,
        "replyRate": 34.4,
    }
    assert payload["sendTimes"]["bestHourNote"] is None


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "rollups"])
def test_local_days_around_midnight(org_a, frozen, use_rollups):
    build_ab(org_a)
    if use_rollups:
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    # Sat 14 Mar local = [13 Mar 21:00, 14 Mar 21:00) UTC: only the 20:59 UTC message
    saturday = compute(org_a, range="custom", start="2026-03-14", end="2026-03-14")
    assert (saturday["totals"]["sent"], saturday["totals"]["replied"]) == (1, 1)
    assert cell(saturday, 6, 23)["sent"] == 1
    # Sun 15 Mar local from 14 Mar 21:00 UTC: the 21:30 UTC message, not delivered
    sunday = compute(org_a, range="custom", start="2026-03-15", end="2026-03-15")
    assert (sunday["totals"]["sent"], sunday["totals"]["deliveredRate"], sunday["totals"]["readRate"]) == (
        1,
        0.0,
        None,
    )
    assert cell(sunday, 7, 0)["sent"] == 1
    # Wed 11 Mar local: only variant B (12 + 20), a single variant is no A/B test
    wednesday = compute(org_a, range="custom", start="2026-03-11", end="2026-03-11")
    assert wednesday["totals"]["sent"] == 32
    assert wednesday["variants"] == []


def test_rollup_path_equals_raw_path(history, org_a, agent_a, frozen):
    build_ab(org_a)
    params = [{"range": r} for r in ("24h", "7d", "30d", "1y")] + [
        {"range": "custom", "start": "2026-03-08", "end": "2026-03-14"},
        {"range": "7d", "compare": "K2,AB1,K1"},
    ]
    live = [compute(org_a, **p) for p in params]
    statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    assert [compute(org_a, **p) for p in params] == live
    assert live[1]["totals"]["sent"] == 59  # 5 + 54: not a vacuous comparison


# --- comparison -----------------------------------------------------------------------------


def test_comparison_follows_the_chosen_campaigns(history, org_a, frozen):
    # K3 sent nothing and was attributed nothing in W, but it touched L3
    k3 = CampaignFactory(organization=org_a, external_id="K3", name="Winter", spend=Decimal("30.00"))
    Touchpoint.objects.create(
        organization=org_a, external_id="T9", lead=history["leads"]["L3"], campaign=k3, occurred_at=at(14)
    )
    payload = compute(org_a, range="7d", compare="K2, K3,K1")
    k3_row = {
        "id": "K3",
        "name": "Winter",
        "sent": 0,
        "delivered": 0,
        "read": 0,
        "replied": 0,
        "deliveredRate": None,
        "readRate": None,
        "replyRate": None,
        "spend": 30.0,
        "attributedRevenue": 0.0,
        "roi": -100.0,  # (0 - 30) / 30
        "leads": 1,
        "costPerLead": 30.0,  # L3
    }
    assert payload["comparison"] == {
        "selected": ["K2", "K3", "K1"],
        "isDefault": False,
        "campaigns": [K2_ROW, k3_row, K1_ROW],
    }
    # the listed campaigns do not change with the comparison
    assert [r["id"] for r in payload["campaigns"]] == ["K1", "K2"]
    # and K3's leads come from the first-touch rollup once its day is rolled up, unchanged
    statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    assert compute(org_a, range="7d", compare="K2, K3,K1")["comparison"]["campaigns"][1] == k3_row


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("K1", "Choose 2 to 6 campaigns to compare."),
        ("K1,K2,K1", "Campaign 'K1' is listed twice."),
        ("K1,NOPE", "No campaign with id 'NOPE' in your organization."),
        ("K1,,K2", "An id is empty: separate campaign ids with single commas."),
        (",".join(["K1", "K2", "a", "b", "c", "d", "e"]), "Choose 2 to 6 campaigns to compare."),
        ("K1," + "x" * 700, "The value is too long."),
    ],
)
def test_bad_compare_is_refused(history, org_a, value, message):
    with pytest.raises(TabInputError) as caught:
        query(org_a, compare=value)
    assert (caught.value.field, str(caught.value)) == ("compare", message)


def test_compare_accepts_the_repeated_parameter_of_the_form(history, org_a, rf):
    request = rf.get("/", {"compare": ["K2", "K1"], "range": "7d"})
    parsed = parse_tab_query(tab="campaigns", organization=org_a, params=request.GET, as_of=AS_OF)
    assert parsed.extra == {"compare": "K2,K1"}
    assert query(org_a, compare="").extra == {}


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "rollups"])
def test_filters_do_not_apply_to_campaign_figures(history, org_a, agent_a, frozen, use_rollups):
    build_ab(org_a)
    if use_rollups:
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    plain = compute(org_a, range="7d")
    for filters in (
        {"region": "South"},
        {"productLine": "Basic"},
        {"source": "Referrals"},
        {"agent": agent_a.email, "region": "North"},
    ):
        # documented: campaign figures are organization-wide, whatever the filters
        assert compute(org_a, range="7d", **filters) == plain
    assert plain["totals"]["sent"] == 59


# --- queries --------------------------------------------------------------------------------


def _count(q) -> int:
    with CaptureQueriesContext(connection) as ctx:
        campaigns.compute(q)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "rollups"])
def test_fixed_number_of_queries(history, org_a, frozen, use_rollups):
    build_ab(org_a)
    views = [query(org_a, range="1y"), query(org_a, range="7d", compare="K1,AB1")]
    if use_rollups:
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    small = [_count(q) for q in views]
    # given three times the data
    for copy in (1, 2):
        build_history(org_a, MemberFactory(email=f"a{copy}@acme.test", organization=org_a), copy=copy)
        build_ab(org_a, copy=copy)
    if use_rollups:
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    assert [_count(q) for q in views] == small
    # fill state 1, counts 1-2, attribution 1-2, campaigns 1, leads per campaign and distinct
    # leads together 1-2 (the stored lead sets, then the touchpoints since), variants 1-2,
    # send times 1 (the second of a pair: the rollup days, then the live rest); the default
    # comparison is of listed campaigns (no query; an unlisted one adds 1 + leads 1-2)
    assert small[0] == (11 if use_rollups else 7)
    assert compute(org_a, range="1y")["totals"]["active"] == 9  # K1, K2, AB1 x 3


# --- API ------------------------------------------------------------------------------------


def test_api_answers_the_payload(history, manager_a, admin_a, org_a, api_client_for, frozen):
    response = api_client_for(manager_a).get(API, {"range": "7d", "compare": "K2,K1"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body.pop("success") is True
    assert body == compute(org_a, range="7d", compare="K2,K1")
    assert [r["id"] for r in body["comparison"]["campaigns"]] == ["K2", "K1"]
    assert api_client_for(admin_a).get(API).status_code == 200


def test_api_roles(history, agent_a, api_client_for):
    assert api_client_for(agent_a).get(API).status_code == 403
    assert APIClient().get(API).status_code == 401


@pytest.mark.parametrize("value", ["K1", "K1,K1", "K1,NOPE", "K1,,K2", "a,b,c,d,e,f,g"])
def test_api_bad_compare_is_a_400_naming_it(history, manager_a, api_client_for, value):
    response = api_client_for(manager_a).get(API, {"compare": value})
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["details"]) == ["compare"]


def test_outsider_sees_only_their_campaigns(history, outsider, org_b, api_client_for, frozen):
    g1 = CampaignFactory(organization=org_b, external_id="G1", name="Globex news", spend=Decimal("10.00"))
    CampaignMessage.objects.create(
        organization=org_b,
        external_id="GM1",
        campaign=g1,
        variant="A",
        sent_at=at(12),
        delivered_at=at(12, 10),
    )
    client = api_client_for(outsider)
    body = client.get(API, {"range": "7d"}).json()
    assert [r["id"] for r in body["campaigns"]] == ["G1"]
    assert (body["totals"]["sent"], body["totals"]["totalSpend"], body["totals"]["attributedRevenue"]) == (
        1,
        10.0,
        0.0,
    )
    # UTC organization: 09:00 UTC is 09h, Thursday
    assert sum(c["sent"] for c in body["sendTimes"]["cells"]) == 1
    assert body["sendTimes"]["cells"][3 * 24 + 9]["sent"] == 1
    # org A's campaigns cannot be compared from org B
    assert client.get(API, {"compare": "K1,K2"}).status_code == 400


def test_compare_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/analytics/tabs/campaigns"]["get"]
    assert "compare" in {p["name"] for p in operation["parameters"]}
    assert {"200", "400", "401", "403"} <= set(operation["responses"])


# --- charts, tables, fragment ---------------------------------------------------------------


def test_charts_hand_computed(history, org_a, frozen):
    q = query(org_a, range="7d")
    payload = campaigns.compute(q)
    charts = campaigns.charts(payload, q)
    assert set(charts) == {
        "totals_funnel",
        "comparison_funnel",
        "comparison_rates",
        "read_heatmap",
        "reply_heatmap",
        "reply_by_hour",
    }
    funnel = charts["totals_funnel"]
    assert isinstance(funnel, FunnelChart)
    assert funnel.show_rates is False
    assert [(p.label, p.value, p.tooltip) for p in funnel.stages] == [
        ("Sent", 5, None),
        ("Delivered", 4, "80.0% of sent"),
        ("Read", 3, "75.0% of delivered"),
        ("Replied", 1, "25.0% of delivered"),
    ]
    bars = charts["comparison_funnel"]
    assert isinstance(bars, BarChart)
    assert [(s.name, [p.value for p in s.points]) for s in bars.series] == [
        ("Spring", [4, 3, 2, 1]),
        ("Promo", [1, 1, 1, 0]),
    ]
    rates = charts["comparison_rates"]
    assert [p.label for p in rates.series[0].points] == ["Delivered rate", "Read rate", "Reply rate"]
    assert [(s.name, [p.value for p in s.points]) for s in rates.series] == [
        ("Spring", [75.0, 66.7, 33.3]),
        ("Promo", [100.0, 100.0, 0.0]),
    ]
    read = charts["read_heatmap"]
    assert isinstance(read, HeatmapChart)
    assert (read.y_labels[1], read.x_labels[12]) == ("Tue", "12h")
    assert (read.cells[1][12], read.cells[2][12], read.cells[3][12], read.cells[0][12]) == (
        100.0,
        0.0,
        100.0,
        None,
    )
    assert charts["reply_heatmap"].cells[1][12] == 50.0
    by_hour = charts["reply_by_hour"].series[0].points
    assert len(by_hour) == 24
    assert (by_hour[12].value, by_hour[12].tooltip, by_hour[11].value) == (25.0, "4 delivered", None)
    # messages are not a record kind: the charts have no drill-down links (the table does)
    assert all(p.href is None for c in (funnel,) for p in c.stages)
    assert all(p.href is None for c in (bars, rates) for s in c.series for p in s.points)
    assert read.hrefs is None
    for spec in charts.values():
        assert "<svg" in render_svg(spec)


def test_best_hour_is_marked_in_the_bar(org_a, frozen):
    build_ab(org_a)
    q = query(org_a, range="7d")
    points = campaigns.charts(campaigns.compute(q), q)["reply_by_hour"].series[0].points
    assert (points[10].value, points[10].tooltip) == (34.4, "32 delivered · best hour")


def test_csv_tables(history, org_a, frozen):
    build_ab(org_a)
    tables = campaigns.csv_tables(compute(org_a, range="7d"))
    assert set(tables) == {"totals", "campaigns", "comparison", "variants", "send-times"}
    totals = tables["totals"]
    assert totals.header == ("figure", "value")
    # 5 + 54 sent; 4 + 53 delivered; 150 + 200 spend; ROI (1250.50 - 350) / 350 = 257.29
    assert dict(totals.rows)["Messages sent"] == 59
    assert dict(totals.rows)["Campaign spend"] == 350.0
    assert dict(totals.rows)["Campaign ROI %"] == 257.3
    rows = tables["campaigns"]
    assert rows.header == campaigns.ROW_HEADER
    assert (rows.header[:3], rows.header[-1]) == (("campaign id", "campaign", "sent"), "ROI %")
    assert rows.rows[0] == ("AB1", "Launch AB", 54, 53, 32, 14, 98.1, 60.4, 26.4, 200.0, 0, None, 0.0, -100.0)
    assert rows.rows[1] == ("K1", "Spring", 4, 3, 2, 1, 75.0, 66.7, 33.3, 100.0, 3, 33.33, 250.5, 150.5)
    assert [r[0] for r in tables["comparison"].rows] == ["AB1", "K1"]  # the two with most sent
    variants = tables["variants"]
    assert variants.rows == (
        ("AB1", "Launch AB", "A", 20, 20, 15, 8, 75.0, 40.0, True, None, None, None, True, None, None, None),
        (
            "AB1",
            "Launch AB",
            "B",
            32,
            32,
            16,
            5,
            50.0,
            15.6,
            False,
            1.79,
            0.0739,
            "not yet significant",
            False,
            1.97,
            0.0483,
            "significant at 95%",
        ),
    )
    send = tables["send-times"]
    assert send.header == (
        "weekday",
        "hour",
        "sent",
        "delivered",
        "read",
        "replied",
        "read rate %",
        "reply rate %",
    )
    assert len(send.rows) == 168
    assert send.rows[24 + 10] == ("Tue", 10, 20, 20, 15, 8, 75.0, 40.0)
    assert send.rows[24 + 12] == ("Tue", 12, 2, 2, 2, 1, 100.0, 50.0)  # K1 on 10 Mar


def test_page_context_cards_and_links(history, org_a, frozen):
    q = query(org_a, range="7d", region="North")
    context = campaigns.page_context(campaigns.compute(q), q)
    cards = {c["key"]: c for c in context["cards"]}
    assert list(cards) == [
        "active",
        "sent",
        "deliveredRate",
        "readRate",
        "replyRate",
        "totalSpend",
        "attributedRevenue",
        "roi",
        "costPerLead",
    ]
    assert (cards["sent"]["value"], cards["sent"]["trend"].text, cards["sent"]["trend"].sense) == (
        5,
        "+400.0%",
        "good",
    )
    assert cards["deliveredRate"]["note"] == "4 of 5 sent"
    assert (cards["roi"]["value"], cards["costPerLead"]["value"]) == (733.7, 50.0)
    k1 = context["campaign_rows"][0]
    # the view's region filter is dropped: campaign figures are organization-wide
    assert k1["leads_href"] == "/dashboard/analytics/records/leads?range=7d&campaign=K1"
    assert k1["revenue_href"] == "/dashboard/analytics/records/sales?range=7d&campaign=K1"
    assert [c["id"] for c in context["compare_choices"] if c["checked"]] == ["K1", "K2"]


def test_fragment_renders_and_keeps_the_comparison(history, org_a, manager_a, client, frozen):
    build_ab(org_a)
    client.force_login(manager_a)
    response = client.get(FRAGMENT, {"range": "7d", "region": "North", "compare": ["K2", "AB1"]})
    assert response.status_code == 200
    html = response.content.decode()
    for testid in (
        "campaigns-tab",
        "campaigns-scope",
        "campaign-table",
        "compare-form",
        "comparison-table",
        "campaign-variants",
        "best-hour-value",
        "send-time-heatmaps",
    ):
        assert f'data-testid="{testid}"' in html, testid
    assert "the filters you chose (region: North) do not apply" in html
    assert "10:00–10:59" in html  # the best hour
    assert "0.0483 · significant at 95%" in html
    assert "compare=K2%2CAB1" in response["HX-Push-Url"]
    bad = client.get(FRAGMENT, {"compare": "K1"})
    assert bad.status_code == 400
    assert "Choose 2 to 6 campaigns" in bad.content.decode()


def test_fragment_empty_states(org_a, manager_a, client, frozen):
    client.force_login(manager_a)
    html = client.get(FRAGMENT, {"range": "24h"}).content.decode()
    assert "No campaign sent a message or was attributed a sale in the last 24h" in html
    assert 'data-testid="best-hour-none"' in html
    assert "No campaign sent two or more variants" in html


# --- drill-down -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"range": "7d"},
        {"range": "7d", "region": "South"},
        {"range": "custom", "start": "2026-03-08", "end": "2026-03-14", "agent": "agent@acme.test"},
    ],
)
def test_links_list_exactly_the_records_behind_the_numbers(history, org_a, agent_a, frozen, params):
    q = query(org_a, **params)
    payload = campaigns.compute(q)
    rows = campaigns.page_context(payload, q)["campaign_rows"]
    expected = {
        # leads touched at any time; last-touch sales closed in the window (S4 is EUR: left out)
        "K1": (["L1", "L2", "L4"], ["S2"]),
        "K2": (["L1"], ["S1"]),
    }
    assert [r["id"] for r in rows] == ["K1", "K2"]
    for row in rows:
        leads = records_for_url(org_a, row["leads_href"], AS_OF)
        sales = records_for_url(org_a, row["revenue_href"], AS_OF)
        assert (_ids(leads), _ids(sales)) == expected[row["id"]]
        assert leads.count() == row["leads"]
        assert float(sum(s.amount for s in sales)) == row["attributedRevenue"]
    compared = campaigns.page_context(payload, q)["compared_rows"]
    assert [records_for_url(org_a, r["leads_href"], AS_OF).count() for r in compared] == [3, 1]


def test_sales_link_follows_the_window(history, org_a, frozen):
    # 30d: S3 (6 Mar, L4) goes to K1 through T5 as well
    q = query(org_a, range="30d")
    k1 = campaigns.page_context(campaigns.compute(q), q)["campaign_rows"][0]
    sales = records_for_url(org_a, k1["revenue_href"], AS_OF)
    assert _ids(sales) == ["S2", "S3"]
    assert float(sum(s.amount for s in sales)) == k1["attributedRevenue"] == 750.5
    assert math.isclose(k1["roi"], 650.5)  # (750.50 - 100) / 100
