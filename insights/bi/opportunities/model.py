"""The calibrated confidence of an opportunity: training set, model, fallback and calibration
report (pure: numpy, pandas and scikit-learn; no ORM, no clock).

Definitions (docs/metrics.md, "Opportunities", "Confidence"):

- Training set: the signals of past reference times T = as_of - HORIZON_DAYS - k x
  SNAPSHOT_STEP_DAYS (k = 0 .. MAX_SNAPSHOTS - 1, T at least WARMUP_DAYS after the first
  sale), each computed from the data before T only. A signal *converted* when a sale of one
  of its type's CONVERTING_KINDS to the same contact closed in [T, T + HORIZON_DAYS) (a
  cross-sell also when the contact bought its recommended line as `new` or `one_time`).
  Snapshots end HORIZON_DAYS before as_of, so every label is known at as_of.
- Model: one logistic regression per organization on the standardised FEATURES, with the
  type as a feature (one indicator per type and every feature crossed with it, so a feature
  may matter for one type and not another), L2 penalty C = MODEL_C (strong enough that a
  pattern seen on a few dozen signals does not get near-certain confidences), solved
  exactly by Newton's method with a Cholesky step (deterministic; RANDOM_STATE is fixed for
  completeness). Logistic regression fits probabilities by maximum likelihood: with its
  unpenalised intercept the mean confidence over the training set equals its conversion
  rate, and each type's nearly so; the calibration test checks the rest.
- Fallback: a type with fewer than MIN_TYPE_EXAMPLES examples, or fewer than
  MIN_TYPE_OUTCOMES converted or not converted ones, is not modelled: its confidence is the
  smoothed historical rate (converted + PRIOR_STRENGTH x prior) / (examples + PRIOR_STRENGTH),
  which is the documented PRIOR_RATES value when there is no history at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from insights.bi.opportunities.rules import (
    CROSS_SELL,
    EXPANSION,
    FEATURES,
    RENEWAL,
    SIGNAL_TYPES,
    UPSELL,
    WIN_BACK,
)

HORIZON_DAYS = 60
SNAPSHOT_STEP_DAYS = 30
MAX_SNAPSHOTS = 12
# The first snapshot is this long after the first sale, so customers have a history.
WARMUP_DAYS = 60

MODEL = "model"
FALLBACK = "fallback"
MIN_TYPE_EXAMPLES = 100
MIN_TYPE_OUTCOMES = 20
MODEL_C = 0.1
RANDOM_STATE = 0
# One BLAS thread: the matrices are small (thousands of rows, about a hundred columns), the
# workers run one organization per process, and several BLAS threads on a busy machine were
# measured 30 times slower (spinning). Single-threaded sums are also reproducible.
BLAS_THREADS = 1
# Conversion rate assumed for a type with no history (pseudo-counts PRIOR_STRENGTH): a
# contract due for renewal usually renews; the selling signals convert about one in ten;
# a lapsed contact who wrote again comes back rarely.
PRIOR_RATES = {UPSELL: 0.10, CROSS_SELL: 0.08, RENEWAL: 0.70, EXPANSION: 0.10, WIN_BACK: 0.05}
PRIOR_STRENGTH = 20

ANY_KIND = "*"
CONVERTING_KINDS: dict[str, tuple[str, ...]] = {
    UPSELL: ("upsell",),
    CROSS_SELL: ("cross_sell",),
    RENEWAL: ("renewal", "recurring"),
    EXPANSION: ("expansion",),
    WIN_BACK: (ANY_KIND,),
}
# A cross-sell also converts when the recommended line is bought as one of these kinds.
CROSS_SELL_LINE_KINDS = ("new", "one_time")


def training_snapshots(*, as_of: dt.datetime, first_sale_at: dt.datetime | None) -> list[dt.datetime]:
    """The reference times of the training set, oldest first (empty without sales)."""
    if first_sale_at is None:
        return []
    earliest = first_sale_at + dt.timedelta(days=WARMUP_DAYS)
    times = []
    for k in range(MAX_SNAPSHOTS):
        t = as_of - dt.timedelta(days=HORIZON_DAYS + k * SNAPSHOT_STEP_DAYS)
        if t < earliest:
            break
        times.append(t)
    return sorted(times)


def signal_labels(signals: pd.DataFrame, outcomes: pd.DataFrame) -> np.ndarray:
    """Whether each signal converted, given the sales of the horizon after its reference time
    (`outcomes`: contact_id, kind, product_line, n)."""
    if signals.empty:
        return np.zeros(0, dtype=bool)
    keyed = (
        signals[["contact_id", "type", "recommended_line"]].reset_index(drop=True).reset_index(names="row")
    )
    joined = keyed.merge(outcomes, on="contact_id", how="inner")
    if joined.empty:
        return np.zeros(len(signals), dtype=bool)
    hit = np.zeros(len(joined), dtype=bool)
    for signal_type, kinds in CONVERTING_KINDS.items():
        of_type = (joined["type"] == signal_type).to_numpy()
        if ANY_KIND in kinds:
            hit |= of_type
            continue
        matches = joined["kind"].isin(kinds).to_numpy()
        if signal_type == CROSS_SELL:
            line = (joined["product_line"] == joined["recommended_line"]).to_numpy()
            matches |= joined["kind"].isin(CROSS_SELL_LINE_KINDS).to_numpy() & line
        hit |= of_type & matches
    return np.isin(np.arange(len(signals)), joined.loc[hit, "row"].to_numpy())


def training_frame(snapshots: Iterable[tuple[dt.datetime, pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    """(reference time, its signals, the sales of the horizon after it) -> labelled examples."""
    frames = []
    for at, signals, outcomes in snapshots:
        if signals.empty:
            continue
        frames.append(signals.assign(snapshot=at, converted=signal_labels(signals, outcomes)))
    if not frames:
        return pd.DataFrame(columns=["contact_id", "type", *FEATURES, "snapshot", "converted"])
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class TypeHistory:
    examples: int
    converted: int
    method: str
    # The smoothed historical rate (the fallback confidence, also shown for modelled types).
    smoothed_rate: float


def smoothed_rate(*, signal_type: str, examples: int, converted: int) -> float:
    prior = PRIOR_RATES[signal_type]
    return (converted + PRIOR_STRENGTH * prior) / (examples + PRIOR_STRENGTH)


def type_histories(training: pd.DataFrame) -> dict[str, TypeHistory]:
    histories = {}
    for signal_type in SIGNAL_TYPES:
        labels = training.loc[training["type"] == signal_type, "converted"].astype(bool)
        examples, converted = int(labels.size), int(labels.sum())
        enough = (
            examples >= MIN_TYPE_EXAMPLES
            and converted >= MIN_TYPE_OUTCOMES
            and examples - converted >= MIN_TYPE_OUTCOMES
        )
        histories[signal_type] = TypeHistory(
            examples=examples,
            converted=converted,
            method=MODEL if enough else FALLBACK,
            smoothed_rate=smoothed_rate(signal_type=signal_type, examples=examples, converted=converted),
        )
    return histories


def design_matrix(frame: pd.DataFrame, types: tuple[str, ...]) -> np.ndarray:
    """One indicator per type and each feature crossed with it (a row's other blocks are 0)."""
    x = frame[list(FEATURES)].to_numpy(dtype=float)
    blocks = []
    for signal_type in types:
        indicator = (frame["type"] == signal_type).to_numpy(dtype=float)[:, None]
        blocks.extend([indicator, x * indicator])
    return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))


@dataclass(frozen=True)
class ConfidenceModel:
    histories: Mapping[str, TypeHistory]
    modelled_types: tuple[str, ...] = ()
    estimator: Pipeline | None = field(default=None, compare=False)

    def method(self, signal_type: str) -> str:
        return MODEL if signal_type in self.modelled_types else FALLBACK

    def probabilities(self, signals: pd.DataFrame) -> np.ndarray:
        """The probability that each signal converts within HORIZON_DAYS."""
        result = np.array([self.histories[t].smoothed_rate for t in signals["type"]], dtype=float)
        if self.estimator is None or signals.empty:
            return result
        modelled = signals["type"].isin(self.modelled_types).to_numpy()
        if modelled.any():
            x = design_matrix(signals[modelled], self.modelled_types)
            with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
                result[modelled] = self.estimator.predict_proba(x)[:, 1]
        return result


def confidence_model_fit(training: pd.DataFrame) -> ConfidenceModel:
    histories = type_histories(training)
    modelled = tuple(t for t in SIGNAL_TYPES if histories[t].method == MODEL)
    if not modelled:
        return ConfidenceModel(histories=histories)
    rows = training[training["type"].isin(modelled)]
    estimator = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=MODEL_C, solver="newton-cholesky", max_iter=200, random_state=RANDOM_STATE),
    )
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        estimator.fit(design_matrix(rows, modelled), rows["converted"].astype(int).to_numpy())
    return ConfidenceModel(histories=histories, modelled_types=modelled, estimator=estimator)


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    count: int
    mean_predicted: float
    observed_rate: float


@dataclass(frozen=True)
class CalibrationReport:
    bins: tuple[CalibrationBin, ...]
    count: int
    brier: float
    base_rate: float
    # The Brier score of always predicting base_rate (the observed rate): what to beat.
    base_rate_brier: float


def calibration_report(
    *, converted: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> CalibrationReport:
    """Predicted probability against observed frequency in `bins` equal-width bins of
    [0, 1] (a probability on an inner edge goes to the upper bin; 1.0 to the last), with the
    Brier score (mean squared error of the probabilities) and that of the base rate."""
    y = np.asarray(converted, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if y.size == 0:
        return CalibrationReport(
            bins=(), count=0, brier=float("nan"), base_rate=float("nan"), base_rate_brier=float("nan")
        )
    index = np.minimum((p * bins).astype(int), bins - 1)
    result = []
    for b in range(bins):
        member = index == b
        if not member.any():
            continue
        result.append(
            CalibrationBin(
                low=b / bins,
                high=(b + 1) / bins,
                count=int(member.sum()),
                mean_predicted=float(p[member].mean()),
                observed_rate=float(y[member].mean()),
            )
        )
    base = float(y.mean())
    return CalibrationReport(
        bins=tuple(result),
        count=int(y.size),
        brier=float(np.mean((p - y) ** 2)),
        base_rate=base,
        base_rate_brier=float(np.mean((base - y) ** 2)),
    )
