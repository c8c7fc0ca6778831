"""The Calls tab (insights.tabs.calls) on a small hand-built history.

Organization A is in Africa/Nairobi (UTC+3, no DST). AS_OF = Sun 15 Mar 2026 12:00 UTC
(15:00 local); 10 Mar 2026 is a Tuesday. 7d: W = [8 Mar 12:00, 15 Mar 12:00) UTC =
[8 Mar 15:00, 15 Mar 15:00) local; previous = [1 Mar 12:00, 8 Mar 12:00) UTC.

    call  lead  agent  outcome    secs  auto   UTC            local             country
    C1    LK    A      success    300   no     10 Mar 10:00   Tue 10 Mar 13:00  KE
    C2    LK    A      failed     120   yes    10 Mar 10:30   Tue 10 Mar 13:30  KE
    C3    LU    B      success    600   yes    12 Mar 06:00   Thu 12 Mar 09:00  UG
    C4    LX    A      ""         -     no     13 Mar 21:30   Sat 14 Mar 00:30  "" -> unknown
    C5    LN    B      no_answer  30    no     14 Mar 20:59   Sat 14 Mar 23:59  no contact -> unknown
    C6    -     A      success    60    yes    15 Mar 08:00   Sun 15 Mar 11:00  no lead -> unknown
    C7    LK    A      success    90    no     8 Mar 13:00    Sun 8 Mar 16:00   KE (first, partial day)
    C8    LK    A      failed     60    no     8 Mar 11:00    Sun 8 Mar 14:00   previous window
    P1    LU    B      success    240   no     3 Mar 09:00    Tue 3 Mar 12:00   previous window
    E1    LK    A      (an e-mail, not a call, in W)

Leads: LK North/Pro/Ads (contact KE), LU South/Basic/Referrals (UG), LX North/Pro/Ads
(contact without a country), LN South/Basic/Referrals (no contact).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.stats.refresh import statistics_refresh
from crm.models import ActivityType, Role
from insights.metrics import calls as call_metrics
from insights.selectors import records
from insights.tabs import DashboardQuery, parse_tab_query
from insights.tabs import calls as tab
from reports.charts import BarChart, DonutChart, HeatmapChart, LineChart, render_svg
from tests.factories import ActivityFactory, ContactFactory, LeadFactory, MemberFactory
from tests.insights.factories import AS_OF

pytestmark = pytest.mark.django_db
URL = "/api/analytics/tabs/calls"


def utc(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC)


def build_calls(org, agent, other, *, copy: int = 0) -> None:
    p = f"x{copy}-" if copy else ""
    contact = lambda ext, country: ContactFactory(organization=org, external_id=p + ext, country=country)  # noqa: E731
    lead = lambda ext, **kw: LeadFactory(organization=org, external_id=p + ext, **kw)  # noqa: E731
    leads = {
        "LK": lead("LK", contact=contact("CK", "KE"), region="North", product_line="Pro", source="Ads"),
        "LU": lead(
            "LU", contact=contact("CU", "UG"), region="South", product_line="Basic", source="Referrals"
        ),
        "LX": lead("LX", contact=contact("CX", ""), region="North", product_line="Pro", source="Ads"),
        "LN": lead("LN", contact=None, region="South", product_line="Basic", source="Referrals"),
    }
    rows = [
        ("C1", "LK", agent, "success", 300, False, utc(10, 10)),
        ("C2", "LK", agent, "failed", 120, True, utc(10, 10, 30)),
        ("C3", "LU", other, "success", 600, True, utc(12, 6)),
        ("C4", "LX", agent, "", None, False, utc(13, 21, 30)),
        ("C5", "LN", other, "no_answer", 30, False, utc(14, 20, 59)),
        ("C6", None, agent, "success", 60, True, utc(15, 8)),
        ("C7", "LK", agent, "success", 90, False, utc(8, 13)),
        ("C8", "LK", agent, "failed", 60, False, utc(8, 11)),
        ("P1", "LU", other, "success", 240, False, utc(3, 9)),
    ]
    for ext, lead_key, member, outcome, seconds, automated, when in rows:
        ActivityFactory(
            organization=org,
            external_id=p + ext,
            lead=leads[lead_key] if lead_key else None,
            agent=member,
            type=ActivityType.CALL,
            outcome=outcome,
            duration_seconds=seconds,
            automated=automated,
            occurred_at=when,
        )
    ActivityFactory(
        organization=org,
        external_id=p + "E1",
        lead=leads["LK"],
        agent=agent,
        type=ActivityType.EMAIL,
        outcome="success",
        occurred_at=utc(10, 11),
    )


@pytest.fixture
def frozen():
    with time_machine.travel(AS_OF, tick=False):
        yield


@pytest.fixture
def other_agent(org_a):
    return MemberFactory(email="bea@acme.test", organization=org_a, role=Role.AGENT)


@pytest.fixture
def history(org_a, agent_a, other_agent):
    build_calls(org_a, agent_a, other_agent)


def query_for(org, **params: str) -> DashboardQuery:
    return parse_tab_query(tab="calls", organization=org, params={"range": "7d", **params}, as_of=AS_OF)


def compute(org, **params: str) -> dict:
    return tab.compute(query_for(org, **params))


def ids(qs) -> list[str]:
    return sorted(qs.values_list("external_id", flat=True))


def follow(org, href: str) -> list[str]:
    return ids(records.records_for_url(org, href, AS_OF))


# --- every number on the small data -----------------------------------------------------------

EXPECTED_CURRENT = {
    "total": 7,  # C1-C7 (C8 and P1 are previous, E1 is an e-mail)
    "successful": 4,  # C1, C3, C6, C7
    "successRate": 57.1,  # 4/7 = 57.14
    "averageDuration": 3.3,  # (300+120+600+30+60+90) = 1200 s over 6 calls (C4 has none) = 200 s = 3.33 min
    "totalMinutes": 20,  # 1200 s
    "automated": 3,  # C2, C3, C6
    "manual": 4,  # 7 - 3
    "automatedShare": 42.9,  # 3/7 = 42.86
}
EXPECTED_PREVIOUS = {
    "total": 2,  # C8, P1
    "successful": 1,  # P1
    "successRate": 50.0,  # 1/2
    "averageDuration": 2.5,  # (60 + 240) / 2 = 150 s
    "totalMinutes": 5,  # 300 s
    "automated": 0,
    "manual": 2,
    "automatedShare": 0.0,
}
EXPECTED_CHANGES = {
    "total": 250.0,  # (7 - 2) / 2
    "successRate": 7.1,  # points: 57.14 - 50.0
    "averageDuration": 33.3,  # (200 - 150) / 150
    "totalMinutes": 300.0,  # (1200 - 300) / 300 on the seconds
    "automatedShare": 42.9,  # points: 42.86 - 0
}


def test_kpis_against_the_previous_window(org_a, history, frozen):
    kpis = compute(org_a)["kpis"]
    assert kpis["current"] == EXPECTED_CURRENT
    assert kpis["previous"] == EXPECTED_PREVIOUS
    assert kpis["changes"] == EXPECTED_CHANGES


def test_range_block(org_a, history, frozen):
    assert compute(org_a)["range"] == {
        "label": "7d",
        "start": "2026-03-08T12:00:00+00:00",
        "end": "2026-03-15T12:00:00+00:00",
        "previousStart": "2026-03-01T12:00:00+00:00",
        "timezone": "Africa/Nairobi",
        "currency": "KES",
    }


def test_daily_series_in_local_days_zero_filled(org_a, history, frozen):
    series = compute(org_a)["series"]
    assert series["bucket"] == "day"
    got = [
        (p["day"], p["hour"], p["calls"], p["successful"], p["successRate"], p["partial"])
        for p in series["points"]
    ]
    assert got == [
        ("2026-03-08", None, 1, 1, 100.0, True),  # C7 16:00 local; W starts 15:00 local: partial day
        ("2026-03-09", None, 0, 0, None, False),
        ("2026-03-10", None, 2, 1, 50.0, False),  # C1, C2
        ("2026-03-11", None, 0, 0, None, False),
        ("2026-03-12", None, 1, 1, 100.0, False),  # C3
        ("2026-03-13", None, 0, 0, None, False),  # C4 is 13 Mar 21:30 UTC = 14 Mar 00:30 local
        ("2026-03-14", None, 2, 0, 0.0, False),  # C4, C5 (23:59 local)
        ("2026-03-15", None, 1, 1, 100.0, False),  # C6, today so far
    ]
    assert sum(p["calls"] for p in series["points"]) == EXPECTED_CURRENT["total"]


def test_hourly_series_for_24h(org_a, history, frozen):
    # 24h: [14 Mar 12:00, 15 Mar 12:00) UTC = [14 Mar 15:00, 15 Mar 15:00) local: C5, C6
    payload = compute(org_a, range="24h")
    points = payload["series"]["points"]
    assert payload["series"]["bucket"] == "hour"
    assert len(points) == 24  # 14 Mar 15:00 .. 15 Mar 14:00 local
    assert (points[0]["label"], points[0]["partial"], points[-1]["label"]) == (
        "14 Mar 15:00",
        False,
        "15 Mar 14:00",
    )
    busy = {(p["day"], p["hour"]): (p["calls"], p["successful"]) for p in points if p["calls"]}
    assert busy == {("2026-03-14", 23): (1, 0), ("2026-03-15", 11): (1, 1)}  # C5 23:59, C6 11:00 local
    # previous 24h: C4 only
    assert payload["kpis"]["previous"]["total"] == 1
    assert payload["kpis"]["changes"]["total"] == 100.0  # (2 - 1) / 1


def test_outcomes_with_none_for_empty(org_a, history, frozen):
    assert compute(org_a)["outcomes"] == [
        {"outcome": "success", "calls": 4, "share": 57.1},  # 4/7
        {"outcome": "(none)", "calls": 1, "share": 14.3},  # C4; 1/7 = 14.29; ties by label
        {"outcome": "failed", "calls": 1, "share": 14.3},  # C2
        {"outcome": "no_answer", "calls": 1, "share": 14.3},  # C5
    ]


def test_success_by_country(org_a, history, frozen):
    payload = compute(org_a)
    assert payload["countries"] == [
        # C1, C2, C7; successful C1, C7: 2/3; 3/7 of the calls
        {"country": "KE", "calls": 3, "successful": 2, "successRate": 66.7, "share": 42.9},
        # C4 (empty country), C5 (lead without contact), C6 (no lead); C6 successful
        {"country": "unknown", "calls": 3, "successful": 1, "successRate": 33.3, "share": 42.9},
        {"country": "UG", "calls": 1, "successful": 1, "successRate": 100.0, "share": 14.3},  # C3
    ]
    assert payload["otherCountries"] is None  # three countries, fewer than ten


def test_heatmap_weekday_by_local_hour(org_a, history, frozen):
    heat = compute(org_a)["heatmap"]
    assert heat["weekdays"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    busy = {
        (w + 1, h): (n, heat["successful"][w][h], heat["successRate"][w][h])
        for w, row in enumerate(heat["calls"])
        for h, n in enumerate(row)
        if n
    }
    assert busy == {
        (2, 13): (2, 1, 50.0),  # C1 13:00, C2 13:30 on Tue 10 Mar
        (4, 9): (1, 1, 100.0),  # C3 Thu 09:00
        (6, 0): (1, 0, 0.0),  # C4 Sat 14 Mar 00:30
        (6, 23): (1, 0, 0.0),  # C5 Sat 23:59
        (7, 11): (1, 1, 100.0),  # C6 Sun 15 Mar 11:00
        (7, 16): (1, 1, 100.0),  # C7 Sun 8 Mar 16:00
    }
    assert heat["successRate"][0][0] is None  # no call on Monday at midnight: no rate, not 0


def test_empty_window_gives_zeros_and_nulls(org_a, frozen):
    payload = compute(org_a)
    assert payload["kpis"]["current"] == {
        "total": 0,
        "successful": 0,
        "successRate": None,
        "averageDuration": None,
        "totalMinutes": 0,
        "automated": 0,
        "manual": 0,
        "automatedShare": None,
    }
    assert payload["kpis"]["changes"] == {
        "total": None,
        "successRate": None,
        "averageDuration": None,
        "totalMinutes": None,
        "automatedShare": None,
    }
    assert [p["calls"] for p in payload["series"]["points"]] == [0] * 8
    assert (payload["outcomes"], payload["countries"], payload["otherCountries"]) == ([], [], None)
    assert all(v is None for row in payload["heatmap"]["successRate"] for v in row)
    assert sum(map(sum, payload["heatmap"]["calls"])) == 0


# --- rollups, time zone, filters --------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"range": "24h"},
        {"range": "7d"},
        {"range": "30d"},
        {"range": "1y"},
        {"range": "custom", "start": "2026-03-14", "end": "2026-03-14"},
        {"range": "custom", "start": "2026-03-01", "end": "2026-03-14"},
        {"range": "7d", "region": "North"},
    ],
    ids=["24h", "7d", "30d", "1y", "custom-day", "custom-2w", "7d-north"],
)
def test_rollup_path_equals_raw_path(org_a, history, frozen, params):
    live = compute(org_a, **params)
    statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)  # trusted through 14 Mar local
    cache.clear()
    assert compute(org_a, **params) == live


def test_custom_local_day_around_midnight(org_a, history, frozen):
    # 14 Mar local = [13 Mar 21:00, 14 Mar 21:00) UTC: C4 (21:30 UTC on the 13th) and C5 (20:59 UTC)
    for rolled_up in (False, True):
        if rolled_up:
            statistics_refresh(
                organization=org_a, family="insights", as_of=AS_OF
            )  # 14 Mar is a trusted rollup day
        payload = compute(org_a, range="custom", start="2026-03-14", end="2026-03-14")
        assert (payload["kpis"]["current"]["total"], payload["kpis"]["current"]["successful"]) == (2, 0)
        # one custom day is drawn hour by hour: 00:00 .. 23:00 local
        points = payload["series"]["points"]
        assert [(p["hour"], p["calls"]) for p in points if p["calls"]] == [(0, 1), (23, 1)]
        assert (len(points), points[0]["partial"]) == (24, False)
        # previous = 13 Mar local: nothing
        assert payload["kpis"]["previous"]["total"] == 0


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"region": "North"}, (4, 2, ["KE", "unknown"])),  # LK, LX: C1, C2, C4, C7; C1, C7 successful
        ({"productLine": "Basic"}, (2, 1, ["UG", "unknown"])),  # LU, LN: C3, C5
        ({"source": "Referrals"}, (2, 1, ["UG", "unknown"])),  # LU, LN: C3, C5
        ({"agent": "agent@acme.test"}, (5, 3, ["KE", "unknown"])),  # C1, C2, C4, C6, C7
        ({"agent": "bea@acme.test", "region": "South"}, (2, 1, ["UG", "unknown"])),  # C3, C5
        ({"source": "Ads", "productLine": "Basic"}, (0, 0, [])),
    ],
)
def test_filters_narrow_every_number(org_a, history, frozen, filters, expected):
    payload = compute(org_a, **filters)
    current = payload["kpis"]["current"]
    assert (current["total"], current["successful"], [c["country"] for c in payload["countries"]]) == expected
    # every breakdown adds up to the filtered total
    assert sum(p["calls"] for p in payload["series"]["points"]) == current["total"]
    assert sum(o["calls"] for o in payload["outcomes"]) == current["total"]
    assert sum(map(sum, payload["heatmap"]["calls"])) == current["total"]


def test_a_call_without_a_lead_matches_no_lead_filter(org_a, history, frozen):
    # C6 has no lead: counted for its agent, never for a region
    assert compute(org_a, agent="agent@acme.test")["outcomes"][0] == {
        "outcome": "success",
        "calls": 3,
        "share": 60.0,
    }  # C1, C6, C7 of 5
    north = compute(org_a, region="North")
    assert "unknown" in [c["country"] for c in north["countries"]]  # C4: contact without a country
    assert sum(c["calls"] for c in north["countries"] if c["country"] == "unknown") == 1


# --- speed ----------------------------------------------------------------------------------------


def count_queries(org, **params: str) -> int:
    query = query_for(org, **params)
    with CaptureQueriesContext(connection) as ctx:
        tab.compute(query)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("use_rollups", [False, True], ids=["live", "rollups"])
def test_fixed_number_of_queries(org_a, agent_a, other_agent, history, frozen, use_rollups):
    params = {"range": "1y", "region": "North"}
    if use_rollups:
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    small = count_queries(org_a, **params)
    # fill state + KPIs (rollup days and the live rest, or all live) + hours + outcome x country
    assert small == (5 if use_rollups else 4)
    for copy in (1, 2):
        build_calls(
            org_a, MemberFactory(email=f"a{copy}@acme.test", organization=org_a), other_agent, copy=copy
        )
    if use_rollups:
        statistics_refresh(organization=org_a, family="insights", as_of=AS_OF)
    assert compute(org_a, **params)["kpis"]["current"]["total"] == 15  # 3 x (C1, C2, C4, C7, C8) in the year
    assert count_queries(org_a, **params) == small
    assert count_queries(org_a, range="24h") <= small


# --- the API ------------------------------------------------------------------------------------


def test_api_answers_the_payload_to_managers(org_a, manager_a, history, api_client_for, frozen):
    response = api_client_for(manager_a).get(URL, {"range": "7d"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    assert body["kpis"]["current"] == EXPECTED_CURRENT
    assert body == {"success": True, **compute(org_a)}


def test_api_refuses_agents_and_anonymous(agent_a, history, api_client_for, client, frozen):
    assert api_client_for(agent_a).get(URL).status_code == 403
    assert client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"range": "2w"}, "range"),
        ({"range": "custom", "start": "2026-03-20", "end": "2026-03-01"}, "start"),
        ({"region": "Atlantis"}, "region"),
        ({"agent": "nobody@acme.test"}, "agent"),
    ],
)
def test_api_bad_parameters_are_400s_naming_them(manager_a, history, api_client_for, frozen, params, field):
    response = api_client_for(manager_a).get(URL, params)
    assert response.status_code == 400, response.content
    assert field in response.content.decode()


def test_another_organizations_calls_are_invisible(org_a, org_b, outsider, history, api_client_for, frozen):
    ActivityFactory(
        organization=org_b,
        external_id="B1",
        type=ActivityType.CALL,
        outcome="voicemail",
        duration_seconds=45,
        occurred_at=utc(12, 9),
    )
    body = api_client_for(outsider).get(URL, {"range": "7d"}).json()
    assert (body["kpis"]["current"]["total"], body["kpis"]["current"]["totalMinutes"]) == (1, 1)  # 45 s
    assert body["outcomes"] == [{"outcome": "voicemail", "calls": 1, "share": 100.0}]
    assert body["countries"] == [
        {"country": "unknown", "calls": 1, "successful": 0, "successRate": 0.0, "share": 100.0}
    ]
    # an org_a region is not a value of org_b
    assert api_client_for(outsider).get(URL, {"region": "North"}).status_code == 400


# --- charts, tables, page -------------------------------------------------------------------------


def test_charts_specs_values_and_links(org_a, history, frozen):
    query = query_for(org_a)
    specs = tab.charts(tab.compute(query), query)
    assert {k: type(v) for k, v in specs.items()} == {
        "series": LineChart,
        "outcomes": DonutChart,
        "automation": DonutChart,
        "country_calls": BarChart,
        "country_success": BarChart,
        "heatmap_calls": HeatmapChart,
        "heatmap_success": HeatmapChart,
    }
    calls_line, successful_line = specs["series"].series
    assert [p.value for p in calls_line.points] == [1, 0, 2, 0, 1, 0, 2, 1]
    assert [p.value for p in successful_line.points] == [1, 0, 1, 0, 1, 0, 0, 1]
    assert calls_line.points[0].href is None  # the partial first day has no link
    assert calls_line.points[2].href == (
        "/dashboard/analytics/records/calls?range=7d&from=2026-03-10&to=2026-03-10"
    )
    assert successful_line.points[2].href.endswith("&from=2026-03-10&to=2026-03-10&outcome=success")
    assert [(s.label, s.value) for s in specs["outcomes"].slices] == [
        ("success", 4),
        ("(none)", 1),
        ("failed", 1),
        ("no_answer", 1),
    ]
    assert "outcome=%28none%29" in specs["outcomes"].slices[1].href
    assert [(s.label, s.value) for s in specs["automation"].slices] == [("Automated", 3), ("Manual", 4)]
    assert [(p.label, p.value) for p in specs["country_calls"].series[0].points] == [
        ("KE", 3),
        ("Unknown", 3),
        ("UG", 1),
    ]
    assert [p.value for p in specs["country_success"].series[0].points] == [66.7, 33.3, 100.0]
    assert specs["country_success"].value_format.kind == "percent"
    heat = specs["heatmap_calls"]
    assert (heat.y_labels[1], heat.x_labels[13], heat.cells[1][13]) == ("Tue", "13", 2)
    assert heat.hrefs[1][13].endswith("weekday=2&hour=13")
    assert heat.hrefs[0][0] is None  # no call: no link
    assert specs["heatmap_success"].cells[1][13] == 50.0
    assert specs["heatmap_success"].cells[0][0] is None
    for spec in specs.values():
        assert render_svg(spec)  # every spec renders


def test_links_keep_the_filters(org_a, history, frozen):
    query = query_for(org_a, region="North")
    specs = tab.charts(tab.compute(query), query)
    assert all("region=North" in p.href for p in specs["country_calls"].series[0].points)


def test_many_outcomes_and_countries_are_folded(org_a, agent_a, frozen):
    # 12 outcomes o00..o11 and 12 countries (AA..AL), one call each, o00 twice in AA
    for i in range(12):
        code = f"A{chr(ord('A') + i)}"
        lead = LeadFactory(organization=org_a, contact=ContactFactory(organization=org_a, country=code))
        ActivityFactory(
            organization=org_a, lead=lead, type=ActivityType.CALL, outcome=f"o{i:02d}", occurred_at=utc(12, 9)
        )
    ActivityFactory(
        organization=org_a,
        lead=lead.__class__.objects.get(contact__country="AA"),
        type=ActivityType.CALL,
        outcome="o00",
        occurred_at=utc(12, 10),
    )
    query = query_for(org_a)
    payload = tab.compute(query)
    assert len(payload["outcomes"]) == 12  # the table lists them all
    slices = tab.charts(payload, query)["outcomes"].slices
    # the donut: the 7 biggest (o00 x2, then o01..o06 by label) and the 5 others together
    assert [s.label for s in slices] == [
        "o00",
        "o01",
        "o02",
        "o03",
        "o04",
        "o05",
        "o06",
        "Other outcomes (5)",
    ]
    assert (slices[-1].value, slices[-1].href) == (5, None)
    assert [c["country"] for c in payload["countries"]] == [
        "AA",
        *[f"A{chr(ord('B') + i)}" for i in range(9)],
    ]
    # AK and AL: 2 of the 13 calls
    assert payload["otherCountries"] == {
        "countries": 2,
        "calls": 2,
        "successful": 0,
        "successRate": 0.0,
        "share": 15.4,
    }
    table = tab.csv_tables(payload)["countries"]
    assert table.rows[-1] == ("Other (2 countries)", 2, 0, 0.0, 15.4)


def test_csv_tables(org_a, history, frozen):
    tables = tab.csv_tables(compute(org_a))
    assert set(tables) == {"kpis", "daily", "outcomes", "countries", "heatmap"}
    assert all(re.fullmatch(r"[a-z0-9-]+", key) for key in tables)
    kpis = tables["kpis"]
    assert kpis.header == ("metric", "current", "previous", "trend")
    assert kpis.rows == (
        ("Calls", 7, 2, 250.0),
        ("Successful calls", 4, 1, 300.0),  # (4 - 1) / 1
        ("Call success rate % (trend in points)", 57.1, 50.0, 7.1),
        ("Average call duration (min)", 3.3, 2.5, 33.3),
        ("Minutes on calls", 20, 5, 300.0),
        ("Automated calls", 3, 0, None),  # no previous automated call: no base
        ("Automated share % (trend in points)", 42.9, 0.0, 42.9),
    )
    daily = tables["daily"]
    assert daily.header == ("day", "hour", "calls", "successful", "success rate", "partial")
    assert daily.rows[0] == ("2026-03-08", None, 1, 1, 100.0, "yes")
    assert daily.rows[2] == ("2026-03-10", None, 2, 1, 50.0, "no")
    assert len(daily.rows) == 8
    assert tables["outcomes"].header == ("outcome", "calls", "share %")
    assert tables["outcomes"].rows[1] == ("(none)", 1, 14.3)
    assert tables["countries"].header == ("country", "calls", "successful", "success rate", "share %")
    assert tables["countries"].rows == (
        ("KE", 3, 2, 66.7, 42.9),
        ("unknown", 3, 1, 33.3, 42.9),
        ("UG", 1, 1, 100.0, 14.3),
    )
    heat = tables["heatmap"]
    assert heat.header == ("weekday", "hour", "calls", "successful", "success rate")
    assert len(heat.rows) == 7 * 24
    assert heat.rows[24 + 13] == ("Tue", 13, 2, 1, 50.0)
    assert heat.rows[0] == ("Mon", 0, 0, 0, None)


def test_page_context_cards_and_rows(org_a, history, frozen):
    query = query_for(org_a)
    context = tab.page_context(tab.compute(query), query)
    cards = {c["key"]: c for c in context["cards"]}
    assert (cards["total"]["value"], cards["total"]["trend"].text, cards["total"]["trend"].sense) == (
        7,
        "+250.0%",
        "good",
    )
    assert (cards["successRate"]["value"], cards["successRate"]["trend"].text) == (57.1, "+7.1 pts")
    assert cards["averageDuration"]["trend"].text == "+33.3%"
    assert cards["totalMinutes"]["previous"] == 5
    assert [(r["label"], r["calls"], r["share"]) for r in context["automation_rows"]] == [
        ("Automated (AI-assisted)", 3, 42.9),
        ("Manual", 4, 57.1),
    ]
    assert context["period_text"] == "in the last 7 days"
    assert context["automated_change"].text == "+42.9 pts"


def test_fragment_renders_through_the_shell(org_a, manager_a, history, client, frozen):
    client.force_login(manager_a)
    response = client.get("/dashboard/analytics/tab/calls", {"range": "7d"})
    assert response.status_code == 200
    html = response.content.decode()
    for testid in (
        "calls-tab",
        "calls-kpi-total",
        "calls-series",
        "calls-outcomes",
        "calls-automation",
        "calls-countries",
        "calls-heatmap",
        "calls-export-heatmap",
    ):
        assert f'data-testid="{testid}"' in html, testid
    assert "/dashboard/analytics/records/calls?range=7d&amp;outcome=success" in html
    assert "calls-empty" not in html
    empty = client.get(
        "/dashboard/analytics/tab/calls", {"range": "custom", "start": "2026-01-01", "end": "2026-01-02"}
    ).content.decode()
    assert "No calls from 2026-01-01 to 2026-01-02" in empty


def test_csv_export_of_a_table(manager_a, history, client, frozen):
    client.force_login(manager_a)
    response = client.get("/dashboard/analytics/export/calls/outcomes.csv", {"range": "7d"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[:2] == ["outcome,calls,share %", "success,4,57.1"]


# --- pure arithmetic (no database) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((1, 2, 1, 4), 25.0),
        ((0, 0, 1, 2), None),
        ((1, 3, 0, 0), None),
        ((2, 3, 1, 3), 33.3),
        ((1, 8, 1, 4), -12.5),
    ],
)
def test_points_change(args, expected):
    assert call_metrics.points_change(*args) == expected


def test_average_duration_change_needs_both_means():
    # no call with a duration now: mean null, change null (not -100%)
    changes = call_metrics.kpi_changes(
        {"calls": 2}, {"calls": 1, "duration_seconds_sum": 60, "duration_count": 1}
    )
    assert (changes["averageDuration"], changes["totalMinutes"]) == (None, -100.0)


def test_hourly_points_across_a_dst_change():
    # Berlin springs forward on 29 Mar 2026 at 02:00 -> 03:00: 23 local hours that day
    from zoneinfo import ZoneInfo

    from core.timeranges import Window

    tz = ZoneInfo("Europe/Berlin")
    window = Window(
        start=dt.datetime(2026, 3, 29, 0, 0, tzinfo=tz), end=dt.datetime(2026, 3, 30, 0, 0, tzinfo=tz)
    )
    points = call_metrics.hourly_points(
        window, tz, {(dt.date(2026, 3, 29), 3): {"calls": 2, "successful": 1}}
    )
    assert [p["hour"] for p in points] == [0, 1, *range(3, 24)]
    assert [p["calls"] for p in points if p["hour"] == 3] == [2]


def test_daily_points_partial_only_when_the_window_starts_mid_day():
    from core.timeranges import Window

    tz = dt.UTC
    whole = call_metrics.daily_points(Window(utc(1, 0), utc(3, 0)), tz, {})
    assert [(p["day"], p["partial"]) for p in whole] == [("2026-03-01", False), ("2026-03-02", False)]
    mid = call_metrics.daily_points(Window(utc(1, 6), utc(3, 6)), tz, {})
    assert [(p["day"], p["partial"]) for p in mid] == [
        ("2026-03-01", True),
        ("2026-03-02", False),
        ("2026-03-03", False),
    ]


def test_drill_values_are_those_the_records_page_reads():
    assert (call_metrics.NO_OUTCOME, call_metrics.UNKNOWN_COUNTRY) == (
        records.NO_OUTCOME,
        records.UNKNOWN_COUNTRY,
    )


# --- drill-down: each link lists exactly the calls behind its number --------------------------


def test_every_chart_link_lists_the_calls_behind_its_number(org_a, history, frozen):
    query = query_for(org_a)
    payload = tab.compute(query)
    specs = tab.charts(payload, query)
    checked = 0
    for series in specs["series"].series:
        for point in series.points:
            if point.href:
                assert len(follow(org_a, point.href)) == point.value, (series.name, point.label)
                checked += 1
    for point in (
        *specs["outcomes"].slices,
        *specs["automation"].slices,
        *specs["country_calls"].series[0].points,
    ):
        assert len(follow(org_a, point.href)) == point.value, point.label
        checked += 1
    for country, point in zip(payload["countries"], specs["country_success"].series[0].points, strict=True):
        assert len(follow(org_a, point.href)) == country["successful"], point.label
        checked += 1
    for spec in (specs["heatmap_calls"], specs["heatmap_success"]):
        for w, row in enumerate(spec.hrefs):
            for h, href in enumerate(row):
                if href:
                    assert len(follow(org_a, href)) == payload["heatmap"]["calls"][w][h]
                    checked += 1
    assert checked == 7 * 2 + 4 + 2 + 3 + 3 + 6 * 2  # 7 linked days x 2 lines, slices, bars, busy cells


@pytest.mark.parametrize(
    ("pick", "expected"),
    [
        (
            lambda s, c: s["series"].series[0].points[6].href,
            ["C4", "C5"],
        ),  # 14 Mar local, C4 at 21:30 UTC on the 13th
        (lambda s, c: s["series"].series[0].points[7].href, ["C6"]),  # today
        (lambda s, c: s["series"].series[1].points[2].href, ["C1"]),  # successful on 10 Mar
        (lambda s, c: s["outcomes"].slices[1].href, ["C4"]),  # (none)
        (lambda s, c: s["automation"].slices[0].href, ["C2", "C3", "C6"]),
        (lambda s, c: s["automation"].slices[1].href, ["C1", "C4", "C5", "C7"]),
        (lambda s, c: s["country_calls"].series[0].points[1].href, ["C4", "C5", "C6"]),  # unknown
        (lambda s, c: s["country_success"].series[0].points[0].href, ["C1", "C7"]),  # KE, successful
        (lambda s, c: s["heatmap_calls"].hrefs[5][0], ["C4"]),  # Sat 00:00 local
        (lambda s, c: c["cards"][0]["href"], ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]),
        (lambda s, c: c["cards"][1]["href"], ["C1", "C3", "C6", "C7"]),
        (lambda s, c: c["country_rows"][2]["success_href"], ["C3"]),
    ],
)
def test_links_list_exactly_these_calls(org_a, history, frozen, pick, expected):
    query = query_for(org_a)
    payload = tab.compute(query)
    assert follow(org_a, pick(tab.charts(payload, query), tab.page_context(payload, query))) == expected


def test_hourly_links_list_the_calls_of_that_hour(org_a, history, frozen):
    query = query_for(org_a, range="24h")
    payload = tab.compute(query)
    points = tab.charts(payload, query)["series"].series[0].points
    linked = {p.label: follow(org_a, p.href) for p in points if p.value}
    assert linked == {"14 Mar 23:00": ["C5"], "15 Mar 11:00": ["C6"]}
    assert all(len(follow(org_a, p.href)) == p.value for p in points[:3])


def test_filtered_links_list_the_filtered_calls(org_a, history, frozen):
    query = query_for(org_a, region="North")
    payload = tab.compute(query)
    context = tab.page_context(payload, query)
    assert follow(org_a, context["cards"][0]["href"]) == ["C1", "C2", "C4", "C7"]
    assert [follow(org_a, r["href"]) for r in context["country_rows"]] == [["C1", "C2", "C7"], ["C4"]]
