"""A straight-line forecast with a prediction interval (docs/metrics.md, "Revenue tab", "Forecast").

Ordinary least squares on (x, y) pairs, x being a bucket index, then for each future x the
fitted value and the t-based prediction interval of a new observation:

    y_hat(x0) +- t(1 - a/2, n - 2) * s * sqrt(1 + 1/n + (x0 - x_mean)^2 / Sxx)

with s^2 = SSE / (n - 2). The sums are exact (Fraction): an exact line has SSE = 0, so its
interval has zero width and its continuation is exact, whatever the float rounding.

scipy is not a dependency: the Student t quantile is computed here, exactly, by inverting
the t distribution function (the regularized incomplete beta function, Numerical Recipes'
continued fraction) by bisection. No table and no normal approximation, so small samples
(df = 1, 2, 3) get their wide intervals.

Pure: no ORM, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

Number = int | float | Decimal | Fraction

# A line through fewer points has no residual degrees of freedom (n - 2 = 0).
MIN_POINTS = 3
DEFAULT_CONFIDENCE = 0.8
_BETA_EPSILON = 1e-15
_BETA_MAX_ITERATIONS = 500
_BISECTION_STEPS = 200


class ForecastError(ValueError):
    """The points cannot carry a line (too few, or all at the same x)."""


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


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, _BETA_MAX_ITERATIONS + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < _BETA_EPSILON:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    # The continued fraction converges fast only below this point; use the symmetry above it.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def student_t_quantile(p: float, df: float) -> float:
    """The t such that P(T <= t) = p, by bisection on the distribution function."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be strictly between 0 and 1")
    if p < 0.5:
        return -student_t_quantile(1.0 - p, df)
    if p == 0.5:
        return 0.0
    low, high = 0.0, 1.0
    while student_t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2.0
        if student_t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low <= 1e-13 * max(1.0, high):
            break
    return (low + high) / 2.0


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
    t = student_t_quantile(1.0 - (1.0 - confidence) / 2.0, n - 2)
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
