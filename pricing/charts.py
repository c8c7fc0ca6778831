"""The charts of a suggestion's review (reports.charts specs, the product's one charting)."""

from __future__ import annotations

from pricing.models import PricingSuggestion
from reports.charts import Band, BandPoint, LineChart, Point, Series, ValueFormat, format_value


def _labels(suggestion: PricingSuggestion) -> list[str]:
    """Each curve point's price as an axis label; the points nearest the current and the
    suggested price say so."""
    money = ValueFormat.money(suggestion.currency)
    curve = suggestion.analysis.get("curve", [])
    prices = [point["price"] for point in curve]
    marks: dict[int, str] = {}
    for name, target in (
        ("current", float(suggestion.current_price)),
        ("suggested", float(suggestion.suggested_price)),
    ):
        if prices:
            nearest = min(range(len(prices)), key=lambda i: abs(prices[i] - target))
            marks[nearest] = f"{marks[nearest]}, {name}" if nearest in marks else name
    return [
        f"{format_value(price, money)}" + (f" ({marks[i]})" if i in marks else "")
        for i, price in enumerate(prices)
    ]


def win_probability_chart(suggestion: PricingSuggestion) -> LineChart | None:
    curve = suggestion.analysis.get("curve", [])
    if not curve:
        return None
    labels = _labels(suggestion)
    return LineChart(
        title="Chance of winning a quote by price (90% interval shaded)",
        series=(
            Series(
                "Win probability",
                tuple(
                    Point(label, p["winProbability"] * 100) for label, p in zip(labels, curve, strict=True)
                ),
            ),
        ),
        value_format=ValueFormat("percent"),
        x_label=f"Unit price ({suggestion.currency})",
        y_label="Win probability",
        band=Band(
            "90% interval",
            tuple(
                BandPoint(label, p["low"] * 100, p["high"] * 100)
                for label, p in zip(labels, curve, strict=True)
            ),
        ),
    )


def revenue_chart(suggestion: PricingSuggestion) -> LineChart | None:
    curve = suggestion.analysis.get("curve", [])
    if not curve:
        return None
    labels = _labels(suggestion)
    return LineChart(
        title="Expected revenue from new quotes over the next 90 days, by price",
        series=(
            Series(
                "Expected revenue",
                tuple(Point(label, p["expectedRevenue"]) for label, p in zip(labels, curve, strict=True)),
            ),
        ),
        value_format=ValueFormat.money(suggestion.currency),
        x_label=f"Unit price ({suggestion.currency})",
        y_label="Expected revenue",
    )
