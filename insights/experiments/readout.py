"""An experiment's results as of a moment: the measures (insights.experiments.selectors) put
through the statistics (insights.experiments.stats), and the one JSON form of those numbers,
answered by the results endpoint and kept in the decision history (docs/experiments.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from core.api import utc_text
from insights.experiments import selectors, stats
from insights.experiments.models import Experiment, ExperimentMetric
from insights.experiments.selectors import VariantMeasure, Window

# Rates are proportions; revenue per contact is a mean of money per unit.
METRIC_KINDS: dict[str, stats.MetricKind] = {
    ExperimentMetric.REPLY_RATE: "proportion",
    ExperimentMetric.READ_RATE: "proportion",
    ExperimentMetric.CONVERSION_RATE: "proportion",
    ExperimentMetric.REVENUE_PER_CONTACT: "mean",
}


@dataclass(frozen=True)
class Readout:
    experiment: Experiment
    as_of: dt.datetime
    window: Window | None
    measures: list[VariantMeasure]
    results: stats.Results


def metric_kind(metric: str) -> stats.MetricKind:
    return METRIC_KINDS[metric]


def readout(experiment: Experiment, *, as_of: dt.datetime) -> Readout:
    """Measure the variants (one query) and analyse them (pure)."""
    measures = selectors.measures(experiment, as_of=as_of)
    counts = [
        stats.VariantCounts(
            key=m.key, n=m.n, conversions=m.conversions, value_sum=m.total, value_sum_squares=m.total_squares
        )
        for m in measures
    ]
    results = stats.analyse(
        counts,
        metric_kind=metric_kind(experiment.metric),
        alpha=experiment.alpha,
        weights=[v.weight for v in experiment.variants.all()],
        method=experiment.method,
        required_n=experiment.required_sample_size,
    )
    return Readout(
        experiment=experiment,
        as_of=as_of,
        window=selectors.measurement_window(experiment, as_of=as_of),
        measures=measures,
        results=results,
    )


def _number(value: float | None) -> float | None:
    # numpy floats are floats, but JSON and the serializers want the plain type.
    return None if value is None else float(value)


def _sequential(look: stats.SequentialLook | None) -> dict[str, Any] | None:
    if look is None:
        return None
    return {
        "informationFraction": _number(look.information_fraction),
        "boundary": _number(look.boundary),
        "pValue": _number(look.p_value),
        "pValueAdjusted": _number(look.p_value_holm),
    }


def results_payload(reading: Readout) -> dict[str, Any]:
    """The results of DESIGN section 9.4 as the API answers them (camelCase, unrounded),
    and as the decision history keeps them."""
    experiment, results = reading.experiment, reading.results
    variants = {v.key: v for v in experiment.variants.all()}
    rows = []
    for measure, result in zip(reading.measures, results.variants, strict=True):
        variant = variants[measure.key]
        rows.append(
            {
                "key": measure.key,
                "weight": variant.weight,
                "price": None if variant.price is None else float(variant.price),
                "n": measure.n,
                "conversions": measure.conversions,
                "rate": _number(result.rate),
                "ciLow": _number(result.ci_low),
                "ciHigh": _number(result.ci_high),
                "revenue": measure.total
                if experiment.metric == ExperimentMetric.REVENUE_PER_CONTACT
                else None,
                "offAssignment": measure.off_assignment,
            }
        )
    test = results.test
    return {
        "id": experiment.pk,
        "status": experiment.status,
        "kind": experiment.kind,
        "metric": experiment.metric,
        "method": experiment.method,
        "alpha": experiment.alpha,
        "asOf": utc_text(reading.as_of),
        "window": None
        if reading.window is None
        else {"start": utc_text(reading.window.start), "end": utc_text(reading.window.end)},
        "requiredSampleSize": experiment.required_sample_size,
        "variants": rows,
        "test": None
        if test is None
        else {
            "name": test.name,
            "statistic": _number(test.statistic),
            "df": _number(test.df),
            "dfDenominator": _number(test.df_denominator),
            "pValue": _number(test.p_value),
        },
        "comparisons": [
            {
                "key": c.key,
                "controlKey": c.control_key,
                "difference": _number(c.difference),
                "ciLow": _number(c.ci_low),
                "ciHigh": _number(c.ci_high),
                "statistic": _number(c.statistic),
                "pValue": _number(c.p_value),
                "pValueAdjusted": _number(c.p_value_holm),
                "sequential": _sequential(c.sequential),
            }
            for c in results.comparisons
        ],
        "bayesian": None
        if results.bayesian is None
        else [
            {
                "key": b.key,
                "probabilityBest": _number(b.probability_best),
                "expectedLoss": _number(b.expected_loss),
            }
            for b in results.bayesian
        ],
        "srm": None
        if results.srm is None
        else {"pValue": _number(results.srm.p_value), "mismatch": bool(results.srm.mismatch)},
        "decision": results.decision.status,
        "winner": results.decision.winner,
        "reason": results.decision.reason,
    }
