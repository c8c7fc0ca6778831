"""Expected quotes and won units over the horizon (docs/pricing-analysis.md, "Demand").

Quotes: from the monthly counts of quotes created (complete local months, zero-filled, oldest
first). With at least SEASONAL_MONTHS of them, seasonal: each calendar month's forecast is the
recent level (the mean of the last 12 months) times that month's seasonal factor (its mean
over the last whole years divided by the mean of those years' months). Otherwise the daily
rate of the last RECENT_MONTHS months (or fewer). Each day of the horizon counts its month's
forecast divided by the month's length.

The interval is a negative binomial with that mean and shape N + 1/2, N being the quotes
behind the level: a Poisson count whose rate is itself uncertain, as if learnt from N quotes.

Won units = won quotes x mean quantity of the won quotes; the interval draws the quotes from
that negative binomial and the wins from a binomial at each drawn P(win).

Pure: no ORM, no clock (the horizon's first day is an argument).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy.stats import nbinom

from pricing.elasticity import Interval, QuoteRow, percentile_interval

SEASONAL_MONTHS = 24
RECENT_MONTHS = 6
YEAR = 12


@dataclass(frozen=True)
class QuoteForecast:
    quotes: Interval  # quotes expected over the horizon
    method: str  # "seasonal" | "recent_mean" | "no_history"
    basis_quotes: int  # N: the quotes the level was learnt from


def negative_binomial_shape(basis_quotes: int) -> float:
    # N + 1/2: the rate as if learnt from N quotes under a Jeffreys prior (its half count).
    return basis_quotes + 0.5


def month_days(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def horizon_start(monthly_quotes: Sequence[tuple[date, int]]) -> date | None:
    """The counts stop at the month before the analysis date, so the horizon starts on the
    first day of the month after the last count (None without counts)."""
    return next_month(monthly_quotes[-1][0]) if monthly_quotes else None


def _seasonal(monthly_quotes: Sequence[tuple[date, int]], *, start: date, horizon_days: int) -> float:
    years = len(monthly_quotes) // YEAR
    window = monthly_quotes[-years * YEAR :]
    overall = sum(count for _, count in window) / len(window)
    if overall == 0:
        return 0.0
    level = sum(count for _, count in monthly_quotes[-YEAR:]) / YEAR
    month_means = {
        calendar_month: sum(c for m, c in window if m.month == calendar_month) / years
        for calendar_month in range(1, 13)
    }
    # Each horizon day carries 1/length of its month's forecast.
    expected = 0.0
    for offset in range(horizon_days):
        day = start + timedelta(days=offset)
        expected += level * month_means[day.month] / overall / month_days(day)
    return expected


def forecast_quotes(
    monthly_quotes: Sequence[tuple[date, int]], *, start: date | None, horizon_days: int, level: float
) -> QuoteForecast:
    """Quotes expected from `start` over `horizon_days`, with a `level` interval."""
    if not monthly_quotes or start is None:
        return QuoteForecast(Interval(0.0, 0.0, 0.0), "no_history", 0)
    if len(monthly_quotes) >= SEASONAL_MONTHS:
        expected = _seasonal(monthly_quotes, start=start, horizon_days=horizon_days)
        basis = sum(count for _, count in monthly_quotes[-YEAR:])
        method = "seasonal"
    else:
        recent = monthly_quotes[-RECENT_MONTHS:]
        basis = sum(count for _, count in recent)
        expected = basis / sum(month_days(m) for m, _ in recent) * horizon_days
        method = "recent_mean"
    if expected == 0:
        return QuoteForecast(Interval(0.0, 0.0, 0.0), method, basis)
    tail = (1 - level) / 2
    shape = negative_binomial_shape(basis)
    low, high = nbinom.ppf([tail, 1 - tail], shape, shape / (shape + expected))
    return QuoteForecast(Interval(expected, float(low), float(high)), method, basis)


def mean_won_quantity(quotes: Sequence[QuoteRow]) -> float:
    """Mean units per won quote (check_quotes guarantees at least one won quote)."""
    won = [q.quantity for q in quotes if q.won]
    return sum(won) / len(won)


def quote_draws(forecast: QuoteForecast, *, draws: int, rng: np.random.Generator) -> np.ndarray:
    expected = forecast.quotes.estimate
    if expected == 0:
        return np.zeros(draws, dtype=np.int64)
    shape = negative_binomial_shape(forecast.basis_quotes)
    return rng.negative_binomial(shape, shape / (shape + expected), size=draws)


def won_units(
    forecast: QuoteForecast,
    *,
    win_probability: float,
    win_probability_draws: np.ndarray,
    quantity: float,
    quotes_drawn: np.ndarray,
    rng: np.random.Generator,
    level: float,
) -> Interval:
    """Won units over the horizon: quotes x P(win) x mean quantity, with the interval of
    binomial wins out of the drawn quotes at the drawn P(win)."""
    wins = rng.binomial(quotes_drawn, win_probability_draws)
    estimate = forecast.quotes.estimate * win_probability * quantity
    return percentile_interval(estimate, wins * quantity, level=level)
