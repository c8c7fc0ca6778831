"""The results region of an experiment's page, from its read-out (insights.experiments.readout):
rows per variant and per comparison with the control, the test, the sample-ratio check, the
decision, the rate chart and the forest plot's intervals (docs/experiments.md, "Pages").

Pure: no ORM (the experiment's variants are prefetched by selectors.experiment_get), no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from core.display import MISSING
from insights.experiments import stats
from insights.experiments.display.words import (
    UNITS,
    Units,
    df_text,
    headline,
    number_text,
    p_phrase,
    p_text,
    share_text,
    units_of,
)
from insights.experiments.forest import ForestPlot, Interval, forest_plot
from insights.experiments.models import Decision, ExperimentKind, ExperimentMethod, ExperimentStatus
from insights.experiments.readout import Readout
from reports.charts import BarChart, Point, Series

NOTHING_YET = {
    ExperimentKind.CAMPAIGN: "No messages delivered for this experiment yet",
    ExperimentKind.PRICING: "No quotes for this product since the experiment started yet",
}
NOT_STARTED = {
    ExperimentKind.CAMPAIGN: "Nothing is measured before the experiment starts: the campaign's "
    "messages sent from the start on count. Start it when the variants go out.",
    ExperimentKind.PRICING: "Nothing is measured before the experiment starts: the product's "
    "quotes from the start on count, each contact at the price the assignment gives them.",
}
DECISION_SENSE = {
    Decision.KEEP_RUNNING: "running",
    Decision.STOP_WINNER: "winner",
    Decision.STOP_NO_DIFFERENCE: "none",
}
# The forest plot takes the page's width (a full-width card): its text stays near 12px.
FOREST_WIDTH = 960


@dataclass(frozen=True)
class Progress:
    key: str
    n: int
    required: int
    percent: float  # of the planned n, 0-100 (the bar stops at 100)


def progress_rows(counts: Iterable[tuple[str, int]], *, required: int) -> list[Progress]:
    """Each variant's observations against the planned n per variant."""
    return [
        Progress(key=key, n=n, required=required, percent=round(min(n / required, 1.0) * 100, 1))
        for key, n in counts
    ]


@dataclass(frozen=True)
class VariantRow:
    key: str
    control: bool
    winner: bool
    weight: str
    price: Decimal | None
    progress: Progress
    conversions: int
    rate: str
    interval: str
    off_assignment: int | None
    probability_best: str | None
    expected_loss: str | None


@dataclass(frozen=True)
class SequentialView:
    information: str
    boundary: str
    z: str
    crossed: bool
    alpha_spent: str
    p_value: str


@dataclass(frozen=True)
class ComparisonRow:
    key: str
    control_key: str
    difference: str
    interval: str
    statistic: str
    p_value: str
    p_holm: str
    significant: bool
    sequential: SequentialView | None


@dataclass(frozen=True)
class TestView:
    name: str
    statistic: str
    df: str
    p_value: str


@dataclass(frozen=True)
class SrmView:
    p_value: str  # "p = 0.8311"
    mismatch: bool
    planned: str  # "A 50.0%, B 50.0%"
    observed: str


@dataclass(frozen=True)
class ResultsView:
    as_of: dt.datetime
    live: bool  # running: the region refreshes itself
    measured: bool  # a window exists (the experiment started, or reads the whole campaign)
    has_data: bool
    empty_message: str
    n_label: str
    conversions_label: str
    metric_label: str
    confidence: str  # "95%"
    rows: tuple[VariantRow, ...]
    comparisons: tuple[ComparisonRow, ...]
    bayesian: bool
    sequential: bool
    test: TestView | None
    srm: SrmView | None
    decision_status: str
    decision_sense: str
    decision_headline: str
    decided: bool
    statistic_label: str  # "z" or "t"
    difference_unit: str  # "percentage points", or the currency of revenue per contact
    decision_reason: str
    winner: str | None
    progress_percent: float  # the least advanced variant's
    smallest: Progress | None
    chart: BarChart
    forest: ForestPlot | None


def _sequential(
    look: stats.SequentialLook | None, statistic: float | None, alpha: float
) -> SequentialView | None:
    if look is None:
        return None
    crossed = look.boundary is not None and statistic is not None and abs(statistic) >= look.boundary
    return SequentialView(
        information=f"{look.information_fraction:.0%}",
        boundary=MISSING if look.boundary is None else f"|z| ≥ {look.boundary:.2f}",
        z=MISSING if statistic is None else f"{abs(statistic):.2f}",
        crossed=crossed,
        alpha_spent=f"{stats.alpha_spent(look.information_fraction, alpha=alpha):.4f}",
        p_value=p_text(look.p_value_holm),
    )


def rate_chart(reading: Readout, units: Units, *, metric_label: str, n_label: str) -> BarChart:
    points = tuple(
        Point(
            result.key,
            units.scaled(result.rate),
            tooltip=f"{units.interval(result.ci_low, result.ci_high)} ({result.n:,} {n_label})",
        )
        for result in reading.results.variants
    )
    return BarChart(
        f"{metric_label} by variant",
        (Series(metric_label, points),),
        units.value_format,
        category_label="Variant",
        value_label=metric_label,
    )


def forest_of(reading: Readout, units: Units) -> ForestPlot | None:
    """The differences from the control with their intervals; None while none has one."""
    comparisons = reading.results.comparisons
    if not comparisons or all(c.difference is None for c in comparisons):
        return None
    return forest_plot(
        width=FOREST_WIDTH,
        intervals=[
            Interval(
                label=c.key,
                estimate=units.scaled(c.difference),
                low=units.scaled(c.ci_low),
                high=units.scaled(c.ci_high),
                text=f"{units.difference(c.difference)} ({units.bounds(c.ci_low, c.ci_high)})",
            )
            for c in comparisons
        ],
    )


def results_view(reading: Readout, *, currency: str) -> ResultsView:
    experiment, results = reading.experiment, reading.results
    units = units_of(experiment, currency)
    n_label, conversions_label = UNITS[(experiment.kind, experiment.metric)]
    metric_label = experiment.get_metric_display()
    variants = list(experiment.variants.all())
    bayesian = {b.key: b for b in results.bayesian or ()}
    decided = experiment.status == ExperimentStatus.DECIDED
    winner = (experiment.winner_key or None) if decided else results.decision.winner
    progress = progress_rows(
        ((m.key, m.n) for m in reading.measures), required=experiment.required_sample_size
    )
    rows = tuple(
        VariantRow(
            key=result.key,
            control=i == 0,
            winner=result.key == winner,
            weight=share_text(variant.weight),
            price=variant.price,
            progress=bar,
            conversions=measure.conversions,
            rate=units.value(result.rate),
            interval=units.interval(result.ci_low, result.ci_high),
            off_assignment=measure.off_assignment,
            probability_best=share_text(bayesian[result.key].probability_best) if bayesian else None,
            expected_loss=units.loss(bayesian[result.key].expected_loss) if bayesian else None,
        )
        for i, (result, measure, variant, bar) in enumerate(
            zip(results.variants, reading.measures, variants, progress, strict=True)
        )
    )
    comparisons = tuple(
        ComparisonRow(
            key=c.key,
            control_key=c.control_key,
            difference=units.difference(c.difference),
            interval=units.interval(c.ci_low, c.ci_high, difference=True),
            statistic=number_text(c.statistic),
            p_value=p_text(c.p_value),
            p_holm=p_text(c.p_value_holm),
            significant=c.p_value_holm is not None and c.p_value_holm < results.alpha,
            sequential=_sequential(c.sequential, c.statistic, results.alpha),
        )
        for c in results.comparisons
    )
    test = results.test
    srm = results.srm
    has_data = any(m.n for m in reading.measures)
    smallest = min(progress, key=lambda p: (p.n, p.key)) if progress else None
    status = experiment.decision if decided else results.decision.status
    return ResultsView(
        as_of=reading.as_of,
        live=experiment.status == ExperimentStatus.RUNNING,
        measured=reading.window is not None,
        has_data=has_data,
        empty_message=NOTHING_YET[experiment.kind]
        if reading.window is not None
        else NOT_STARTED[experiment.kind],
        n_label=n_label,
        conversions_label=conversions_label,
        metric_label=metric_label,
        confidence=f"{(1 - results.alpha) * 100:g}%",
        rows=rows,
        comparisons=comparisons,
        bayesian=bool(bayesian),
        sequential=experiment.method == ExperimentMethod.SEQUENTIAL,
        test=None
        if test is None
        else TestView(test.name, number_text(test.statistic), df_text(test.df), p_text(test.p_value)),
        srm=None
        if srm is None
        else SrmView(
            p_value=p_phrase(srm.p_value),
            mismatch=bool(srm.mismatch),
            planned=", ".join(f"{v.key} {share_text(v.weight)}" for v in variants),
            observed=_observed_split(reading),
        ),
        decision_status=status,
        decision_sense=DECISION_SENSE.get(status, "running"),
        decision_headline=headline(status, winner, control_key=variants[0].key if variants else ""),
        decided=decided,
        statistic_label="z" if units.kind == "proportion" else "t",
        difference_unit="percentage points" if units.kind == "proportion" else currency,
        decision_reason=experiment.decision_reason if decided else results.decision.reason,
        winner=winner,
        progress_percent=smallest.percent if smallest else 0.0,
        smallest=smallest,
        chart=rate_chart(reading, units, metric_label=metric_label, n_label=n_label),
        forest=forest_of(reading, units),
    )


def _observed_split(reading: Readout) -> str:
    total = sum(m.n for m in reading.measures)
    if not total:
        return MISSING
    return ", ".join(f"{m.key} {share_text(m.n / total)}" for m in reading.measures)
