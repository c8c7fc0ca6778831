"""agents/charts.py: analytics payloads -> chart specs and display records. No database.

The payloads are the ones tests/agents/test_api.py asserts for the hand-built history
(tests/agents/factories.py) at AS_OF, range 7d, organization currency KES.
"""

from __future__ import annotations

import datetime as dt

import pytest

from agents import charts
from agents.team import TeamRow, next_sort, sort_choices, sort_rows
from reports.charts import FunnelChart, LineChart, ValueFormat, render_svg

KPIS_7D = {
    "agentId": "1",
    "dateRange": "7",
    "kpis": {
        "leadsHandled": 5,
        "leadsThisWeek": 5,
        "conversionRate": 20.0,
        "totalRevenue": 1250.5,
        "excludedSales": 0,
        "responseTimeHours": 2.33,
        "satisfactionScore": 4.0,
        "satisfactionCount": 2,
        "teamRanking": 2,
        "totalAgents": 2,
    },
    "trends": {
        "leads": 150.0,
        "conversion": -30.0,
        "revenue": 150.1,
        "response": -22.2,
        "satisfaction": 0.0,
        "ranking": -1,
    },
}
FUNNEL_7D = {
    "dateRange": "7",
    "funnel": {"assigned": 5, "contacted": 4, "interested": 2, "converted": 1},
    "conversionRates": {"contactRate": 80.0, "interestRate": 40.0, "conversionRate": 20.0},
}
SOURCES_7D = {
    "dateRange": "7",
    "sources": [
        {"source": "Referrals", "count": 2, "conversionRate": 50.0, "revenue": 1000.0},
        {"source": "Web Forms", "count": 2, "conversionRate": 0.0, "revenue": 0.0},
        {"source": "Paid Ads", "count": 1, "conversionRate": 0.0, "revenue": 0.0},
        {"source": "Unknown", "count": 0, "conversionRate": None, "revenue": 250.5},
    ],
}
REVENUE_DAILY_7D = {
    "period": "daily",
    "dateRange": "7",
    "currency": "KES",
    "data": [
        {"date": f"2026-11-{day}", "revenue": {18: 1000.0, 22: 250.5}.get(day, 0.0)} for day in range(15, 23)
    ],
    "insights": {
        "bestDay": {"date": "2026-11-18", "revenue": 1000.0},
        "monthTotal": 1760.5,
        "monthChange": 151.4,
    },
}


# --- trends -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "lower_is_better", "expected"),
    [
        (150.0, False, charts.Trend("▲", "+150.0%", "good")),
        (-60.0, False, charts.Trend("▼", "-60.0%", "bad")),
        # response time: down is the improvement, so green
        (-22.2, True, charts.Trend("▼", "-22.2%", "good")),
        (15.0, True, charts.Trend("▲", "+15.0%", "bad")),
        (0.0, False, charts.Trend("", "0.0%", "flat")),
        (0.0, True, charts.Trend("", "0.0%", "flat")),
        (None, False, charts.Trend("", "—", "none")),
        (None, True, charts.Trend("", "—", "none")),
    ],
)
def test_trend_sense(value, lower_is_better, expected):
    assert charts.trend(value, lower_is_better=lower_is_better) == expected


@pytest.mark.parametrize(
    ("places_up", "expected"),
    [
        (2, charts.Trend("▲", "2 places up", "good")),
        (1, charts.Trend("▲", "1 place up", "good")),
        (-1, charts.Trend("▼", "1 place down", "bad")),
        (0, charts.Trend("", "no change", "flat")),
        (None, charts.Trend("", "—", "none")),
    ],
)
def test_rank_trend(places_up, expected):
    assert charts.rank_trend(places_up) == expected


# --- KPI cards ----------------------------------------------------------------------------------


def test_kpi_cards_from_the_7d_payload():
    cards = {card.key: card for card in charts.kpi_cards(KPIS_7D, currency="KES")}

    assert list(cards) == ["leads", "conversion", "revenue", "response", "satisfaction", "ranking"]
    assert (cards["leads"].value, cards["leads"].note) == ("5", "5 this week")
    assert cards["conversion"].value == "20.0%"
    # a rate's trend is in percentage points: 20% against 50%
    assert cards["conversion"].trend == charts.Trend("▼", "-30.0 pts", "bad")
    assert cards["revenue"].value == "KES 1,250.50"
    assert cards["revenue"].note == ""  # no sale in another currency
    assert cards["revenue"].trend == charts.Trend("▲", "+150.1%", "good")
    assert cards["response"].value == "2.33 h"
    assert cards["response"].trend == charts.Trend("▼", "-22.2%", "good")
    assert (cards["satisfaction"].value, cards["satisfaction"].note) == ("4.00 / 5", "2 ratings")
    assert cards["ranking"].value == "2nd of 2"
    assert cards["ranking"].trend.sense == "bad"


def test_kpi_cards_without_data_show_dashes():
    empty = {
        "kpis": {
            "leadsHandled": 0,
            "leadsThisWeek": 0,
            "conversionRate": None,
            "totalRevenue": 0.0,
            "excludedSales": 0,
            "responseTimeHours": None,
            "satisfactionScore": None,
            "satisfactionCount": 1,
            "teamRanking": None,
            "totalAgents": 0,
        },
        "trends": dict.fromkeys(KPIS_7D["trends"]),
    }
    cards = {card.key: card for card in charts.kpi_cards(empty, currency="USD")}
    assert [cards[key].value for key in ("conversion", "response", "satisfaction")] == ["—", "—", "—"]
    assert cards["revenue"].value == "USD 0.00"
    assert cards["satisfaction"].note == "1 rating"
    assert cards["ranking"].value == "Not ranked"
    assert {card.trend.sense for card in cards.values()} == {"none"}
    assert not charts.has_window_data(empty)
    assert charts.has_window_data(KPIS_7D)


@pytest.mark.parametrize(
    ("ranking", "total", "text"),
    [(1, 1, "1st of 1"), (3, 15, "3rd of 15"), (12, 40, "12th of 40"), (22, 40, "22nd of 40")],
)
def test_team_position(ranking, total, text):
    assert charts.team_position({"teamRanking": ranking, "totalAgents": total}) == text


# --- funnel -------------------------------------------------------------------------------------


def test_funnel_chart_spec():
    spec = charts.funnel_chart(FUNNEL_7D, range_label="7 days")

    assert isinstance(spec, FunnelChart)
    assert [(p.label, p.value) for p in spec.stages] == [
        ("Assigned", 5),
        ("Contacted", 4),
        ("Interested", 2),
        ("Converted", 1),
    ]
    # the hover names the payload's rate of assigned leads
    assert [p.tooltip for p in spec.stages] == [
        None,
        "80.0% of assigned leads",
        "40.0% of assigned leads",
        "20.0% of assigned leads",
    ]
    assert spec.title == "Leads handled by stage, last 7 days"
    assert spec.value_format == ValueFormat("integer")
    assert "<svg" in render_svg(spec)


def test_funnel_without_leads_has_dashes_for_rates():
    empty = {
        "funnel": {"assigned": 0, "contacted": 0, "interested": 0, "converted": 0},
        "conversionRates": {"contactRate": None, "interestRate": None, "conversionRate": None},
    }
    assert charts.funnel_chart(empty, range_label="24 hours").stages[1].tooltip == "— of assigned leads"


# --- revenue ------------------------------------------------------------------------------------


def test_revenue_chart_daily():
    spec = charts.revenue_chart(REVENUE_DAILY_7D, range_label="7 days")

    assert isinstance(spec, LineChart)
    assert spec.title == "Revenue per day, last 7 days"
    assert spec.value_format == ValueFormat.money("KES")
    (series,) = spec.series
    assert [p.label for p in series.points][:2] == ["15 Nov", "16 Nov"]
    assert [p.value for p in series.points] == [0, 0, 0, 1000.0, 0, 0, 0, 250.5]
    assert series.points[3].tooltip == "Wednesday 18 Nov 2026"
    # hover values carry the money format
    assert "18 Nov: KES 1,000.00" in render_svg(spec)


def test_revenue_chart_weekly_and_monthly_labels():
    weekly = {
        **REVENUE_DAILY_7D,
        "period": "weekly",
        "data": [{"date": "2026-11-09", "revenue": 500.0}, {"date": "2026-11-16", "revenue": 1250.5}],
    }
    spec = charts.revenue_chart(weekly, range_label="30 days")
    assert spec.title == "Revenue per week, last 30 days"
    assert spec.x_label == "Week starting"
    assert [p.label for p in spec.series[0].points] == ["9 Nov", "16 Nov"]
    assert spec.series[0].points[0].tooltip == "Week of Monday 9 Nov 2026"

    monthly = {
        **REVENUE_DAILY_7D,
        "period": "monthly",
        "data": [{"date": "2026-10-01", "revenue": 799.25}, {"date": "2026-11-01", "revenue": 1760.5}],
    }
    spec = charts.revenue_chart(monthly, range_label="90 days")
    assert [p.label for p in spec.series[0].points] == ["Oct 2026", "Nov 2026"]
    assert spec.series[0].points[1].tooltip == "November 2026"


def test_a_year_of_days_has_unique_labels():
    start = dt.date(2025, 11, 22)
    days = [start + dt.timedelta(days=n) for n in range(366)]  # 22 Nov 2025 .. 22 Nov 2026
    payload = {**REVENUE_DAILY_7D, "data": [{"date": d.isoformat(), "revenue": 0.0} for d in days]}
    labels = [p.label for p in charts.revenue_chart(payload, range_label="12 months").series[0].points]
    assert len(set(labels)) == 366
    assert labels[0] == "22 Nov 2025"
    assert labels[-1] == "22 Nov 2026"


def test_revenue_insights():
    insights = charts.revenue_insights(REVENUE_DAILY_7D)
    assert insights.best_day == "18 Nov 2026: KES 1,000.00"
    assert insights.month_total == "KES 1,760.50"
    assert insights.month_change == charts.Trend("▲", "+151.4%", "good")
    assert charts.has_revenue(REVENUE_DAILY_7D)
    nothing = {
        **REVENUE_DAILY_7D,
        "data": [{"date": "2026-11-15", "revenue": 0.0}],
        "insights": {"bestDay": None, "monthTotal": 0.0, "monthChange": None},
    }
    assert charts.revenue_insights(nothing).best_day == ""
    assert not charts.has_revenue(nothing)


# --- lead sources -------------------------------------------------------------------------------


def test_source_rows_with_bars():
    rows = charts.source_rows(SOURCES_7D)
    assert [row.source for row in rows] == ["Referrals", "Web Forms", "Paid Ads", "Unknown"]
    referrals, _, paid, unknown = rows
    # bars relative to the largest row: 2 leads and KES 1,000.00
    assert (referrals.count_bar, referrals.revenue_bar) == (100.0, 100.0)
    assert paid.count_bar == 50.0
    assert (unknown.count, unknown.conversion, unknown.revenue) == ("0", "—", "250.50")
    assert referrals.revenue == "1,000.00"  # the currency is in the column header
    assert unknown.revenue_bar == 25.1  # 250.5 / 1000
    assert charts.source_rows({"sources": []}) == ()


# --- timeline -----------------------------------------------------------------------------------


def test_timeline_items():
    payload = {
        "activities": [
            {
                "id": "act123",
                "type": "conversion",
                "title": "Lead Converted",
                "description": "John Smith - Auto Insurance Policy",
                "timestamp": "2026-05-30T14:30:00Z",
                "metadata": {"leadId": "lead456", "revenue": 850},
            },
            {
                "id": "c1",
                "type": "call",
                "title": "Call",
                "description": "",
                "timestamp": "2026-05-30T12:00:00Z",
                "metadata": {"durationSeconds": 125, "outcome": "no_answer"},
            },
        ],
        "nextCursor": None,
        "hasMore": False,
    }
    conversion, call = charts.timeline_items(payload, currency="KES")
    assert conversion.when == dt.datetime(2026, 5, 30, 14, 30, tzinfo=dt.UTC)
    assert conversion.icon == "★"
    assert conversion.details == ("KES 850.00", "lead lead456")
    assert call.details == ("2 min 5 s", "no answer")


# --- goals --------------------------------------------------------------------------------------


def goal(goal_type: str, target: float, current, completion, achieved: bool) -> dict:
    return {
        "id": 1,
        "period": "monthly",
        "type": goal_type,
        "target": target,
        "current": current,
        "completion": completion,
        "achieved": achieved,
        "achievedAt": None,
        "periodStart": "2026-11-01",
        "periodEnd": "2026-12-01",
        "lowerIsBetter": goal_type == "responseTimeHours",
    }


def test_goal_bars():
    payload = {
        "goals": [
            goal("conversions", 4.0, 2, 50.0, False),
            goal("revenue", 1500.0, 1760.5, 117.4, True),
            goal("responseTimeHours", 3.0, 2.5, 120.0, True),
            goal("responseTimeHours", 3.0, None, None, False),
        ]
    }
    conversions, revenue, response, no_data = charts.goal_bars(payload, currency="KES")
    assert (conversions.current, conversions.target, conversions.completion, conversions.bar) == (
        "2",
        "4",
        "50.0%",
        50.0,
    )
    assert conversions.period_dates == "1 Nov – 30 Nov 2026"  # periodEnd is exclusive
    assert (revenue.current, revenue.target, revenue.bar) == ("KES 1,760.50", "KES 1,500.00", 100.0)
    assert (response.label, response.current, response.target) == ("Response time", "2.50 h", "≤ 3.00 h")
    assert (no_data.current, no_data.completion, no_data.bar) == ("—", "—", 0.0)


# --- team sorting (agents/team.py, pure part) -----------------------------------------------------


def row(name: str, *, rank: int | None, revenue: float, response: float | None) -> TeamRow:
    return TeamRow(
        agent_id=hash(name) % 1000,
        name=name,
        email=f"{name.lower()}@acme.test",
        team="",
        ranked=rank is not None,
        leads_handled=1,
        conversion_rate=None,
        total_revenue=revenue,
        response_time_hours=response,
        satisfaction_score=None,
        satisfaction_count=0,
        rank=rank,
    )


ROWS = [
    row("Cy", rank=2, revenue=10.0, response=None),
    row("Ann", rank=1, revenue=10.0, response=3.0),
    row("Bo", rank=None, revenue=99.0, response=1.0),
]


@pytest.mark.parametrize(
    ("sort", "names"),
    [
        ("rank", ["Ann", "Cy", "Bo"]),  # unranked last
        ("-rank", ["Cy", "Ann", "Bo"]),  # ... whichever the direction
        ("-revenue", ["Bo", "Ann", "Cy"]),  # ties keep name order
        ("revenue", ["Ann", "Cy", "Bo"]),
        ("response", ["Bo", "Ann", "Cy"]),  # no response time: last
        ("-response", ["Ann", "Bo", "Cy"]),
        ("name", ["Ann", "Bo", "Cy"]),
        ("-name", ["Cy", "Bo", "Ann"]),
        ("-leads", ["Ann", "Bo", "Cy"]),  # all equal: name order
    ],
)
def test_sort_rows(sort, names):
    assert [r.name for r in sort_rows(ROWS, sort)] == names


@pytest.mark.parametrize(
    ("column", "current", "expected"),
    [
        ("revenue", "rank", "-revenue"),  # first click: the highest first
        ("revenue", "-revenue", "revenue"),  # second click reverses
        ("revenue", "revenue", "-revenue"),
        ("response", "rank", "response"),  # fastest first
        ("response", "response", "-response"),
        ("rank", "rank", "-rank"),
        ("name", "-rank", "name"),
    ],
)
def test_next_sort(column, current, expected):
    assert next_sort(column, current) == expected
    assert expected in sort_choices()
