"""Numbers in words for the experiment pages: the one place they are rounded for people (rates
with one decimal, differences in percentage points, "pts" as the dashboards write a rate's
change, p-values with four decimals, money with the organization's currency), and the labels
of methods, units and decisions (docs/experiments.md, "Pages"). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.display import MISSING
from insights.experiments import stats
from insights.experiments.models import (
    Decision,
    Experiment,
    ExperimentKind,
    ExperimentMethod,
    ExperimentMetric,
)
from insights.experiments.readout import metric_kind
from reports.charts import ValueFormat, format_value, no_negative_zero

# One line each, on the form and on the experiment's page.
METHOD_HELP = {
    ExperimentMethod.FREQUENTIST: "A fixed-sample test: read once, when every variant has its planned "
    "number of observations.",
    ExperimentMethod.BAYESIAN: "The probability that each variant is best and what choosing it risks; "
    "stops when one is best with 95% probability at a negligible expected loss (rates only).",
    ExperimentMethod.SEQUENTIAL: "Safe to look at any time: an O'Brien-Fleming-type boundary keeps the "
    "error rate at alpha however often the results are read, so a clear winner can stop early.",
}
# What a variant's n and its conversions count, per kind and metric.
UNITS: dict[tuple[str, str], tuple[str, str]] = {
    (ExperimentKind.CAMPAIGN, ExperimentMetric.REPLY_RATE): ("delivered messages", "replies"),
    (ExperimentKind.CAMPAIGN, ExperimentMetric.READ_RATE): ("delivered messages", "reads"),
    (ExperimentKind.CAMPAIGN, ExperimentMetric.CONVERSION_RATE): ("messaged contacts", "converted"),
    (ExperimentKind.CAMPAIGN, ExperimentMetric.REVENUE_PER_CONTACT): ("messaged contacts", "buyers"),
    (ExperimentKind.PRICING, ExperimentMetric.CONVERSION_RATE): ("decided quotes", "won"),
    (ExperimentKind.PRICING, ExperimentMetric.REVENUE_PER_CONTACT): ("quoted contacts", "buyers"),
}


@dataclass(frozen=True)
class Units:
    """How one experiment's values read: a rate in percent and its differences in points, or
    money per contact."""

    kind: stats.MetricKind
    currency: str

    @property
    def value_format(self) -> ValueFormat:
        return ValueFormat("percent") if self.kind == "proportion" else ValueFormat.money(self.currency)

    def scaled(self, value: float | None) -> float | None:
        """A rate (0-1) as percent; money as it is."""
        if value is None:
            return None
        return value * 100 if self.kind == "proportion" else value

    def value(self, value: float | None) -> str:
        return format_value(self.scaled(value), self.value_format)

    def difference(self, value: float | None) -> str:
        if value is None:
            return MISSING
        if self.kind == "proportion":
            points = no_negative_zero(value * 100, 1)
            return f"{points:+.1f} pts"
        amount = no_negative_zero(value, 2)
        return f"{'+' if amount >= 0 else '-'}{self.currency} {abs(amount):,.2f}"

    def loss(self, value: float) -> str:
        """An expected loss (never negative): rate points given up, two decimals."""
        return (
            f"{value * 100:.2f} pts" if self.kind == "proportion" else format_value(value, self.value_format)
        )

    def bounds(self, low: float | None, high: float | None) -> str:
        """An interval of differences without the unit, for a label beside the estimate:
        "+9.3 to +20.6"."""
        if low is None or high is None:
            return MISSING
        if self.kind == "proportion":
            return f"{no_negative_zero(low * 100, 1):+.1f} to {no_negative_zero(high * 100, 1):+.1f}"
        return f"{no_negative_zero(low, 2):+,.2f} to {no_negative_zero(high, 2):+,.2f}"

    def interval(self, low: float | None, high: float | None, *, difference: bool = False) -> str:
        if low is None or high is None:
            return MISSING
        shown = self.difference if difference else self.value
        return f"{shown(low)} to {shown(high)}"


def p_text(p: float | None) -> str:
    if p is None:
        return MISSING
    return "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def p_phrase(p: float | None, label: str = "p") -> str:
    """ "p = 0.0123" or "p < 0.0001", for sentences."""
    if p is None:
        return f"{label} {MISSING}"
    return f"{label} < 0.0001" if p < 0.0001 else f"{label} = {p:.4f}"


def number_text(value: float | None, decimals: int = 3) -> str:
    return MISSING if value is None else f"{value:,.{decimals}f}"


def df_text(value: float | None) -> str:
    if value is None:
        return MISSING
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def share_text(value: float | None) -> str:
    return MISSING if value is None else f"{value * 100:.1f}%"


def units_of(experiment: Experiment, currency: str) -> Units:
    return Units(kind=metric_kind(experiment.metric), currency=currency)


def headline(status: str, winner: str | None, *, control_key: str) -> str:
    """The decision in three or four words."""
    if status == Decision.STOP_WINNER and winner:
        return f"The control ({winner}) wins" if winner == control_key else f"Variant {winner} wins"
    if status == Decision.STOP_NO_DIFFERENCE:
        return "No difference"
    return "Keep running"
