"""The shared helpers of insights.tabs.present: one rounding (by catalogue unit), one label
and one trend rule for every tab's KPI tiles and CSV rows. No database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.display import Trend
from insights.tabs.present import count_text, csv_label, metric_card, percent_text, shown_figures
from reports.charts import ValueFormat


def test_shown_figures_rounds_each_figure_once_by_its_catalogue_unit():
    # given unrounded figures: 4 of 7 converted = 57.142857...%, a mean score of 59.25, a
    # pipeline of 1700.005, and a count with no metric of its own
    figures = {
        "conversionRate": Decimal(4) / 7 * 100,
        "averageScore": Decimal("59.25"),
        "pipelineValue": Decimal("1700.005"),
        "lost": 2,
    }
    names = {
        "conversionRate": "leads.conversionRate",
        "averageScore": "leads.averageScore",
        "pipelineValue": "leads.pipelineValue",
    }

    # when they are shown
    shown = shown_figures(figures, names)

    # then percent and number keep one decimal, money two, half up; the count is as it is
    assert shown == {"conversionRate": 57.1, "averageScore": 59.3, "pipelineValue": 1700.01, "lost": 2}


def test_shown_figures_keeps_a_missing_rate_null():
    assert shown_figures({"conversionRate": None}, {"conversionRate": "leads.conversionRate"}) == {
        "conversionRate": None
    }


def test_a_fraction_without_a_catalogue_metric_is_refused():
    # a non-integer figure must be rounded by some unit: without a metric there is none
    with pytest.raises(TypeError, match="give it a catalogue metric"):
        shown_figures({"share": Decimal("12.25")}, {})


@pytest.mark.parametrize(
    ("name", "with_change", "expected"),
    [
        ("leads.conversionRate", True, "Lead conversion rate % (trend in points)"),
        ("revenue.growthRate", False, "Growth rate %"),
        ("leads.pipelineValue", True, "Lead pipeline value"),
        ("calls.averageDuration", True, "Average call duration (min)"),
    ],
)
def test_csv_label_is_the_catalogue_label_and_says_a_rates_units(name, with_change, expected):
    assert csv_label(name, with_change=with_change) == expected


@pytest.mark.parametrize(
    ("name", "change", "trend"),
    [
        ("leads.conversionRate", 7.1, Trend("▲", "+7.1 pts", "good")),  # a rate: points
        ("leads.total", 250.0, Trend("▲", "+250.0%", "good")),
        # a shorter sales cycle is good news
        ("revenue.salesCycleDays", -58.3, Trend("▼", "-58.3%", "good")),
        ("campaigns.costPerLead", 10.0, Trend("▲", "+10.0%", "bad")),
        ("leads.total", None, Trend("", "—", "none")),
    ],
)
def test_metric_card_takes_label_format_and_trend_unit_from_the_catalogue(name, change, trend):
    card = metric_card(name, currency="KES", value=1, change=change, key="k", note="n")
    assert card["trend"] == trend
    assert (card["key"], card["note"], card["metric"]) == ("k", "n", name)


def test_metric_card_formats_money_in_the_organizations_currency():
    card = metric_card("revenue.total", currency="KES", value=2200.0)
    assert (card["label"], card["format"]) == ("Revenue", ValueFormat.money("KES"))
    assert metric_card("revenue.salesCycleDays", currency="KES", value=5.0)["format"] == ValueFormat("number")


def test_a_card_without_a_trend():
    assert metric_card("revenue.growthRate", currency="KES", value=144.4, with_trend=False)["trend"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (percent_text(57.1), "57.1%"),
        (percent_text(None), "—"),
        (count_text(1204), "1,204"),
        (count_text(None), "—"),
    ],
)
def test_text_goes_through_the_one_formatter(text, expected):
    assert text == expected
