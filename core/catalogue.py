"""The metric catalogue (docs/metrics.md, "Metric catalogue"; issue 11, DESIGN section 9.8).

Every number the product shows is one `Metric`: a unique dotted name, a label, a unit, a
direction, the heading of its definition in docs/metrics.md, and one function computing its
unrounded value. Pages, API answers and exports take their label and unit from here; alerts,
reports and live metrics pick a metric by name (`metric_value`).

Rules that follow from the unit, so nobody chooses them twice:
- rounding (`shown`): half up (core.metrics.round_half_up), money, ratings and hours two decimals,
  percent, number, minutes and days one, counts none (docs/metrics.md, "Shared rules");
- trend unit (`Metric.trend_unit`): percentage points for a percent, relative % otherwise.

Apps register their metrics in their AppConfig.ready (`<app>/catalogue.py: register()`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from core.display import PERCENT, POINTS
from core.metrics import round_half_up, trend_percent, trend_points

if TYPE_CHECKING:
    from core.timeranges import Window
    from crm.models import Organization

Value = Decimal | int | None

UNITS = ("count", "money", "percent", "number", "rating", "hours", "minutes", "days")
DIRECTIONS = ("higher_is_better", "lower_is_better", "neutral")

# Decimals shown per unit. Days (a median time to convert) keep one, as every mean. Hours keep two (docs/metrics.md "Shared rules": "hours and money
# two"; the agent API and page show response time as 1.25 h).
# A rating is a mean of 1-5 satisfaction ratings: two decimals (DESIGN section 6), because one
# would hide most differences on so short a scale.
PLACES = {"count": 0, "money": 2, "percent": 1, "number": 1, "rating": 2, "hours": 2, "minutes": 1, "days": 1}

# How a table cell formats the unit (reports.charts.ValueFormat kinds): a mean of minutes or
# hours is a plain number there, its unit is in the label.
DISPLAY_FORMATS = {
    "count": "integer",
    "money": "money",
    "percent": "percent",
    "number": "number",
    "rating": "number",
    "hours": "number",
    "minutes": "number",
    "days": "number",
}

# "block.field": lower-case first letter, letters and digits, at least one dot.
NAME = re.compile(r"^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+$")


@dataclass(frozen=True)
class MetricFilters:
    """What a metric may be narrowed to; "" / None mean "all". Each app converts it to its
    own filter type; a metric that cannot honour a filter refuses it (ValueError) rather
    than answer an unfiltered number."""

    region: str = ""
    product_line: str = ""
    source: str = ""
    agent_id: int | None = None


Compute = Callable[["Organization", "Window", MetricFilters], Value]


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str
    direction: str
    # The heading in docs/metrics.md under which the metric is defined (e.g. "Calls").
    definition: str
    # (organization, window, filters) -> the unrounded value; `shown` rounds it.
    compute: Compute = field(compare=False, repr=False)

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"Metric name {self.name!r} is not dotted camelCase (e.g. 'revenue.total').")
        if self.unit not in UNITS:
            raise ValueError(f"Metric {self.name}: unit {self.unit!r}; use one of {', '.join(UNITS)}.")
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"Metric {self.name}: direction {self.direction!r}; use one of {', '.join(DIRECTIONS)}."
            )

    @property
    def trend_unit(self) -> str:
        """A rate's change is in percentage points, never a percent of a percent."""
        return POINTS if self.unit == "percent" else PERCENT

    @property
    def display_format(self) -> str:
        return DISPLAY_FORMATS[self.unit]

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower_is_better"


_registry: dict[str, Metric] = {}


def metric_register(metric: Metric) -> Metric:
    """Add `metric`; a second metric with the same name is refused (names are unique)."""
    if metric.name in _registry:
        raise ValueError(f"Metric {metric.name!r} is already registered.")
    _registry[metric.name] = metric
    return metric


def metric_get(name: str) -> Metric:
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"No metric {name!r}; registered: {', '.join(sorted(_registry))}.") from None


def metrics() -> tuple[Metric, ...]:
    """Every registered metric, in registration order."""
    return tuple(_registry.values())


def shown(metric: Metric, value: Decimal | float | int | None) -> float | int | None:
    """`value` as every surface shows it: rounded half up once, by the metric's unit."""
    places = PLACES[metric.unit]
    rounded = round_half_up(value, places)
    if rounded is None or places:
        return rounded
    return int(rounded)


def metric_change(metric: Metric, current: Value, previous: Value) -> float | None:
    """The change of `metric` from `previous` to `current` (unrounded values, DESIGN section
    4) in its trend unit: points for a rate, never a percent of a percent; else relative."""
    if metric.trend_unit == POINTS:
        return trend_points(current, previous)
    return trend_percent(current=current, previous=previous)


def metric_value(
    name: str, *, organization: Organization, window: Window, filters: MetricFilters | None = None
) -> Value:
    """The unrounded value of metric `name` over `window` (for alerts, reports, live updates)."""
    return metric_get(name).compute(organization, window, filters or MetricFilters())
