"""A product's price analysis and suggestion (docs/pricing-analysis.md; DESIGN section 9.5).

Expected revenue over the horizon at price p:

    R(p) = quotes x P̄(win | p) x mean won quantity x p

The suggestion is the R-maximising price on a grid of steps of 0.1 % of the current price p0
inside the guardrail band [p0 (1 - g), p0 (1 + g)], g = max_change_pct / 100, then held under
the value-based ceilings: the highest price a won quote paid (no buyer has paid more, so R
there is extrapolation) and, with at least 3 competitor prices, their 90th percentile (or no
increase at all when p0 is already above it). A change under 1 % is no change. Quotes and
quantity cancel out of the revenue change, so its interval only carries the coefficient draws.

Pure: no ORM, no clock, deterministic given policy.seed. The dataclasses of the inputs and the
answer are re-exported here: `from pricing.recommendation import analyse_product, ...`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

import numpy as np

from core.metrics import round_half_up
from pricing.churn import ChurnRisk, PastChange, churn_risk
from pricing.demand import forecast_quotes, horizon_start, mean_won_quantity, quote_draws, won_units
from pricing.elasticity import (
    Interval,
    PriceResponse,
    QuoteRow,
    Skipped,
    check_quotes,
    coefficient_draws,
    elasticity_interval,
    fit_price_response,
    percentile_interval,
    win_probability,
)
from reports.charts import ValueFormat, format_value

__all__ = [
    "ChurnRisk",
    "CompetitorPosition",
    "CurvePoint",
    "Interval",
    "PastChange",
    "PricingPolicy",
    "ProductAnalysis",
    "ProductInputs",
    "QuoteRow",
    "Skipped",
    "Suggestion",
    "analyse_product",
    "competitor_position",
    "confidence_score",
    "suggest_price",
]

GRID_STEP = 0.001  # of the current price
MIN_CHANGE_PCT = 1.0
CURVE_POINTS = 25
MIN_COMPETITORS = 3
COMPETITOR_CEILING_PERCENTILE = 90
# n / (n + 50): half credit at 50 decided quotes, 0.8 at 200.
CONFIDENCE_HALF_N = 50
# An elasticity interval this wide carries no information (confidence_score).
UNINFORMATIVE_WIDTH = 4.0


@dataclass(frozen=True)
class ProductInputs:
    current_price: float
    billing_period: str  # "month", "year" or "once"
    decided: Sequence[QuoteRow]
    # (first day of a local month, quotes created that month), zero-filled, oldest first,
    # complete months only (up to the month before as_of)
    monthly_quotes: Sequence[tuple[date, int]]
    competitor_prices: Sequence[float]  # the latest observation per competitor, same currency
    past_changes: Sequence[PastChange]
    baseline_customers: int  # customer-periods without a price change before them
    baseline_churned: int  # of those, churned
    customers_affected: int  # customers with an active recurring purchase of the product now


@dataclass(frozen=True)
class PricingPolicy:
    max_change_pct: float = 15.0  # guardrail per change, per organization
    min_decided_quotes: int = 30
    level: float = 0.90  # interval level
    horizon_days: int = 90
    draws: int = 2000  # parameter draws for intervals
    seed: int = 0


@dataclass(frozen=True)
class CurvePoint:  # the price-response chart
    price: float
    win_probability: float
    low: float
    high: float
    expected_revenue: float  # over the horizon


@dataclass(frozen=True)
class CompetitorPosition:
    median: float | None
    percentile: float | None  # 0-100: mid-rank of the current price among competitor prices
    n: int


@dataclass(frozen=True)
class ProductAnalysis:
    current_price: float
    suggested_price: float  # two decimals
    change_pct: float  # one decimal
    elasticity: Interval  # at the current price
    elasticity_n: int  # decided quotes used
    elasticity_method: str  # "logit(win ~ log price)", "... + season)" or "... + segment)"
    win_probability_current: Interval
    win_probability_suggested: Interval
    quotes_per_horizon: Interval  # expected quotes over horizon_days
    demand_current: Interval  # won units over the horizon at the current price
    demand_suggested: Interval
    expected_revenue_current: float
    expected_revenue_suggested: float
    expected_revenue_change_pct: Interval  # percent, one decimal
    churn: ChurnRisk
    competitor: CompetitorPosition
    confidence: float  # 0-1, two decimals
    constraints: tuple[str, ...]  # "max_change", "won_price_ceiling", "competitor_ceiling"
    rationale: str
    curve: tuple[CurvePoint, ...]


@dataclass(frozen=True)
class Suggestion:
    price: float  # two decimals; the current price when the change is under MIN_CHANGE_PCT
    change_pct: float  # one decimal
    constraints: tuple[str, ...]
    highest_won_price: float
    competitor_ceiling: float | None  # the competitors' 90th percentile, with at least 3 of them


def competitor_position(prices: Sequence[float], *, current_price: float) -> CompetitorPosition:
    """Median of the competitors' prices and the current price's mid-rank among them:
    (competitors below + half of those equal) / n x 100. None without competitor prices."""
    n = len(prices)
    if not n:
        return CompetitorPosition(median=None, percentile=None, n=0)
    below = sum(p < current_price for p in prices)
    equal = sum(p == current_price for p in prices)
    return CompetitorPosition(median=float(np.median(prices)), percentile=(below + equal / 2) / n * 100, n=n)


def confidence_score(elasticity: Interval, *, n: int) -> float:
    """(1 - min(1, (high - low) / UNINFORMATIVE_WIDTH)) x n / (n + 50), two decimals.

    The width is measured on the elasticity's own scale, not relative to the estimate: an
    estimate near 0 (a very inelastic product, where the suggestion is clear) must not score
    0 just because it is near 0. An interval 4 wide (say -2.5 to 1.5) says nothing: 0."""
    width = min(1.0, (elasticity.high - elasticity.low) / UNINFORMATIVE_WIDTH)
    return round_half_up((1 - width) * n / (n + CONFIDENCE_HALF_N), 2)


def _cents_down(value: float) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_FLOOR))


def suggest_price(
    response: PriceResponse,
    *,
    current_price: float,
    max_change_pct: float,
    highest_won_price: float,
    competitor_prices: Sequence[float],
) -> Suggestion:
    """The revenue-maximising price inside the guardrail band, under the ceilings."""
    p0 = current_price
    band = max_change_pct / 100
    steps = max(1, round(2 * band / GRID_STEP))
    grid = p0 * np.linspace(1 - band, 1 + band, steps + 1)
    best_index = int(np.argmax(grid * win_probability(response, grid)))
    best = float(grid[best_index])
    # An optimum on the band's edge: the unconstrained one lies beyond it (R has one peak).
    constraints: tuple[str, ...] = ("max_change",) if best_index in (0, steps) else ()

    # Ceilings only stop increases: each is at least p0 ("no increase" when p0 is past it).
    ceilings = {"won_price_ceiling": max(highest_won_price, p0)}
    competitor_ceiling = None
    if len(competitor_prices) >= MIN_COMPETITORS:
        competitor_ceiling = float(np.percentile(competitor_prices, COMPETITOR_CEILING_PERCENTILE))
        ceilings["competitor_ceiling"] = max(competitor_ceiling, p0)
    ceiling = min(ceilings.values())
    if best > ceiling:
        constraints = tuple(code for code, value in ceilings.items() if value == ceiling)
        # The best price at or under the ceiling: the ceiling itself whenever R has one peak,
        # searched anyway so the rule does not depend on it.
        allowed = np.append(grid[grid < ceiling], ceiling)
        best = float(allowed[int(np.argmax(allowed * win_probability(response, allowed)))])
        price = _cents_down(best) if best == ceiling else round_half_up(best, 2)
    else:
        price = round_half_up(best, 2)
    change = (price - p0) / p0 * 100
    if abs(change) < MIN_CHANGE_PCT:
        price, change = p0, 0.0
    return Suggestion(
        price=price,
        change_pct=round_half_up(change, 1),
        constraints=constraints,
        highest_won_price=highest_won_price,
        competitor_ceiling=competitor_ceiling,
    )


def _curve(
    response: PriceResponse,
    draws: np.ndarray,
    *,
    prices: np.ndarray,
    units_per_win_probability: float,
    level: float,
) -> tuple[CurvePoint, ...]:
    estimates = win_probability(response, prices)
    drawn = win_probability(response, prices, draws)
    points = []
    for i, price in enumerate(prices):
        interval = percentile_interval(estimates[i], drawn[:, i], level=level)
        points.append(
            CurvePoint(
                price=float(price),
                win_probability=interval.estimate,
                low=interval.low,
                high=interval.high,
                expected_revenue=units_per_win_probability * interval.estimate * float(price),
            )
        )
    return tuple(points)


def _curve_prices(
    quotes: Sequence[QuoteRow], *, current_price: float, suggested_price: float, max_change_pct: float
) -> np.ndarray:
    band = max_change_pct / 100
    observed = [q.price for q in quotes]
    low = min(current_price * (1 - band), min(observed))
    high = max(current_price * (1 + band), max(observed))
    prices = np.linspace(low, high, CURVE_POINTS)
    return np.unique(np.concatenate([prices, [current_price, suggested_price]]))


def _money(value: float, currency: str) -> str:
    return format_value(value, ValueFormat.money(currency))


def _signed_percent(value: float) -> str:
    return f"{value:+.1f}%"


def _rationale(
    *,
    current_price: float,
    suggestion: Suggestion,
    elasticity: Interval,
    n: int,
    level: float,
    horizon_days: int,
    revenue_current: float,
    revenue_suggested: float,
    revenue_change: Interval,
    max_change_pct: float,
    currency: str,
) -> str:
    e = elasticity.estimate
    if e >= 0:
        kind = "wins do not fall with price in the data"
    elif e < -1:
        kind = "demand is elastic at the current price"
    else:
        kind = "demand is inelastic at the current price"
    evidence = (
        f"{kind} (elasticity {e:.2f}, {level:.0%} interval {elasticity.low:.2f} to {elasticity.high:.2f}, "
        f"from {n} decided quotes)"
    )
    now = _money(current_price, currency)
    if suggestion.change_pct == 0:
        sentences = [f"Keep the price at {now}: {evidence}."]
        sentences.append(
            f"Expected revenue over the next {horizon_days} days is {_money(revenue_current, currency)}."
        )
    else:
        verb = "Raise" if suggestion.change_pct > 0 else "Lower"
        then = _money(suggestion.price, currency)
        sentences = [
            f"{verb} the price from {now} to {then} ({_signed_percent(suggestion.change_pct)}): {evidence}.",
            f"Expected revenue over the next {horizon_days} days goes from {_money(revenue_current, currency)} "
            f"to {_money(revenue_suggested, currency)} ({_signed_percent(revenue_change.estimate)}, "
            f"{level:.0%} interval {_signed_percent(revenue_change.low)} to "
            f"{_signed_percent(revenue_change.high)}).",
        ]
    limits = []
    if "max_change" in suggestion.constraints:
        limits.append(f"the {max_change_pct:g}% maximum change")
    if "won_price_ceiling" in suggestion.constraints:
        limits.append(
            f"the highest price a won quote paid ({_money(suggestion.highest_won_price, currency)})"
        )
    if "competitor_ceiling" in suggestion.constraints and suggestion.competitor_ceiling is not None:
        limits.append(
            f"the competitors' 90th percentile price ({_money(suggestion.competitor_ceiling, currency)})"
        )
    if limits:
        sentences.append(f"Limited by {' and '.join(limits)}.")
    return " ".join(sentences)


def analyse_product(
    inputs: ProductInputs, policy: PricingPolicy, *, currency: str
) -> ProductAnalysis | Skipped:
    """The analysis and suggestion for one product, or why there is none."""
    quotes = list(inputs.decided)
    p0 = inputs.current_price
    skipped = check_quotes(quotes, min_quotes=policy.min_decided_quotes)
    if skipped is not None:
        return skipped
    response = fit_price_response(quotes, reference_price=p0)
    if isinstance(response, Skipped):
        return response

    # One generator, used in a fixed order: coefficients, then quotes, then wins.
    rng = np.random.default_rng(policy.seed)
    draws = coefficient_draws(response, draws=policy.draws, rng=rng)
    elasticity = elasticity_interval(response, draws=draws, level=policy.level)
    suggestion = suggest_price(
        response,
        current_price=p0,
        max_change_pct=policy.max_change_pct,
        highest_won_price=max(q.price for q in quotes if q.won),
        competitor_prices=inputs.competitor_prices,
    )
    p1 = suggestion.price
    prices = np.array([p0, p1])
    win_estimate = win_probability(response, prices)
    win_drawn = win_probability(response, prices, draws)
    win_current = percentile_interval(win_estimate[0], win_drawn[:, 0], level=policy.level)
    win_suggested = percentile_interval(win_estimate[1], win_drawn[:, 1], level=policy.level)

    forecast = forecast_quotes(
        inputs.monthly_quotes,
        start=horizon_start(inputs.monthly_quotes),
        horizon_days=policy.horizon_days,
        level=policy.level,
    )
    quantity = mean_won_quantity(quotes)
    quotes_drawn = quote_draws(forecast, draws=policy.draws, rng=rng)
    demand = [
        won_units(
            forecast,
            win_probability=float(win_estimate[i]),
            win_probability_draws=win_drawn[:, i],
            quantity=quantity,
            quotes_drawn=quotes_drawn,
            rng=rng,
            level=policy.level,
        )
        for i in range(2)
    ]
    revenue_current = demand[0].estimate * p0
    revenue_suggested = demand[1].estimate * p1
    change_drawn = (p1 * win_drawn[:, 1]) / (p0 * win_drawn[:, 0]) * 100 - 100
    change = percentile_interval(
        (p1 * win_estimate[1]) / (p0 * win_estimate[0]) * 100 - 100, change_drawn, level=policy.level
    )
    revenue_change = Interval(
        estimate=round_half_up(change.estimate, 1),
        low=round_half_up(change.low, 1),
        high=round_half_up(change.high, 1),
    )

    curve = _curve(
        response,
        draws,
        prices=_curve_prices(
            quotes, current_price=p0, suggested_price=p1, max_change_pct=policy.max_change_pct
        ),
        units_per_win_probability=forecast.quotes.estimate * quantity,
        level=policy.level,
    )
    return ProductAnalysis(
        current_price=p0,
        suggested_price=p1,
        change_pct=suggestion.change_pct,
        elasticity=elasticity,
        elasticity_n=response.n,
        elasticity_method=response.method,
        win_probability_current=win_current,
        win_probability_suggested=win_suggested,
        quotes_per_horizon=forecast.quotes,
        demand_current=demand[0],
        demand_suggested=demand[1],
        expected_revenue_current=revenue_current,
        expected_revenue_suggested=revenue_suggested,
        expected_revenue_change_pct=revenue_change,
        churn=churn_risk(
            change_pct=suggestion.change_pct,
            past_changes=inputs.past_changes,
            baseline_customers=inputs.baseline_customers,
            baseline_churned=inputs.baseline_churned,
            customers_affected=inputs.customers_affected,
            level=policy.level,
        ),
        competitor=competitor_position(inputs.competitor_prices, current_price=p0),
        confidence=confidence_score(elasticity, n=response.n),
        constraints=suggestion.constraints,
        rationale=_rationale(
            current_price=p0,
            suggestion=suggestion,
            elasticity=elasticity,
            n=response.n,
            level=policy.level,
            horizon_days=policy.horizon_days,
            revenue_current=revenue_current,
            revenue_suggested=revenue_suggested,
            revenue_change=revenue_change,
            max_change_pct=policy.max_change_pct,
            currency=currency,
        ),
        curve=curve,
    )
