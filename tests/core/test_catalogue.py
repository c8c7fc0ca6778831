"""The metric catalogue (core/catalogue.py; docs/metrics.md, "Metric catalogue"): the registry
rules, the rounding rule, the documented table, and one test per metric that its value,
shown, is the number on every surface that shows it.

The world is tests/insights/factories.py's history (AS_OF = 15 Mar 2026 12:00 UTC, 7d =
[8 Mar 12:00, 15 Mar 12:00) UTC), plus a third handled lead L6 for the agent and response
times and ratings on the agent's leads, so that the agent KPIs have something to show.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.cache import cache

from agents.charts import excluded_sales_note, hours, money
from core.catalogue import (
    DIRECTIONS,
    UNITS,
    Metric,
    MetricFilters,
    metric_get,
    metric_register,
    metric_value,
    metrics,
    shown,
)
from core.display import PERCENT, POINTS
from core.timeranges import parse_range
from crm.models import Product, Quote
from insights.catalogue import OVERVIEW_METRICS, TAB_METRICS
from insights.tabs.overview import COMPARISON_ROWS
from insights.tabs.present import calls as calls_present
from insights.tabs.present import campaigns as campaigns_present
from insights.tabs.present import csv_label
from insights.tabs.present import leads as leads_present
from insights.tabs.present import revenue as revenue_present
from reports.charts import ValueFormat, format_value
from tests.factories import LeadFactory
from tests.insights.factories import AS_OF, at, build_history

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
CATALOGUE_SECTION = "## Metric catalogue"


def _nothing(organization, window, filters) -> None:
    return None


def _metric(unit: str, name: str = "test.figure") -> Metric:
    return Metric(
        name=name, label="Figure", unit=unit, direction="neutral", definition="Shared rules", compute=_nothing
    )


# --- registry rules (no database) ------------------------------------------------------------


def test_names_are_unique_dotted_and_units_and_directions_known():
    names = [m.name for m in metrics()]
    # 19 overview rows + 10 figures of the dashboard tabs' own + 6 agent KPIs + 2 of pricing
    assert len(names) == len(set(names)) == 37
    for metric in metrics():
        assert re.fullmatch(r"[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+", metric.name)
        assert metric.unit in UNITS
        assert metric.direction in DIRECTIONS


def test_a_duplicate_name_is_refused_and_the_first_entry_kept():
    first = metric_get("revenue.total")
    with pytest.raises(ValueError, match="already registered"):
        metric_register(_metric("money", name="revenue.total"))
    assert metric_get("revenue.total") is first


def test_an_unknown_name_lists_the_registered_ones():
    with pytest.raises(LookupError, match=r"No metric 'revenue\.totl'; registered: .*revenue\.total"):
        metric_get("revenue.totl")


@pytest.mark.parametrize(
    ("field", "value"),
    [("unit", "euros"), ("direction", "up"), ("name", "Revenue"), ("name", "revenue_total")],
)
def test_a_bad_entry_is_refused(field, value):
    entry = {
        "name": "test.figure",
        "label": "Figure",
        "unit": "count",
        "direction": "neutral",
        "definition": "Shared rules",
        "compute": _nothing,
        field: value,
    }
    with pytest.raises(ValueError, match=field):
        Metric(**entry)


def test_trend_unit_is_points_for_a_percent_and_percent_otherwise():
    assert {unit: _metric(unit).trend_unit for unit in UNITS} == {
        "count": PERCENT,
        "money": PERCENT,
        "percent": POINTS,
        "number": PERCENT,
        "rating": PERCENT,
        "hours": PERCENT,
        "minutes": PERCENT,
        "days": PERCENT,
    }
    for metric in metrics():
        assert metric.trend_unit == (POINTS if metric.unit == "percent" else PERCENT)


@pytest.mark.parametrize(
    ("unit", "value", "expected"),
    [
        ("percent", 12.25, 12.3),  # 49 / 400: half up, where round() on the float gives 12.2
        ("percent", Decimal("66.6666"), 66.7),
        ("money", 0.125, 0.13),  # round(0.125, 2) gives 0.12
        ("money", Decimal("625.25"), 625.25),
        ("count", Decimal("6.5"), 7),  # 390 s = 6.5 min of calls: a whole number, half up
        ("count", 3, 3),
        ("number", Decimal("-2.25"), -2.3),  # half away from zero
        ("minutes", Decimal("3.25"), 3.3),
        ("hours", Decimal("1.875"), 1.88),  # hours keep two decimals, as money
        ("rating", Decimal(13) / 3, 4.33),  # ratings 5, 4, 4: two decimals (DESIGN section 6)
        ("days", Decimal("2.25"), 2.3),  # a median of days keeps one decimal
        ("percent", None, None),  # a rate over nothing stays null
    ],
)
def test_shown_rounds_half_up_once_by_unit(unit, value, expected):
    result = shown(_metric(unit), value)
    assert result == expected
    assert type(result) is type(expected)


# --- the documentation ------------------------------------------------------------------------


def _docs_table() -> list[tuple[str, ...]]:
    """The rows of the table in docs/metrics.md's "Metric catalogue" section."""
    text = DOCS.read_text()
    section = text.split(CATALOGUE_SECTION, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows.append((cells[0].strip("`"), *cells[1:]))
    return rows


def test_the_documented_table_is_the_registry():
    registry = [(m.name, m.label, m.unit, m.direction, m.trend_unit, m.definition) for m in metrics()]
    assert _docs_table() == registry


def test_every_definition_is_a_heading_of_the_metrics_doc():
    headings = re.findall(r"^#+ (.+)$", DOCS.read_text(), flags=re.MULTILINE)
    for metric in metrics():
        assert headings.count(metric.definition) == 1, metric.name


def test_the_overview_table_rows_are_catalogue_metrics():
    assert list(COMPARISON_ROWS) == [name for name, *_rest in OVERVIEW_METRICS]
    assert [metric_get(name).name for name in COMPARISON_ROWS] == list(COMPARISON_ROWS)


def test_every_tile_of_every_tab_is_a_catalogue_metric():
    tiles = {
        "leads": set(leads_present.KPI_METRICS.values()),
        "calls": {calls_present.KPI_METRICS[key] for key in calls_present.CARDS},
        "revenue": set(revenue_present.KPI_METRICS.values()),
        "campaigns": {campaigns_present.KPI_METRICS[key] for key in campaigns_present.CARDS},
    }
    shown_on_tabs = {name for names in tiles.values() for name in names}
    # every figure of TAB_SURFACES is checked below on its tab; every tile is one of them
    assert shown_on_tabs <= set(TAB_SURFACES)
    assert {name for name, *_rest in TAB_METRICS} <= set(TAB_SURFACES)


def test_an_agent_metric_needs_an_agent_and_no_other_filter(org_a):
    window = parse_range("7d", as_of=AS_OF)
    with pytest.raises(ValueError, match="agent_id"):
        metric_value("agent.totalRevenue", organization=org_a, window=window)
    with pytest.raises(ValueError, match="agent only"):
        metric_value(
            "agent.totalRevenue",
            organization=org_a,
            window=window,
            filters=MetricFilters(agent_id=1, region="North"),
        )


# --- one test per metric: the catalogue value is the number every surface shows ---------------

# Hand-computed shown values on the world below (the arithmetic in the comments).
EXPECTED = {
    # the world has no quotes: none decided, and a rate over nothing is None, never 0
    "pricing.quotesDecided": 0,
    "pricing.quoteWinRate": None,
    # calls C1 300 s, C2 90 s, C3 no duration: (300 + 90) / 2 = 195 s = 3.25 min -> 3.3 (half up)
    "calls.averageDuration": 3.3,
    # 390 s = 6.5 min -> 7 (half up; round() would give 6)
    "calls.totalMinutes": 7,
    # L1, L2, L3, L6 created in W, scores 80, 60, none, 45: 185 / 3 = 61.666... -> 61.7
    "leads.averageScore": 61.7,
    # open at 15 Mar 12:00: L2 500 + L5 700 + L6 1234.50 (L3 lost 08:00, L1 and L4 converted)
    "leads.pipelineValue": 2434.5,
    # last touch: S1 1000.00 -> K2 (T2, 11 Mar), S2 250.50 -> K1 (T4, 12 Mar); spend 100 + 50:
    # (1250.50 - 150) / 150 x 100 = 733.666... -> 733.7
    "campaigns.roi": 733.7,
    # handled in W: L1, L2, L6; converted: L1 -> 1 / 3 = 33.333...% -> 33.3
    "agent.conversionRate": 33.3,
    # S1 1000.00 + S2 250.50 in KES; S4 (EUR) is excluded, never summed
    "agent.totalRevenue": 1250.5,
    "agent.excludedSales": 1,
    # L1 contacted 1 h 15 min after assignment, L2 2 h 30 min: (1.25 + 2.5) / 2 = 1.875 h -> 1.88
    "agent.responseTimeHours": 1.88,
    # ratings 5, 4, 4: 13 / 3 = 4.333... -> 4.33 (a rating keeps two decimals)
    "agent.satisfactionScore": 4.33,
    # calls in W: C1 success, C2 failed, C3 success; none automated
    "calls.successful": 2,
    "calls.automated": 0,
    "calls.automatedShare": 0.0,  # 0 of 3 calls
    # sales in W in KES: S1 1000.00 new, S2 250.50 recurring (S4 EUR excluded): one-time = S1
    "revenue.oneTime": 1000.0,
    # leads created in W: L1 (converted), L2, L3 (lost), L6: 1 won of 2 decided
    "revenue.winRate": 50.0,
    # L1, the only lead converted in W: created 10 Mar 09:00, converted 12 Mar 09:00 -> 2 days
    "revenue.salesCycleDays": 2.0,
    # W 1250.50 against the previous window's S3 500.00: 750.50 / 500 = 150.1%
    "revenue.growthRate": 150.1,
    # K1 and K2 both sent messages in W
    "campaigns.active": 2,
    # last touch: S1 1000.00 -> K2, S2 250.50 -> K1
    "campaigns.attributedRevenue": 1250.5,
    # spend 100 + 50 over the leads K1 or K2 ever touched, L1, L2, L4: 150 / 3
    "campaigns.costPerLead": 50.0,
}

# A figure shown on a dashboard tab -> (tab, path to it in the tab's JSON, CSV table, the key
# of its tile on the page or None when it has no tile of its own).
_LEADS = {f: ("leads", ("kpis", "current", f), "kpis", f) for f in leads_present.KPI_METRICS}
_CALLS = {
    f: ("calls", ("kpis", "current", f), "kpis", f if f in calls_present.CARDS else None)
    for f in calls_present.KPI_METRICS
}
_REVENUE = {f: ("revenue", ("kpis", f), "kpis", f) for f in revenue_present.KPI_METRICS}
_CAMPAIGNS = {
    f: ("campaigns", ("totals", f), "totals", f)
    for f in campaigns_present.KPI_METRICS
    if f != "responseRate"  # the same figure as replyRate, whose tile it is
}
TAB_SURFACES = {
    **{leads_present.KPI_METRICS[f]: s for f, s in _LEADS.items()},
    **{calls_present.KPI_METRICS[f]: s for f, s in _CALLS.items()},
    **{revenue_present.KPI_METRICS[f]: s for f, s in _REVENUE.items()},
    **{campaigns_present.KPI_METRICS[f]: s for f, s in _CAMPAIGNS.items()},
}

# agent metric -> (key in the KPI answer, data-metric of the agent page's card)
AGENT_SURFACES = {
    "agent.leadsHandled": ("leadsHandled", "leads"),
    "agent.conversionRate": ("conversionRate", "conversion"),
    "agent.totalRevenue": ("totalRevenue", "revenue"),
    "agent.responseTimeHours": ("responseTimeHours", "response"),
    "agent.satisfactionScore": ("satisfactionScore", "satisfaction"),
    "agent.excludedSales": ("excludedSales", "revenue"),
}


@pytest.fixture
def world(org_a, agent_a):
    cache.clear()  # answers are cached per organization data version: start from the tables
    history = build_history(org_a, agent_a)
    l1, l2 = history["leads"]["L1"], history["leads"]["L2"]
    # L1 created 10 Mar 09:00, contacted 1 h 15 min later; L2 created 11 Mar 09:00, 2 h 30 min
    for lead, minutes, rating in ((l1, 75, 5), (l2, 150, 4)):
        lead.assigned_at = lead.created_at
        lead.contacted_at = lead.created_at + dt.timedelta(minutes=minutes)
        lead.satisfaction_rating = rating
        lead.rated_at = lead.contacted_at
        lead.save()
    LeadFactory(
        organization=org_a,
        external_id="L6",
        region="North",
        product_line="Pro",
        source="Ads",
        score=45,
        estimated_value=Decimal("1234.50"),
        created_at=at(12),
        assigned_at=at(12),
        assigned_agent=agent_a,
        satisfaction_rating=4,
        rated_at=at(13),
    )
    return history


@pytest.fixture
def frozen():
    with time_machine.travel(AS_OF, tick=False):
        yield


def _cases():
    for metric in metrics():
        yield pytest.param(metric.name, id=metric.name)


def _cell_format(metric: Metric, currency: str) -> ValueFormat:
    if metric.display_format == "money":
        return ValueFormat.money(currency)
    return ValueFormat(metric.display_format)


def _assert_on_overview_surfaces(metric: Metric, value: object, *, api, client, currency: str) -> None:
    """The overview API's data and comparison, the tab's JSON row, its CSV row and its HTML cell."""
    block, field = metric.name.split(".")
    answer = api.post("/api/analytics/overview", {"timeRange": "7d"}, format="json").json()
    tab = api.get("/api/analytics/tabs/overview", {"range": "7d"}).json()
    (row,) = [r for r in tab["comparisonRows"] if (r["metric"], r["field"]) == (block, field)]
    response = client.get("/dashboard/analytics/export/overview/comparison.csv", {"range": "7d"})
    body = b"".join(response.streaming_content).decode()
    (csv_row,) = [r for r in csv.reader(io.StringIO(body)) if r and r[0] == metric.label]
    html = client.get("/dashboard/analytics", {"range": "7d"}).content.decode()
    cell = re.search(rf'data-row="{block}-{field}">.*?<td class="num">(.*?)</td>', html, flags=re.DOTALL)

    assert answer["data"][block][field] == answer["comparisons"][block]["current"][field] == value
    assert (row["label"], row["format"], row["current"]) == (metric.label, metric.display_format, value)
    assert (None if csv_row[1] == "" else float(csv_row[1])) == value
    assert cell is not None
    assert cell.group(1).strip() == format_value(value, _cell_format(metric, currency))


def _assert_on_tab_surfaces(metric: Metric, value: object, *, api, client, currency: str) -> None:
    """The tab's JSON, the first matching row of its KPI CSV table and its tile on the page."""
    tab, path, table, tile = TAB_SURFACES[metric.name]
    payload = api.get(f"/api/analytics/tabs/{tab}", {"range": "7d"}).json()
    for key in path:
        payload = payload[key]
    response = client.get(f"/dashboard/analytics/export/{tab}/{table}.csv", {"range": "7d"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    labels = {csv_label(metric.name), csv_label(metric.name, with_change=False)}
    (csv_row,) = [r for r in rows if r and r[0] in labels]

    assert payload == value
    assert (None if csv_row[1] == "" else float(csv_row[1])) == value
    if tile is None:
        return
    html = client.get("/dashboard/analytics", {"range": "7d", "tab": tab}).content.decode()
    card = re.search(rf'data-metric="{tile}"[^>]*>(.*?)</article>', html, flags=re.DOTALL)
    assert card is not None
    label = re.search(r'class="metric__label">(.*?)</h2>', card.group(1))
    shown_value = re.search(r'class="metric__value">(?:<a [^>]*>)?(.*?)(?:</a>)?</p>', card.group(1))
    assert label is not None
    assert label.group(1) == metric.label
    assert shown_value is not None
    assert shown_value.group(1).strip() == format_value(value, _cell_format(metric, currency))


def _assert_on_agent_surfaces(metric: Metric, value: object, *, agent, api, client, currency: str) -> None:
    """The KPI answer, and the agent page's card as its own formatter writes the value."""
    key, card_key = AGENT_SURFACES[metric.name]
    kpis = api.get("/agent/analytics/kpis", {"range": "7d"}).json()["kpis"]
    client.force_login(agent)
    html = client.get("/agent/", {"range": "7d"}).content.decode()
    card = re.search(rf'data-metric="{card_key}">(.*?)</article>', html, flags=re.DOTALL)
    text = {
        "agent.leadsHandled": lambda: format_value(value, ValueFormat("integer")),
        "agent.conversionRate": lambda: format_value(value, ValueFormat("percent")),
        "agent.totalRevenue": lambda: money(value, currency),
        "agent.responseTimeHours": lambda: hours(value),
        "agent.satisfactionScore": lambda: "—" if value is None else f"{value:.2f} / 5",
        "agent.excludedSales": lambda: excluded_sales_note(value),
    }[metric.name]()

    assert kpis[key] == value
    assert card is not None
    assert text in card.group(1)


def _assert_on_pricing_page(metric: Metric, *, org, client) -> None:
    """The pricing page shows the last 90 days: 3 won and 1 lost quote decided in them, one
    open, one decided before them: 4 decided, 3 / 4 = 75.0% won."""
    product = Product.objects.create(
        organization=org, external_id="P-CAT", name="Cat", list_price=Decimal("10.00")
    )
    for n, (outcome, days) in enumerate(
        [("won", 1), ("won", 30), ("won", 89), ("lost", 2), ("open", 3), ("won", 95)]
    ):
        moment = AS_OF - dt.timedelta(days=days)
        Quote.objects.create(
            organization=org,
            external_id=f"Q{n}",
            product=product,
            quoted_at=moment - dt.timedelta(days=1),
            unit_price=Decimal("10.00"),
            outcome=outcome,
            decided_at=None if outcome == "open" else moment,
        )
    window = parse_range("90d", as_of=AS_OF)
    value = shown(metric, metric_value(metric.name, organization=org, window=window))
    assert value == {"pricing.quotesDecided": 4, "pricing.quoteWinRate": 75.0}[metric.name]
    html = client.get("/pricing").content.decode()
    card = re.search(rf'data-metric="{re.escape(metric.name)}".*?</article>', html, flags=re.S)
    assert card is not None
    assert metric.label in card.group(0)
    assert format_value(value, _cell_format(metric, org.currency)) in card.group(0)


@pytest.mark.django_db
@pytest.mark.parametrize("name", _cases())
def test_the_catalogue_value_is_the_number_on_every_surface(
    name, world, frozen, org_a, manager_a, agent_a, api_client_for, client
):
    # given a catalogue metric and the 7d window every surface below uses
    metric = metric_get(name)
    window = parse_range("7d", as_of=AS_OF)
    is_agent = name.startswith("agent.")
    filters = MetricFilters(agent_id=agent_a.pk) if is_agent else MetricFilters()

    # when it is computed through the catalogue and rounded once
    value = shown(metric, metric_value(name, organization=org_a, window=window, filters=filters))

    # then it is the hand-computed number, and the same on every surface that shows it
    if name in EXPECTED:
        assert value == EXPECTED[name]
    if is_agent:
        _assert_on_agent_surfaces(
            metric, value, agent=agent_a, api=api_client_for(agent_a), client=client, currency=org_a.currency
        )
        return
    client.force_login(manager_a)
    if name.startswith("pricing."):
        _assert_on_pricing_page(metric, org=org_a, client=client)
        return
    surfaces = {"api": api_client_for(manager_a), "client": client, "currency": org_a.currency}
    assert name in COMPARISON_ROWS or name in TAB_SURFACES, "a dashboard metric no surface shows"
    if name in COMPARISON_ROWS:
        _assert_on_overview_surfaces(metric, value, **surfaces)
    if name in TAB_SURFACES:
        _assert_on_tab_surfaces(metric, value, **surfaces)
