"""A straight-line forecast with a prediction interval (docs/metrics.md, "Revenue tab", "Forecast").

Ordinary least squares on (x, y) pairs, x being a bucket index, then for each future x the
fitted value and the t-based prediction interval of a new observation:

    y_hat(x0) +- t(1 - a/2, n - 2) * s * sqrt(1 + 1/n + (x0 - x_mean)^2 / Sxx)

with s^2 = SSE / (n - 2). The sums are exact (Fraction): an exact line has SSE = 0, so its
interval has zero width and its continuation is exact, whatever the float rounding.

The Student t quantile is scipy's (`scipy.stats.t.ppf`): exact for every df, so small samples
(df = 1, 2, 3) get their wide intervals, with no table and no normal approximation.

Pure: no ORM, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from scipy.stats import t as student_t

from core.errors import ApplicationError

Number = int | float | Decimal | Fraction

# A line through fewer points has no residual degrees of freedom (n - 2 = 0).
MIN_POINTS = 3
DEFAULT_CONFIDENCE = 0.8


class ForecastError(ApplicationError):
    """The points cannot carry a line (too few, or all at the same x). Callers check
    MIN_POINTS first (insights.tabs.revenue), so no API answer carries it today."""


@dataclass(frozen=True)
class Prediction:
    x: float
    value: float
    lower: float
    upper: float


@dataclass(frozen=True)
class LinearForecast:
    slope: float
    intercept: float
    n: int
    # the residual standard deviation s (0 for points on an exact line)
    residual_sd: float
    confidence: float
    t_quantile: float
    predictions: tuple[Prediction, ...]


def _fraction(value: Number) -> Fraction:
    # Through str: a float such as 0.1 is meant as the decimal 0.1, not its binary value.
    if isinstance(value, Fraction | int | Decimal):
        return Fraction(value)
    if not math.isfinite(value):
        raise ForecastError("values must be finite")
    return Fraction(str(value))


def linear_forecast(
    xs: Sequence[Number],
    ys: Sequence[Number],
    *,
    at: Sequence[Number],
    confidence: float = DEFAULT_CONFIDENCE,
) -> LinearForecast:
    """Fit y = intercept + slope * x by least squares and predict y at each x of `at` with
    its two-sided `confidence` prediction interval (ForecastError with fewer than 3 points
    or when every x is the same)."""
    if len(xs) != len(ys):
        raise ForecastError("xs and ys must have the same length")
    n = len(xs)
    if n < MIN_POINTS:
        raise ForecastError(f"a forecast needs at least {MIN_POINTS} points, got {n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be strictly between 0 and 1")
    x = [_fraction(v) for v in xs]
    y = [_fraction(v) for v in ys]
    x_mean, y_mean = sum(x) / n, sum(y) / n
    sxx = sum((xi - x_mean) ** 2 for xi in x)
    if sxx == 0:
        raise ForecastError("the points must not all have the same x")
    sxy = sum((xi - x_mean) * (yi - y_mean) for xi, yi in zip(x, y, strict=True))
    slope = sxy / sxx
    intercept = y_mean - slope * x_mean
    sse = sum((yi - intercept - slope * xi) ** 2 for xi, yi in zip(x, y, strict=True))
    variance = sse / (n - 2)
    t = float(student_t.ppf(1.0 - (1.0 - confidence) / 2.0, n - 2))
    predictions = []
    for raw in at:
        x0 = _fraction(raw)
        value = intercept + slope * x0
        spread = variance * (1 + Fraction(1, n) + (x0 - x_mean) ** 2 / sxx)
        half = t * math.sqrt(spread)
        predictions.append(
            Prediction(x=float(x0), value=float(value), lower=float(value) - half, upper=float(value) + half)
        )
    return LinearForecast(
        slope=float(slope),
        intercept=float(intercept),
        n=n,
        residual_sd=math.sqrt(variance),
        confidence=confidence,
        t_quantile=t,
        predictions=tuple(predictions),
    )
