"""How winning a quote responds to its price (docs/pricing-analysis.md, "The price response").

A logistic model of winning on log price, fitted by maximum likelihood (statsmodels `Logit`):

    P(win | p) = sigmoid(a + b ln(p / p0) + controls)

p0 being the current price (centring there makes `a` the log-odds of winning at p0 and keeps
the fit well conditioned). Quarter-of-year ("season") or region ("segment") dummies are added
only where the data carries them: every level of the family has at least MIN_LEVEL_QUOTES
decided quotes with both outcomes, the fit converges without separation, and it lowers the
AIC below the plain model's; at most one family, the lower AIC of the two.

Demand at price p is proportional to P̄(p), the win probability averaged over the observed
control mix, so the price elasticity of demand is d ln P̄ / d ln p:

    elasticity(p) = b x sum_k w_k P_k (1 - P_k) / sum_k w_k P_k

which is b x (1 - P(win | p)) for the plain model. Intervals come from coefficient draws
from the fit's estimated normal distribution (N(estimate, covariance), seeded).

Pure: no ORM, no clock.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy.special import expit
from statsmodels.discrete.discrete_model import Logit
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

# A dummy estimated from fewer quotes than this, or from a level that only won or only lost,
# is noise (or infinite); 15 is the usual ~10-20 events-per-parameter rule of thumb.
MIN_LEVEL_QUOTES = 15
MIN_DISTINCT_PRICES = 3
# 0.01 in log price is a spread of about 1 %: below it the slope is not identified.
MIN_LOG_PRICE_SD = 0.01
PLAIN_METHOD = "logit(win ~ log price)"


@dataclass(frozen=True)
class QuoteRow:
    price: float  # unit price offered, > 0
    won: bool  # only decided quotes (won or lost) are passed
    quantity: int  # >= 1
    decided_on: date  # local day the quote was decided
    segment: str = ""  # the lead's region ("" unknown)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class Skipped:
    code: str  # "too_few_quotes" | "one_outcome" | "no_price_variation" | "no_fit"
    reason: str  # plain English with the numbers


@dataclass(frozen=True)
class PriceResponse:
    """A fitted model. `params` = [a, b, dummies...]; `patterns` holds the observed control
    mix: one row of dummy values per level, with `weights` = the level's share of quotes."""

    method: str
    n: int
    reference_price: float
    params: np.ndarray
    cov: np.ndarray
    patterns: np.ndarray  # levels x dummies (0 columns for the plain model)
    weights: np.ndarray  # levels, sums to 1

    @property
    def slope(self) -> float:
        return float(self.params[1])


def season_of(row: QuoteRow) -> str:
    return f"Q{(row.decided_on.month - 1) // 3 + 1}"


def segment_of(row: QuoteRow) -> str:
    return row.segment


CONTROL_FAMILIES: dict[str, Callable[[QuoteRow], str]] = {"season": season_of, "segment": segment_of}


def check_quotes(quotes: Sequence[QuoteRow], *, min_quotes: int) -> Skipped | None:
    """The data checks before any fit, in this order; None when the quotes can be fitted."""
    n = len(quotes)
    if n < min_quotes:
        return Skipped("too_few_quotes", f"{n} decided quotes; at least {min_quotes} are needed.")
    won = sum(q.won for q in quotes)
    if won in (0, n):
        outcome = "won" if won else "lost"
        return Skipped(
            "one_outcome",
            f"All {n} decided quotes were {outcome}; a price response needs both won and lost quotes.",
        )
    distinct = len({q.price for q in quotes})
    log_sd = float(np.std(np.log([q.price for q in quotes])))
    if distinct < MIN_DISTINCT_PRICES or log_sd < MIN_LOG_PRICE_SD:
        return Skipped(
            "no_price_variation",
            f"The {n} decided quotes have {distinct} distinct prices (log-price standard deviation "
            f"{log_sd:.3f}); at least {MIN_DISTINCT_PRICES} prices and a standard deviation of "
            f"{MIN_LOG_PRICE_SD} are needed.",
        )
    return None


def usable_levels(quotes: Sequence[QuoteRow], level_of: Callable[[QuoteRow], str]) -> list[str] | None:
    """The family's levels, sorted, when every one carries a dummy (see MIN_LEVEL_QUOTES) and
    there are at least two; otherwise None."""
    counts = Counter(level_of(q) for q in quotes)
    wins = Counter(level_of(q) for q in quotes if q.won)
    if len(counts) < 2:
        return None
    for level, count in counts.items():
        if count < MIN_LEVEL_QUOTES or wins[level] in (0, count):
            return None
    return sorted(counts)


@dataclass(frozen=True)
class _Fit:
    params: np.ndarray
    cov: np.ndarray
    aic: float


def _logit(y: np.ndarray, x: np.ndarray) -> _Fit | None:
    # statsmodels only warns on separation and non-convergence; both make the coefficients
    # (and their covariance) meaningless, so they count as "no fit".
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            result = Logit(y, x).fit(disp=0, maxiter=100)
            cov = np.asarray(result.cov_params())
        except (PerfectSeparationWarning, ConvergenceWarning, np.linalg.LinAlgError):
            return None
    params = np.asarray(result.params)
    if not result.mle_retvals.get("converged", False):
        return None
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0)):
        return None
    return _Fit(params=params, cov=cov, aic=float(result.aic))


def _price_separation(quotes: Sequence[QuoteRow]) -> str | None:
    """How won and lost quotes are split by price, or None when their prices overlap.
    (Quasi-)complete separation leaves the likelihood without a maximum: the slope runs off to
    infinity, and statsmodels does not always notice the quasi-complete case."""
    won = [q.price for q in quotes if q.won]
    lost = [q.price for q in quotes if not q.won]
    if max(won) <= min(lost):
        return f"every won quote at {max(won):,.2f} or less, every lost one at {min(lost):,.2f} or more"
    if min(won) >= max(lost):
        return f"every won quote at {min(won):,.2f} or more, every lost one at {max(lost):,.2f} or less"
    return None


def fit_price_response(quotes: Sequence[QuoteRow], *, reference_price: float) -> PriceResponse | Skipped:
    """Fit the model (check_quotes must have passed); Skipped("no_fit") when the plain model
    cannot be fitted. A control family that does not fit is dropped, not fatal."""
    n = len(quotes)
    y = np.array([1.0 if q.won else 0.0 for q in quotes])
    log_price = np.log(np.array([q.price for q in quotes]) / reference_price)
    plain_x = np.column_stack([np.ones(n), log_price])
    separation = _price_separation(quotes)
    if separation is not None:
        return Skipped(
            "no_fit",
            f"Won and lost quotes are separated by price ({separation}): the win model has no finite fit.",
        )
    plain = _logit(y, plain_x)
    if plain is None:
        return Skipped("no_fit", f"The win model did not converge on the {n} decided quotes.")
    best = PriceResponse(
        method=PLAIN_METHOD,
        n=n,
        reference_price=reference_price,
        params=plain.params,
        cov=plain.cov,
        patterns=np.zeros((1, 0)),
        weights=np.ones(1),
    )
    best_aic = plain.aic
    for family, level_of in CONTROL_FAMILIES.items():
        levels = usable_levels(quotes, level_of)
        if levels is None:
            continue
        # The first level is the baseline (absorbed in `a`); one dummy column per other level.
        patterns = np.eye(len(levels))[:, 1:]
        index = {level: i for i, level in enumerate(levels)}
        rows = np.array([index[level_of(q)] for q in quotes])
        fit = _logit(y, np.column_stack([plain_x, patterns[rows]]))
        if fit is None or fit.aic >= best_aic:
            continue
        best_aic = fit.aic
        best = PriceResponse(
            method=f"logit(win ~ log price + {family})",
            n=n,
            reference_price=reference_price,
            params=fit.params,
            cov=fit.cov,
            patterns=patterns,
            weights=np.bincount(rows, minlength=len(levels)) / n,
        )
    return best


def coefficient_draws(response: PriceResponse, *, draws: int, rng: np.random.Generator) -> np.ndarray:
    """`draws` x parameters from N(estimate, covariance): the sampling uncertainty of the fit."""
    return rng.multivariate_normal(response.params, response.cov, size=draws)


def _level_probabilities(response: PriceResponse, params: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """P(win) per draw x control level x price, for params of shape (draws, k)."""
    offsets = params[:, :1] + params[:, 2:] @ response.patterns.T  # draws x levels
    log_price = np.log(prices / response.reference_price)
    return expit(offsets[:, :, None] + params[:, 1, None, None] * log_price[None, None, :])


def win_probability(
    response: PriceResponse, prices: Sequence[float] | np.ndarray, params: np.ndarray | None = None
) -> np.ndarray:
    """P̄(win | p): averaged over the control mix. Shape (prices,) for the estimate, or
    (draws, prices) when `params` holds draws."""
    coefficients = response.params[None, :] if params is None else params
    probabilities = _level_probabilities(response, coefficients, np.asarray(prices, dtype=float))
    averaged = np.einsum("l,dlp->dp", response.weights, probabilities)
    return averaged[0] if params is None else averaged


def _elasticities(response: PriceResponse, price: float, coefficients: np.ndarray) -> np.ndarray:
    p = _level_probabilities(response, coefficients, np.array([price], dtype=float))[:, :, 0]
    w = response.weights
    return coefficients[:, 1] * ((p * (1 - p)) @ w) / (p @ w)


def elasticity_at(response: PriceResponse, price: float) -> float:
    """d ln P̄ / d ln p at `price`, from the estimated coefficients."""
    return float(_elasticities(response, price, response.params[None, :])[0])


def elasticity_draws(response: PriceResponse, price: float, draws: np.ndarray) -> np.ndarray:
    """The same elasticity for each coefficient draw (shape: draws)."""
    return _elasticities(response, price, draws)


def percentile_interval(estimate: float, values: np.ndarray, *, level: float) -> Interval:
    """The equal-tailed `level` interval of `values` around a separately computed estimate."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(estimate=float(estimate), low=float(low), high=float(high))


def elasticity_interval(response: PriceResponse, *, draws: np.ndarray, level: float) -> Interval:
    estimate = elasticity_at(response, response.reference_price)
    values = elasticity_draws(response, response.reference_price, draws)
    return percentile_interval(estimate, values, level=level)


def true_elasticity(*, intercept: float, slope: float, price: float) -> float:
    """b x (1 - sigmoid(a + b ln p)) for a plain logit in ln p (not centred): the coverage
    check's truth."""
    return slope * (1 - 1 / (1 + math.exp(-(intercept + slope * math.log(price)))))
