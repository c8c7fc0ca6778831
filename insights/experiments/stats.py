"""The statistics engine of experiments (docs/experiments.md, "Statistics"; DESIGN 9.4).

Pure functions on plain numbers: no ORM, no Django, no clock. Each function's docstring gives
its formula and the published value it is tested against.

- Planning: `required_sample_size` / `sample_size_exact` (R's power.prop.test), `t_test_power`
  and `t_test_sample_size` (R's power.t.test, noncentral t).
- Tests: `two_proportion_z` (pooled, no continuity correction), `chi_square_homogeneity`
  (Pearson, k variants), `welch_t` (revenue per contact), `welch_anova` (k means).
- Intervals: `wilson_interval`, `newcombe_difference_interval` (hybrid score, method 10).
- Multiple comparisons with the control: `holm_adjust`.
- Bayesian, Beta(1, 1) priors: `probability_best`, `expected_loss` (closed form for two
  variants, seeded Monte Carlo beyond).
- Trust: `sample_ratio_mismatch` (chi-square goodness of fit against the planned weights).
- Sequential monitoring: `sequential_boundary`, `sequential_p_value`, `alpha_spent`.
- `analyse` ties them into the results contract of DESIGN 9.4; `decide` applies the decision
  rules alone.

Sequential monitoring: an O'Brien-Fleming-type alpha-spending boundary for continuous
monitoring. With information fraction t = n / required n, a comparison stops at any look where
|z| >= c / sqrt(t), c solving P(sup_{0<=s<=1} |W(s)| >= c) = alpha for a Brownian motion W
(c = 2.2414 for alpha = 0.05, about z_{1-alpha/4}). The alpha spent by information t is
P(sup_{s<=t} |W(s)| >= c) = Psi(c / sqrt(t)), the same 2 - 2 Phi(z / sqrt(t)) shape as the
Lan-DeMets O'Brien-Fleming spending function, with the constant set for continuous looks.
Why this one:
- every request for results is a look (the pages reload and the live view streams), and the
  engine is stateless: a boundary that holds for any number of looks at any times needs no
  record of earlier looks. Lan-DeMets with per-look increments (or the exact recursive
  integration) is valid only if every look is recorded with its information fraction, and the
  per-look Bonferroni simplification spends the final look's alpha in crumbs when looks are
  frequent;
- it keeps most of the planned power: on the planned n (80 % power for a fixed test), the
  simulated power is about 77 % when monitored continuously and 73 % with 10 looks. The
  always-valid mSPRT (Johari et al. 2017), also stateless, reaches only about 54 %: its
  boundary is |z| >= 3.04 at best (alpha = 0.05), because it is built for experiments without
  a planned end, which ours have;
- its error rate under the null is at most alpha for any looks up to the planned n, by
  construction (the discrete looks are a subset of the continuous path), up to the normal
  approximation of the counts. Past the planned n the final boundary c stays, so later looks
  cannot spend more.

No data is None (a rate without observations, a test without variation), not 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import stats
from scipy.optimize import brentq
from scipy.special import betaln, logsumexp

MetricKind = Literal["proportion", "mean"]
Method = Literal["frequentist", "bayesian", "sequential"]
Status = Literal["keep running", "stop: winner", "stop: no difference"]

METRIC_KINDS: tuple[MetricKind, ...] = ("proportion", "mean")
METHODS: tuple[Method, ...] = ("frequentist", "bayesian", "sequential")
KEEP_RUNNING: Status = "keep running"
STOP_WINNER: Status = "stop: winner"
STOP_NO_DIFFERENCE: Status = "stop: no difference"

# Weights are shares written by people (0.5, 0.3, 0.2): a sum off by more than this is a mistake.
WEIGHT_SUM_TOLERANCE = 1e-6
# A sample-ratio mismatch is flagged when the chi-square p-value is below this: the check runs
# at every look, so the threshold is strict enough that a healthy experiment almost never raises
# it (the value used by Kohavi, Tang and Xu, "Trustworthy Online Controlled Experiments", 2020).
SRM_P_THRESHOLD = 0.001
# Bayesian winner: probability to be best at least this, and its expected loss below the
# loss threshold, an absolute rate (0.001 = 0.1 percentage point of conversion given up).
PROBABILITY_BEST_THRESHOLD = 0.95
EXPECTED_LOSS_THRESHOLD = 0.001
# Monte Carlo for more than two variants: the standard error of a probability to be best is at
# most 0.5 / sqrt(draws) = 0.0005; drawn in chunks so memory stays at variants x 2 MB.
MONTE_CARLO_DRAWS = 1_000_000
MONTE_CARLO_SEED = 16
_DRAW_CHUNK = 250_000
# Psi(c) = P(sup_{s<=1} |W(s)| >= c): below this c the theta series converges faster.
_SERIES_SWITCH = 1.0
_SERIES_TERMS = 25


# --- input errors ---------------------------------------------------------------------------


class StatisticsInputError(ValueError):
    """Input the engine cannot compute on; the message says which value and why."""


class TooFewVariants(StatisticsInputError):
    pass


class WeightsDoNotSumToOne(StatisticsInputError):
    pass


class OutOfUnitInterval(StatisticsInputError):
    """alpha, power, a confidence level or a planned rate outside (0, 1)."""


class InvalidCounts(StatisticsInputError):
    """A negative count, more conversions than observations, or sums no data could give."""


class MethodNotAvailable(StatisticsInputError):
    pass


def _check_unit(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and 0 < value < 1):
        raise OutOfUnitInterval(f"{name} must be strictly between 0 and 1, got {value!r}.")


def _check_counts(successes: int, trials: int) -> None:
    if trials < 0 or successes < 0:
        raise InvalidCounts(f"Counts cannot be negative (got {successes} of {trials}).")
    if successes > trials:
        raise InvalidCounts(f"There cannot be more conversions than observations ({successes} of {trials}).")


def _check_variant_count(count: int) -> None:
    if count < 2:
        raise TooFewVariants(f"An experiment needs at least two variants, got {count}.")


# --- planning: sample size and power --------------------------------------------------------


def sample_size_exact(p1: float, p2: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Observations per group for a two-sided pooled-variance two-proportion test, unrounded:

        n = (z_{1-alpha/2} sqrt(2 pbar qbar) + z_{power} sqrt(p1 q1 + p2 q2))^2 / (p1 - p2)^2,

    pbar = (p1 + p2) / 2. This is the root of the power equation of R's power.prop.test with its
    default strict = FALSE (the other tail is not counted), which R finds numerically:
    power.prop.test(p1 = .5, p2 = .75, power = .9) prints n = 76.7; the exact root is 76.7069.
    (statsmodels' NormalIndPower on Cohen's h gives 76.65: the arcsine formula, not this one.)
    """
    _check_unit("p1", p1)
    _check_unit("p2", p2)
    _check_unit("alpha", alpha)
    _check_unit("power", power)
    if p1 == p2:
        raise StatisticsInputError("p1 and p2 must differ: no sample size detects a zero effect.")
    pbar = (p1 + p2) / 2
    root_n = (
        stats.norm.isf(alpha / 2) * math.sqrt(2 * pbar * (1 - pbar))
        + stats.norm.ppf(power) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ) / abs(p1 - p2)
    return float(root_n**2)


def required_sample_size(p1: float, p2: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """The ceiling of sample_size_exact: 77 per group for p1 = .5, p2 = .75, power = .9."""
    return math.ceil(sample_size_exact(p1, p2, alpha=alpha, power=power))


def t_test_power(n: float, delta: float, sd: float = 1.0, alpha: float = 0.05) -> float:
    """Power of the two-sided two-sample t test with n per group, like R's power.t.test
    (strict = FALSE): P(T' > t_{1-alpha/2, nu}) with nu = 2 (n - 1) and T' noncentral t of
    noncentrality sqrt(n / 2) delta / sd. power.t.test(n = 20, delta = 1) = 0.8689528."""
    _check_unit("alpha", alpha)
    if n <= 1:
        raise InvalidCounts(f"A t test needs more than one observation per group, got n = {n}.")
    if sd <= 0:
        raise StatisticsInputError(f"The standard deviation must be positive, got {sd}.")
    nu = 2 * (n - 1)
    critical = stats.t.isf(alpha / 2, nu)
    return float(stats.nct.sf(critical, nu, math.sqrt(n / 2) * abs(delta) / sd))


def t_test_sample_size(delta: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Per group, for revenue per contact: the ceiling of the n solving t_test_power(n) = power
    (R's power.t.test solves the same equation with uniroot: delta = 1, sd = 1, power = .9 gives
    n = 22.02, so 23)."""
    _check_unit("alpha", alpha)
    _check_unit("power", power)
    if delta == 0:
        raise StatisticsInputError("delta must differ from 0: no sample size detects a zero effect.")
    if t_test_power(2, delta, sd, alpha) >= power:
        return 2
    exact = brentq(lambda n: t_test_power(n, delta, sd, alpha) - power, 2, 1e7, xtol=1e-9)
    return math.ceil(exact)


# --- significance tests ---------------------------------------------------------------------


@dataclass(frozen=True)
class SignificanceTest:
    name: str  # "two-proportion z" | "Pearson chi-square" | "Welch t" | "Welch F"
    statistic: float
    df: float | None  # None for z; the numerator df for Welch F
    p_value: float
    df_denominator: float | None = None  # Welch F only


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> SignificanceTest | None:
    """Pooled two-proportion z test without continuity correction (z > 0: group 1 is higher):
    z = (x1/n1 - x2/n2) / sqrt(p (1 - p) (1/n1 + 1/n2)), p = (x1 + x2) / (n1 + n2), two-sided
    p-value erfc(|z| / sqrt 2). statsmodels' proportions_ztest([250, 200], [2000, 2000]):
    z = 2.5020, p = 0.01235.

    None when a group has no observations, or the pooled rate is 0 or 1 (no variation).
    """
    _check_counts(x1, n1)
    _check_counts(x2, n2)
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return SignificanceTest("two-proportion z", z, None, math.erfc(abs(z) / math.sqrt(2)))


def chi_square_homogeneity(successes: Sequence[int], totals: Sequence[int]) -> SignificanceTest | None:
    """Pearson chi-square test that k proportions are equal, no continuity correction:
    X^2 = sum over the 2 x k table of (observed - expected)^2 / expected, df = k - 1.
    R's prop.test(c(83, 90, 129, 70), c(86, 93, 136, 82)): X-squared = 12.6, df = 3,
    p = 0.005585.

    None when a group has no observations or the pooled rate is 0 or 1 (an expected count of 0).
    """
    if len(successes) != len(totals):
        raise StatisticsInputError("successes and totals must have one entry per variant.")
    _check_variant_count(len(totals))
    for x, n in zip(successes, totals, strict=True):
        _check_counts(x, n)
    pooled_successes = sum(successes)
    if min(totals) == 0 or pooled_successes in (0, sum(totals)):
        return None
    table = np.array([successes, [n - x for x, n in zip(successes, totals, strict=True)]])
    result = stats.chi2_contingency(table, correction=False)
    return SignificanceTest(
        "Pearson chi-square", float(result.statistic), float(result.dof), float(result.pvalue)
    )


def welch_t(
    mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int
) -> SignificanceTest | None:
    """Welch's unequal-variance t test (t > 0: group 1 is higher):
    t = (m1 - m2) / sqrt(v1/n1 + v2/n2), Welch-Satterthwaite
    df = (v1/n1 + v2/n2)^2 / ((v1/n1)^2 / (n1 - 1) + (v2/n2)^2 / (n2 - 1)), two-sided p.
    Equals scipy.stats.ttest_ind(equal_var=False) on the samples.

    None when a group has fewer than two observations or both variances are 0.
    """
    if n1 < 2 or n2 < 2:
        return None
    se1, se2 = var1 / n1, var2 / n2
    if se1 + se2 <= 0:
        return None
    t = (mean1 - mean2) / math.sqrt(se1 + se2)
    df = (se1 + se2) ** 2 / (se1**2 / (n1 - 1) + se2**2 / (n2 - 1))
    return SignificanceTest("Welch t", float(t), float(df), float(2 * stats.t.sf(abs(t), df)))


def welch_t_from_samples(sample1: Sequence[float], sample2: Sequence[float]) -> SignificanceTest | None:
    """welch_t on the means and unbiased variances (ddof = 1) of two samples."""
    a, b = np.asarray(sample1, dtype=float), np.asarray(sample2, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return None
    return welch_t(a.mean(), a.var(ddof=1), len(a), b.mean(), b.var(ddof=1), len(b))


def welch_anova(
    means: Sequence[float], variances: Sequence[float], ns: Sequence[int]
) -> SignificanceTest | None:
    """Welch's (1951) F test that k means are equal, variances unequal: with w_i = n_i / v_i,
    W = sum w_i, m = sum w_i m_i / W, L = sum (1 - w_i / W)^2 / (n_i - 1):
    F = [sum w_i (m_i - m)^2 / (k - 1)] / [1 + 2 (k - 2) L / (k^2 - 1)], df = k - 1 and
    (k^2 - 1) / (3 L). Equals scipy.stats.f_oneway(equal_var=False) on the samples.

    None when a group has fewer than two observations or a variance of 0.
    """
    k = len(means)
    _check_variant_count(k)
    if min(ns) < 2 or min(variances) <= 0:
        return None
    m, v, n = (np.asarray(x, dtype=float) for x in (means, variances, ns))
    w = n / v
    grand = (w * m).sum() / w.sum()
    spread = ((1 - w / w.sum()) ** 2 / (n - 1)).sum()
    f = ((w * (m - grand) ** 2).sum() / (k - 1)) / (1 + 2 * (k - 2) * spread / (k**2 - 1))
    df2 = (k**2 - 1) / (3 * spread)
    return SignificanceTest("Welch F", float(f), float(k - 1), float(stats.f.sf(f, k - 1, df2)), float(df2))


# --- intervals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson_interval(x: int, n: int, confidence: float = 0.95) -> Interval | None:
    """Wilson score interval of x / n: (x + z^2/2) / (n + z^2) +- z / (n + z^2)
    sqrt(x (n - x) / n + z^2 / 4), z = z_{(1 + confidence)/2}. Equals statsmodels'
    proportion_confint(method="wilson"). None without observations."""
    _check_counts(x, n)
    _check_unit("confidence", confidence)
    if n == 0:
        return None
    z = float(stats.norm.isf((1 - confidence) / 2))
    centre = (x + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(x * (n - x) / n + z * z / 4)
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference_interval(
    x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95
) -> Interval | None:
    """Newcombe's hybrid score interval for p1 - p2 (Newcombe 1998, method 10), from the Wilson
    intervals (l1, u1) and (l2, u2): d - sqrt((p1 - l1)^2 + (u2 - p2)^2) to
    d + sqrt((u1 - p1)^2 + (p2 - l2)^2). Newcombe's example 56/70 - 48/80: 0.0524 to 0.3339.
    None when a group has no observations."""
    first, second = wilson_interval(x1, n1, confidence), wilson_interval(x2, n2, confidence)
    if first is None or second is None:
        return None
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    return Interval(
        d - math.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2),
        d + math.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2),
    )


def _mean_interval(mean: float, var: float, n: int, confidence: float) -> Interval | None:
    """Student t interval of a mean: m +- t_{n-1} sqrt(v / n). None below two observations."""
    if n < 2:
        return None
    half = float(stats.t.isf((1 - confidence) / 2, n - 1)) * math.sqrt(var / n)
    return Interval(mean - half, mean + half)


def _welch_difference_interval(
    mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int, confidence: float
) -> Interval | None:
    """m1 - m2 +- t_{df} sqrt(v1/n1 + v2/n2), df Welch-Satterthwaite."""
    test = welch_t(mean1, var1, n1, mean2, var2, n2)
    if test is None:
        return None
    half = float(stats.t.isf((1 - confidence) / 2, test.df)) * math.sqrt(var1 / n1 + var2 / n2)
    return Interval(mean1 - mean2 - half, mean1 - mean2 + half)


# --- multiple comparisons -------------------------------------------------------------------


def holm_adjust(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment, in the input order: the i-th smallest p (i from 0) becomes
    max over j <= i of min(1, (m - j) p_(j)). Equals statsmodels' multipletests(method="holm")."""
    p = np.asarray(pvalues, dtype=float)
    if p.size == 0:
        return []
    if ((p < 0) | (p > 1)).any():
        raise StatisticsInputError("p-values must lie between 0 and 1.")
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted.tolist()


# --- Bayesian Beta-Binomial -----------------------------------------------------------------


def _posterior_parameters(successes: Sequence[int], totals: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Beta(1 + conversions, 1 + non-conversions) per variant: a Beta(1, 1) (uniform) prior."""
    if len(successes) != len(totals):
        raise StatisticsInputError("successes and totals must have one entry per variant.")
    _check_variant_count(len(totals))
    for x, n in zip(successes, totals, strict=True):
        _check_counts(x, n)
    a = np.array([1 + x for x in successes], dtype=float)
    b = np.array([1 + n - x for x, n in zip(successes, totals, strict=True)], dtype=float)
    return a, b


def _probability_greater(a1: float, b1: float, a2: float, b2: float) -> float:
    """P(X2 > X1) for X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2), a2 a whole number (Evan Miller,
    "Formulas for Bayesian A/B Testing", 2014):
    sum_{i=0}^{a2-1} B(a1 + i, b1 + b2) / ((b2 + i) B(1 + i, b2) B(a1, b1))."""
    i = np.arange(int(a2), dtype=float)
    terms = betaln(a1 + i, b1 + b2) - np.log(b2 + i) - betaln(1 + i, b2) - betaln(a1, b1)
    return float(np.exp(logsumexp(terms)))


def _two_variant_posterior(a: np.ndarray, b: np.ndarray) -> tuple[list[float], list[float]]:
    """Exact for two variants. P(B best) = P(X_B > X_A) by the sum above (over the smaller
    shape, by symmetry). Expected loss of choosing A = E[max(X_B - X_A, 0)]
    = mean_B P(Beta(a_B + 1, b_B) > X_A) - mean_A P(X_B > Beta(a_A + 1, b_A)) (Stucchio 2015)."""

    def greater(a1: float, b1: float, a2: float, b2: float) -> float:
        if a2 <= a1:
            return _probability_greater(a1, b1, a2, b2)
        return 1 - _probability_greater(a2, b2, a1, b1)

    (a_a, a_b), (b_a, b_b) = a, b
    mean_a, mean_b = a_a / (a_a + b_a), a_b / (a_b + b_b)
    b_best = greater(a_a, b_a, a_b, b_b)
    loss_a = mean_b * greater(a_a, b_a, a_b + 1, b_b) - mean_a * greater(a_a + 1, b_a, a_b, b_b)
    loss_b = mean_a * greater(a_b, b_b, a_a + 1, b_a) - mean_b * greater(a_b + 1, b_b, a_a, b_a)
    return [1 - b_best, b_best], [max(float(loss_a), 0.0), max(float(loss_b), 0.0)]


def _monte_carlo_posterior(
    a: np.ndarray, b: np.ndarray, *, draws: int, seed: int
) -> tuple[list[float], list[float]]:
    """Seeded Monte Carlo: the share of draws where each variant is the highest, and the mean
    of (highest draw - the variant's draw). Same seed and draws, same numbers."""
    if draws < 1:
        raise StatisticsInputError(f"draws must be positive, got {draws}.")
    rng = np.random.default_rng(seed)
    wins = np.zeros(a.size)
    losses = np.zeros(a.size)
    remaining = draws
    while remaining:
        chunk = min(_DRAW_CHUNK, remaining)
        sample = rng.beta(a[:, None], b[:, None], size=(a.size, chunk))
        wins += np.bincount(sample.argmax(axis=0), minlength=a.size)
        losses += (sample.max(axis=0) - sample).sum(axis=1)
        remaining -= chunk
    return (wins / draws).tolist(), (losses / draws).tolist()


def _posterior_summary(
    successes: Sequence[int], totals: Sequence[int], *, draws: int, seed: int
) -> tuple[list[float], list[float]]:
    a, b = _posterior_parameters(successes, totals)
    if a.size == 2:
        return _two_variant_posterior(a, b)
    return _monte_carlo_posterior(a, b, draws=draws, seed=seed)


def probability_best(
    successes: Sequence[int],
    totals: Sequence[int],
    *,
    draws: int = MONTE_CARLO_DRAWS,
    seed: int = MONTE_CARLO_SEED,
) -> list[float]:
    """P(variant i has the highest rate) under Beta(1 + x_i, 1 + n_i - x_i) posteriors: the
    exact sum for two variants, seeded Monte Carlo beyond. Matches the quadrature
    integral_0^1 f_i(p) prod_{j != i} F_j(p) dp within 1e-3."""
    return _posterior_summary(successes, totals, draws=draws, seed=seed)[0]


def expected_loss(
    successes: Sequence[int],
    totals: Sequence[int],
    *,
    draws: int = MONTE_CARLO_DRAWS,
    seed: int = MONTE_CARLO_SEED,
) -> list[float]:
    """E[max_j p_j - p_i]: the rate given up, on average, by choosing variant i (same posteriors
    and methods as probability_best). Matches integral_0^1 (1 - prod_j F_j(p)) dp - mean_i."""
    return _posterior_summary(successes, totals, draws=draws, seed=seed)[1]


# --- sample-ratio mismatch ------------------------------------------------------------------


@dataclass(frozen=True)
class SampleRatioCheck:
    p_value: float
    mismatch: bool  # p_value < SRM_P_THRESHOLD


def _check_weights(weights: Sequence[float], count: int) -> None:
    if len(weights) != count:
        raise StatisticsInputError(f"Expected {count} weights, one per variant, got {len(weights)}.")
    if any(w <= 0 for w in weights):
        raise StatisticsInputError("Every weight must be positive.")
    if abs(sum(weights) - 1) > WEIGHT_SUM_TOLERANCE:
        raise WeightsDoNotSumToOne(f"The weights must sum to 1, they sum to {sum(weights):g}.")


def sample_ratio_mismatch(
    observed_counts: Sequence[int], weights: Sequence[float]
) -> SampleRatioCheck | None:
    """Chi-square goodness of fit of the observations per variant against the planned weights
    (scipy.stats.chisquare, df = k - 1); a mismatch when p < SRM_P_THRESHOLD (0.001).
    None before any observation."""
    _check_variant_count(len(observed_counts))
    _check_weights(weights, len(observed_counts))
    if any(n < 0 for n in observed_counts):
        raise InvalidCounts("Observation counts cannot be negative.")
    total = sum(observed_counts)
    if total == 0:
        return None
    # Normalised so the expected counts sum exactly to the observed total, as chisquare requires.
    expected = np.asarray(weights, dtype=float) / sum(weights) * total
    p_value = float(stats.chisquare(np.asarray(observed_counts, dtype=float), expected).pvalue)
    return SampleRatioCheck(p_value, p_value < SRM_P_THRESHOLD)


# --- sequential monitoring ------------------------------------------------------------------


def _crossing_probability(c: float) -> float:
    """Psi(c) = P(sup_{0<=s<=1} |W(s)| >= c) for a standard Brownian motion W (reflection):
    4 sum_{k>=0} (-1)^k (1 - Phi((2k + 1) c)), or for small c, 1 - (4/pi) sum_{k>=0}
    (-1)^k / (2k + 1) exp(-(2k + 1)^2 pi^2 / (8 c^2)) (Feller, vol. II, X.5)."""
    if c <= 0:
        return 1.0
    odd = 2 * np.arange(_SERIES_TERMS) + 1
    signs = (-1.0) ** np.arange(_SERIES_TERMS)
    if c >= _SERIES_SWITCH:
        return float(min(1.0, 4 * (signs * stats.norm.sf(odd * c)).sum()))
    stay = 4 / math.pi * (signs / odd * np.exp(-(odd**2) * math.pi**2 / (8 * c * c))).sum()
    return float(min(1.0, max(0.0, 1 - stay)))


@lru_cache(maxsize=32)
def _boundary_constant(alpha: float) -> float:
    """c with Psi(c) = alpha: 2.2414 for alpha = 0.05."""
    return brentq(lambda c: _crossing_probability(c) - alpha, 0.5, 40, xtol=1e-12)


def information_fraction(n1: int, n2: int, required_n: int) -> float:
    """The information of a comparison over its planned information: 1/(1/n1 + 1/n2) over
    required_n / 2 (equal groups: n / required_n). 0 while a group is empty."""
    if required_n < 1:
        raise StatisticsInputError(f"required_n must be at least 1, got {required_n}.")
    if n1 <= 0 or n2 <= 0:
        return 0.0
    return 2 / (required_n * (1 / n1 + 1 / n2))


def sequential_boundary(information: float, *, alpha: float = 0.05) -> float:
    """The |z| a comparison must reach at information fraction t: c / sqrt(min(t, 1)),
    Psi(c) = alpha (O'Brien-Fleming shape, continuous monitoring; see the module docstring).
    4.48 at t = 0.25, 2.2414 from t = 1 on, for alpha = 0.05."""
    _check_unit("alpha", alpha)
    if information <= 0:
        raise StatisticsInputError("The information fraction must be positive to have a boundary.")
    return _boundary_constant(alpha) / math.sqrt(min(information, 1.0))


def sequential_p_value(z: float, information: float) -> float:
    """The smallest alpha whose boundary |z| reaches at information t: Psi(|z| sqrt(min(t, 1))).
    Below alpha exactly when |z| >= sequential_boundary(t, alpha); valid at any look, so Holm's
    adjustment applies to several comparisons."""
    return _crossing_probability(abs(z) * math.sqrt(min(max(information, 0.0), 1.0)))


def alpha_spent(information: float, *, alpha: float = 0.05) -> float:
    """The error rate the boundary can have spent by information t: P(sup_{s<=t} |W(s)| >= c) =
    Psi(c / sqrt(t)), alpha itself from t = 1 on. For alpha = 0.05: 0.0031 at t = 0.5, 0.0244 at t = 0.8."""
    _check_unit("alpha", alpha)
    if information <= 0:
        return 0.0
    return _crossing_probability(_boundary_constant(alpha) / math.sqrt(min(information, 1.0)))


# --- results and decision -------------------------------------------------------------------


@dataclass(frozen=True)
class VariantCounts:
    """One variant's observations. Proportions: n and conversions. Means (revenue per contact):
    n, value_sum and value_sum_squares of the per-contact values (conversions unused)."""

    key: str
    n: int
    conversions: int = 0
    value_sum: float = 0.0
    value_sum_squares: float = 0.0

    def __post_init__(self) -> None:
        if self.n < 0 or self.conversions < 0:
            raise InvalidCounts(f"Variant {self.key}: counts cannot be negative.")
        if self.conversions > self.n:
            raise InvalidCounts(
                f"Variant {self.key}: {self.conversions} conversions out of {self.n} observations."
            )
        # n sum(x^2) >= (sum x)^2 for any real values (Cauchy-Schwarz); a relative slack for
        # the rounding of sums of floats.
        if self.n * self.value_sum_squares < self.value_sum**2 * (1 - 1e-9):
            raise InvalidCounts(f"Variant {self.key}: value_sum_squares is too small for value_sum.")

    @property
    def rate(self) -> float | None:
        return None if self.n == 0 else self.conversions / self.n

    @property
    def mean(self) -> float | None:
        return None if self.n == 0 else self.value_sum / self.n

    @property
    def variance(self) -> float | None:
        """Unbiased sample variance (sum x^2 - (sum x)^2 / n) / (n - 1); None below two."""
        if self.n < 2:
            return None
        return max(0.0, (self.value_sum_squares - self.value_sum**2 / self.n) / (self.n - 1))


@dataclass(frozen=True)
class VariantResult:
    key: str
    n: int
    conversions: int | None  # None for means
    rate: float | None  # conversion rate, or mean value per contact
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class SequentialLook:
    information_fraction: float  # 0..1+, 1 at the planned sample size
    boundary: float | None  # the |z| to reach for this comparison alone; None before data
    p_value: float  # sequential p-value
    p_value_holm: float


@dataclass(frozen=True)
class Comparison:
    """A variant against the control: difference = variant - control."""

    key: str
    control_key: str
    difference: float | None
    ci_low: float | None  # Newcombe (proportions) or Welch (means), at 1 - alpha
    ci_high: float | None
    statistic: float | None  # z or Welch t
    p_value: float | None
    p_value_holm: float | None
    sequential: SequentialLook | None  # the sequential method only


@dataclass(frozen=True)
class BayesianResult:
    key: str
    probability_best: float
    expected_loss: float


@dataclass(frozen=True)
class Decision:
    status: Status
    reason: str
    winner: str | None


@dataclass(frozen=True)
class Results:
    metric_kind: MetricKind
    method: Method
    alpha: float
    required_n: int
    variants: tuple[VariantResult, ...]
    test: SignificanceTest | None
    comparisons: tuple[Comparison, ...]
    bayesian: tuple[BayesianResult, ...] | None  # None for means: not modelled
    srm: SampleRatioCheck | None
    decision: Decision


def _validate(
    variants: Sequence[VariantCounts], metric_kind: str, method: str, alpha: float, required_n: int
) -> None:
    _check_variant_count(len(variants))
    if len({v.key for v in variants}) != len(variants):
        raise StatisticsInputError("Variant keys must be unique.")
    if metric_kind not in METRIC_KINDS:
        raise StatisticsInputError(
            f"metric_kind must be one of {', '.join(METRIC_KINDS)}, got {metric_kind!r}."
        )
    if method not in METHODS:
        raise StatisticsInputError(f"method must be one of {', '.join(METHODS)}, got {method!r}.")
    if method == "bayesian" and metric_kind == "mean":
        raise MethodNotAvailable(
            "The Bayesian method models conversion rates; revenue per contact is decided by the "
            "frequentist or the sequential method."
        )
    _check_unit("alpha", alpha)
    if required_n < 1:
        raise StatisticsInputError(f"required_n must be at least 1, got {required_n}.")


def _rates(variants: Sequence[VariantCounts], metric_kind: MetricKind) -> list[float | None]:
    return [v.rate if metric_kind == "proportion" else v.mean for v in variants]


def _pair_test(
    variant: VariantCounts, control: VariantCounts, metric_kind: MetricKind
) -> SignificanceTest | None:
    if metric_kind == "proportion":
        return two_proportion_z(variant.conversions, variant.n, control.conversions, control.n)
    if variant.n < 2 or control.n < 2:
        return None
    return welch_t(variant.mean, variant.variance, variant.n, control.mean, control.variance, control.n)


def _comparisons(
    variants: Sequence[VariantCounts],
    *,
    metric_kind: MetricKind,
    method: Method,
    alpha: float,
    required_n: int,
) -> tuple[Comparison, ...]:
    control, others = variants[0], variants[1:]
    tests = [_pair_test(v, control, metric_kind) for v in others]
    # An undefined test (no variation yet) carries no evidence: p = 1 for the ranking.
    holm = holm_adjust([1.0 if t is None else t.p_value for t in tests])
    looks: list[SequentialLook | None] = [None] * len(others)
    if method == "sequential":
        fractions = [information_fraction(v.n, control.n, required_n) for v in others]
        seq_p = [
            sequential_p_value(0.0 if t is None else t.statistic, f)
            for t, f in zip(tests, fractions, strict=True)
        ]
        looks = [
            SequentialLook(f, sequential_boundary(f, alpha=alpha) if f > 0 else None, p, p_holm)
            for f, p, p_holm in zip(fractions, seq_p, holm_adjust(seq_p), strict=True)
        ]
    out = []
    for v, test, p_holm, look in zip(others, tests, holm, looks, strict=True):
        if metric_kind == "proportion":
            interval = newcombe_difference_interval(
                v.conversions, v.n, control.conversions, control.n, 1 - alpha
            )
        elif v.n >= 2 and control.n >= 2:
            interval = _welch_difference_interval(
                v.mean, v.variance, v.n, control.mean, control.variance, control.n, 1 - alpha
            )
        else:
            interval = None
        rate, control_rate = _rates([v, control], metric_kind)
        out.append(
            Comparison(
                key=v.key,
                control_key=control.key,
                difference=None if rate is None or control_rate is None else rate - control_rate,
                ci_low=None if interval is None else interval.low,
                ci_high=None if interval is None else interval.high,
                statistic=None if test is None else test.statistic,
                p_value=None if test is None else test.p_value,
                p_value_holm=None if test is None else p_holm,
                sequential=look,
            )
        )
    return tuple(out)


def _bayesian(
    variants: Sequence[VariantCounts], metric_kind: MetricKind, *, draws: int, seed: int
) -> tuple[BayesianResult, ...] | None:
    if metric_kind != "proportion":
        return None
    best, loss = _posterior_summary(
        [v.conversions for v in variants], [v.n for v in variants], draws=draws, seed=seed
    )
    return tuple(BayesianResult(v.key, b, x) for v, b, x in zip(variants, best, loss, strict=True))


def _omnibus_test(variants: Sequence[VariantCounts], metric_kind: MetricKind) -> SignificanceTest | None:
    if len(variants) == 2:
        return _pair_test(variants[1], variants[0], metric_kind)
    if metric_kind == "proportion":
        return chi_square_homogeneity([v.conversions for v in variants], [v.n for v in variants])
    if min(v.n for v in variants) < 2:
        return None
    return welch_anova([v.mean for v in variants], [v.variance for v in variants], [v.n for v in variants])


# --- the decision's sentences (the one place numbers are rounded) ----------------------------


def _label(variants: Sequence[VariantCounts], index: int, *, start: bool = False) -> str:
    if index == 0:
        return "The control" if start else "the control"
    return f"Variant {variants[index].key}"


def _value(rate: float, metric_kind: MetricKind) -> str:
    return f"{rate * 100:.1f}%" if metric_kind == "proportion" else f"{rate:,.2f} per contact"


def _verb(metric_kind: MetricKind) -> str:
    return "converts" if metric_kind == "proportion" else "brings"


def _p(p: float, label: str = "p") -> str:
    return f"{label} < 0.001" if p < 0.001 else f"{label} = {p:.3f}"


def _points(rate: float) -> str:
    """A difference of rates in percentage points, for sentences."""
    points = rate * 100
    return "less than 0.01 percentage point" if points < 0.01 else f"{points:.2f} percentage points"


def _sizes(variant: VariantCounts, control: VariantCounts) -> str:
    if variant.n == control.n:
        return f"n = {variant.n:,} each"
    return f"n = {variant.n:,} and {control.n:,} for the control"


def _best_index(rates: list[float | None]) -> int | None:
    """The highest rate; ties go to the control, then to the earlier variant."""
    known = [(i, r) for i, r in enumerate(rates) if r is not None]
    return None if not known else min(known, key=lambda item: (-item[1], item[0]))[0]


def _against_control(
    variants: Sequence[VariantCounts], index: int, rates: list[float | None], metric_kind: MetricKind
) -> str:
    return (
        f"{_label(variants, index, start=True)} {_verb(metric_kind)} {_value(rates[index], metric_kind)} "
        f"against {_value(rates[0], metric_kind)} for the control"
    )


def _test_decision(
    variants: Sequence[VariantCounts],
    comparisons: tuple[Comparison, ...],
    *,
    metric_kind: MetricKind,
    alpha: float,
    required_n: int,
    sequential: bool,
) -> Decision:
    """Frequentist and sequential rules: the best variant wins when its (Holm-adjusted) p
    against the control is below alpha; the control wins when it is best and below alpha against
    every variant. The fixed test is read only at the planned n; the sequential one at any look."""
    rates = _rates(variants, metric_kind)
    reached = all(v.n >= required_n for v in variants)
    smallest = min(range(len(variants)), key=lambda i: (variants[i].n, i))
    if not sequential and not reached:
        return Decision(
            KEEP_RUNNING,
            f"{_label(variants, smallest, start=True)} has {variants[smallest].n:,} of the "
            f"{required_n:,} observations each variant needs; a fixed-horizon test is read only then.",
            None,
        )

    def adjusted(c: Comparison) -> float | None:
        return c.sequential.p_value_holm if sequential else c.p_value_holm

    kind = "sequential p" if sequential else "p"
    best = _best_index(rates)
    if best is not None and best > 0:
        comparison = comparisons[best - 1]
        p = adjusted(comparison)
        if p is not None and p < alpha:
            where = (
                f" at {comparison.sequential.information_fraction:.0%} of the planned sample size"
                if sequential
                else ""
            )
            return Decision(
                STOP_WINNER,
                f"{_against_control(variants, best, rates, metric_kind)}"
                f"{' and crossed the sequential boundary' if sequential else ''} "
                f"({_p(p, kind)} after Holm adjustment{where}, "
                f"{_sizes(variants[best], variants[0])}).",
                variants[best].key,
            )
    if best == 0:
        ps = [adjusted(c) for c in comparisons]
        if all(p is not None and p < alpha for p in ps):
            return Decision(
                STOP_WINNER,
                f"The control {_verb(metric_kind)} {_value(rates[0], metric_kind)}, more than every "
                f"variant (largest {_p(max(ps), kind)} after Holm adjustment).",
                variants[0].key,
            )
    if sequential and not reached:
        closest = min(comparisons, key=lambda c: c.sequential.p_value_holm)
        return Decision(
            KEEP_RUNNING,
            f"No variant has crossed the sequential boundary yet: the closest, Variant {closest.key}, "
            f"has {_p(closest.sequential.p_value_holm, kind)} after Holm adjustment at "
            f"{closest.sequential.information_fraction:.0%} of the planned sample size (a stop needs "
            f"less than {alpha:g}).",
            None,
        )
    best_p = None if best is None or best == 0 else adjusted(comparisons[best - 1])
    if best is None or (best > 0 and best_p is None) or all(adjusted(c) is None for c in comparisons):
        return Decision(STOP_NO_DIFFERENCE, "No variant shows any variation to compare yet.", None)
    if best > 0:
        p = best_p
        return Decision(
            STOP_NO_DIFFERENCE,
            f"{_against_control(variants, best, rates, metric_kind)}, a difference chance explains "
            f"({_p(p, kind)} after Holm adjustment, "
            f"{_sizes(variants[best], variants[0])}).",
            None,
        )
    return Decision(
        STOP_NO_DIFFERENCE,
        f"No variant {_verb(metric_kind)} more than the control ({_value(rates[0], metric_kind)}), "
        "and the control is not ahead of every variant beyond chance.",
        None,
    )


def _bayesian_decision(
    variants: Sequence[VariantCounts],
    bayesian: tuple[BayesianResult, ...],
    *,
    required_n: int,
    probability_threshold: float,
    loss_threshold: float,
) -> Decision:
    """A winner at probability to be best >= the threshold with an expected loss below the loss
    threshold; no difference when every loss is below it at the planned n; else keep running."""
    leader = min(range(len(bayesian)), key=lambda i: (-bayesian[i].probability_best, i))
    lead = bayesian[leader]
    name = _label(variants, leader, start=True)
    if lead.probability_best >= probability_threshold and lead.expected_loss < loss_threshold:
        return Decision(
            STOP_WINNER,
            f"{name} is the best with probability {lead.probability_best:.1%}, and choosing it gives up "
            f"{_points(lead.expected_loss)} of conversion on average (the limit is "
            f"{_points(loss_threshold)}).",
            variants[leader].key,
        )
    worst_loss = max(b.expected_loss for b in bayesian)
    if worst_loss < loss_threshold and all(v.n >= required_n for v in variants):
        return Decision(
            STOP_NO_DIFFERENCE,
            f"Whichever variant is chosen gives up at most {_points(worst_loss)} of conversion on "
            f"average, below the limit of {_points(loss_threshold)}: the difference does not matter.",
            None,
        )
    return Decision(
        KEEP_RUNNING,
        f"{name} is the best with probability {lead.probability_best:.1%} and choosing it gives up "
        f"{_points(lead.expected_loss)} of conversion on average; a winner needs "
        f"{probability_threshold:.0%} and less than {_points(loss_threshold)}.",
        None,
    )


def _decision(
    variants: Sequence[VariantCounts],
    comparisons: tuple[Comparison, ...],
    bayesian: tuple[BayesianResult, ...] | None,
    *,
    metric_kind: MetricKind,
    method: Method,
    alpha: float,
    required_n: int,
    probability_threshold: float,
    loss_threshold: float,
) -> Decision:
    if method == "bayesian":
        return _bayesian_decision(
            variants,
            bayesian,
            required_n=required_n,
            probability_threshold=probability_threshold,
            loss_threshold=loss_threshold,
        )
    return _test_decision(
        variants,
        comparisons,
        metric_kind=metric_kind,
        alpha=alpha,
        required_n=required_n,
        sequential=method == "sequential",
    )


def _check_thresholds(probability_threshold: float, loss_threshold: float) -> None:
    _check_unit("probability_threshold", probability_threshold)
    if loss_threshold <= 0:
        raise StatisticsInputError(f"loss_threshold must be positive, got {loss_threshold}.")


def decide(
    variants: Sequence[VariantCounts],
    *,
    method: Method,
    required_n: int,
    alpha: float = 0.05,
    metric_kind: MetricKind = "proportion",
    probability_threshold: float = PROBABILITY_BEST_THRESHOLD,
    loss_threshold: float = EXPECTED_LOSS_THRESHOLD,
    draws: int = MONTE_CARLO_DRAWS,
    seed: int = MONTE_CARLO_SEED,
) -> Decision:
    """The decision alone (the first variant is the control):

    - frequentist: keep running until every variant has required_n observations; then the best
      variant wins if its Holm-adjusted p against the control is below alpha (the control wins
      if it is best and below alpha against every variant), else no difference;
    - bayesian (proportions only): a winner at probability to be best >= probability_threshold
      with an expected loss < loss_threshold; no difference when every variant's expected loss
      is below loss_threshold and required_n is reached; else keep running;
    - sequential: the same winner rule on Holm-adjusted sequential p-values at any look; no
      difference at the planned n; else keep running.
    """
    _validate(variants, metric_kind, method, alpha, required_n)
    _check_thresholds(probability_threshold, loss_threshold)
    comparisons = (
        ()
        if method == "bayesian"
        else _comparisons(
            variants, metric_kind=metric_kind, method=method, alpha=alpha, required_n=required_n
        )
    )
    bayesian = _bayesian(variants, metric_kind, draws=draws, seed=seed) if method == "bayesian" else None
    return _decision(
        variants,
        comparisons,
        bayesian,
        metric_kind=metric_kind,
        method=method,
        alpha=alpha,
        required_n=required_n,
        probability_threshold=probability_threshold,
        loss_threshold=loss_threshold,
    )


def analyse(
    variants: Sequence[VariantCounts],
    *,
    metric_kind: MetricKind,
    alpha: float,
    weights: Sequence[float],
    method: Method,
    required_n: int,
    probability_threshold: float = PROBABILITY_BEST_THRESHOLD,
    loss_threshold: float = EXPECTED_LOSS_THRESHOLD,
    draws: int = MONTE_CARLO_DRAWS,
    seed: int = MONTE_CARLO_SEED,
) -> Results:
    """The results of DESIGN 9.4 (the first variant is the control): per variant its rate (or
    mean per contact) and interval at 1 - alpha (Wilson, or Student t for means); the omnibus
    test (two variants: two-proportion z or Welch t; more: Pearson chi-square or Welch F); each
    variant against the control (difference, Newcombe or Welch interval, raw and Holm-adjusted
    p, and the sequential look for the sequential method); the Bayesian probability to be best
    and expected loss (proportions; None for means); the sample-ratio check against the weights;
    the decision (see decide)."""
    _validate(variants, metric_kind, method, alpha, required_n)
    _check_weights(weights, len(variants))
    _check_thresholds(probability_threshold, loss_threshold)
    confidence = 1 - alpha
    rows = []
    for v in variants:
        if metric_kind == "proportion":
            interval = wilson_interval(v.conversions, v.n, confidence)
        else:
            interval = None if v.n < 2 else _mean_interval(v.mean, v.variance, v.n, confidence)
        rows.append(
            VariantResult(
                key=v.key,
                n=v.n,
                conversions=v.conversions if metric_kind == "proportion" else None,
                rate=_rates([v], metric_kind)[0],
                ci_low=None if interval is None else interval.low,
                ci_high=None if interval is None else interval.high,
            )
        )
    comparisons = _comparisons(
        variants, metric_kind=metric_kind, method=method, alpha=alpha, required_n=required_n
    )
    bayesian = _bayesian(variants, metric_kind, draws=draws, seed=seed)
    return Results(
        metric_kind=metric_kind,
        method=method,
        alpha=alpha,
        required_n=required_n,
        variants=tuple(rows),
        test=_omnibus_test(variants, metric_kind),
        comparisons=comparisons,
        bayesian=bayesian,
        srm=sample_ratio_mismatch([v.n for v in variants], weights),
        decision=_decision(
            variants,
            comparisons,
            bayesian,
            metric_kind=metric_kind,
            method=method,
            alpha=alpha,
            required_n=required_n,
            probability_threshold=probability_threshold,
            loss_threshold=loss_threshold,
        ),
    )
