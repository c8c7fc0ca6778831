"""The experiments' statistics engine (insights.experiments.stats), function by function: the
values published by R and statsmodels, hand-computed small cases, independent scipy
computations, and the input errors. Pure: no database."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from insights.experiments import stats

# --- published values ---------------------------------------------------------------------------


def test_sample_size_matches_r_power_prop_test():
    # R: power.prop.test(p1 = .5, p2 = .75, power = .9) prints n = 76.7 (its help page's example).
    # By hand: pbar = .625, z_.975 = 1.959964, z_.9 = 1.281552;
    # n = (1.959964 x sqrt(2 x .625 x .375) + 1.281552 x sqrt(.25 + .1875))^2 / .25^2
    #   = (1.341895 + 0.847502)^2 / 0.0625 = 76.7069
    exact = stats.sample_size_exact(0.5, 0.75, power=0.9)
    assert round(exact, 1) == 76.7
    assert exact == pytest.approx(76.7069, abs=0.01)
    assert stats.required_sample_size(0.5, 0.75, power=0.9) == 77
    # The published 76.65294 belongs to statsmodels' NormalIndPower on Cohen's h (an arcsine
    # formula), not to R's pooled-variance equation: the two differ by 0.05.
    assert exact - 76.65294 == pytest.approx(0.054, abs=0.001)


def test_sample_size_is_symmetric_and_shrinks_with_the_effect():
    assert stats.sample_size_exact(0.75, 0.5, power=0.9) == stats.sample_size_exact(0.5, 0.75, power=0.9)
    assert stats.required_sample_size(0.10, 0.12) > stats.required_sample_size(0.10, 0.15)


def test_t_test_power_matches_r_power_t_test():
    # R: power.t.test(n = 20, delta = 1) -> power = 0.8689528
    assert stats.t_test_power(20, 1) == pytest.approx(0.8689528, abs=1e-6)


def test_t_test_sample_size_matches_r_power_t_test():
    # R: power.t.test(power = .90, delta = 1) -> n = 22.02110, so 23 per group.
    assert stats.t_test_sample_size(1, 1, power=0.9) == 23
    assert stats.t_test_power(22.02110, 1) == pytest.approx(0.9, abs=1e-6)
    # Only delta / sd matters.
    assert stats.t_test_sample_size(2, 2, power=0.9) == 23
    # sd = 2: the normal approximation 2 (1.959964 + 1.281552)^2 x 2^2 = 84.06; the t
    # distribution's heavier tails add about one (85.03): 86.
    assert stats.t_test_sample_size(1, 2, power=0.9) == 86


def test_two_proportion_z_matches_statsmodels():
    # statsmodels: proportions_ztest([250, 200], [2000, 2000]) -> z = 2.5020, p = 0.01235
    test = stats.two_proportion_z(250, 2000, 200, 2000)
    assert round(test.statistic, 4) == 2.5020
    assert test.p_value == pytest.approx(0.01235, abs=5e-6)
    z, p = proportions_ztest([250, 200], [2000, 2000])
    assert (test.statistic, test.p_value) == pytest.approx((z, p), abs=1e-12)
    assert test.name == "two-proportion z"
    assert test.df is None


def test_chi_square_matches_r_prop_test_on_the_smokers():
    # R: prop.test(smokers <- c(83, 90, 129, 70), patients <- c(86, 93, 136, 82))
    #    X-squared = 12.6, df = 3, p-value = 0.005585
    test = stats.chi_square_homogeneity([83, 90, 129, 70], [86, 93, 136, 82])
    assert round(test.statistic, 1) == 12.6
    assert test.df == 3
    assert float(f"{test.p_value:.4g}") == 0.005585
    assert test.name == "Pearson chi-square"


def test_newcombe_interval_matches_newcombe_1998():
    # Newcombe (1998), method 10, example (e): 56/70 - 48/80, 95% CI 0.0524 to 0.3339.
    interval = stats.newcombe_difference_interval(56, 70, 48, 80)
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.0524, 0.3339)


# --- hand-computed cases ------------------------------------------------------------------------


def test_two_proportion_z_hand_checked():
    # pooled 40/200 = 0.2; se = sqrt(0.2 x 0.8 x (1/100 + 1/100)) = 0.056569;
    # z = 0.2 / 0.056569 = 3.5355; p = erfc(3.5355 / sqrt 2) = erfc(2.5) = 0.000407
    test = stats.two_proportion_z(30, 100, 10, 100)
    assert test.statistic == pytest.approx(3.5355, abs=5e-5)
    assert test.p_value == pytest.approx(0.000407, abs=5e-7)
    assert stats.two_proportion_z(10, 100, 30, 100).statistic == pytest.approx(-3.5355, abs=5e-5)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(0, 0, 3, 10), (0, 10, 0, 20), (10, 10, 20, 20)],  # no observation; no variation (x2)
)
def test_two_proportion_z_is_none_without_observations_or_variation(x1, n1, x2, n2):
    assert stats.two_proportion_z(x1, n1, x2, n2) is None


@pytest.mark.parametrize(
    ("successes", "totals", "statistic", "df", "p_value"),
    [
        # 2 x 2: expected 15 and 85 per column; X^2 = 2 x 25/15 + 2 x 25/85 = 3.9216 (= z^2,
        # z = 0.1 / sqrt(0.15 x 0.85 x 0.02) = 1.98030); p = P(chi2_1 > 3.9216) = 0.04767
        ([10, 20], [100, 100], 3.9216, 1, 0.04767),
        # pooled 0.2: expected 20 and 80 per column; X^2 = 100/20 + 0 + 100/20 + 100/80 + 0 +
        # 100/80 = 12.5; with df 2, p = exp(-12.5 / 2) = 0.0019305
        ([10, 20, 30], [100, 100, 100], 12.5, 2, 0.0019305),
    ],
)
def test_chi_square_hand_checked(successes, totals, statistic, df, p_value):
    test = stats.chi_square_homogeneity(successes, totals)
    assert test.statistic == pytest.approx(statistic, abs=5e-5)
    assert test.df == df
    assert test.p_value == pytest.approx(p_value, abs=5e-6)


def test_chi_square_is_none_without_variation_or_with_an_empty_variant():
    assert stats.chi_square_homogeneity([0, 0, 0], [10, 20, 30]) is None
    assert stats.chi_square_homogeneity([1, 2, 0], [10, 20, 0]) is None


def test_welch_t_hand_checked():
    # v1/n1 = 0.4, v2/n2 = 0.9; t = (10 - 12) / sqrt(1.3) = -1.7541;
    # df = 1.3^2 / (0.4^2 / 9 + 0.9^2 / 9) = 1.69 / 0.107778 = 15.6804
    test = stats.welch_t(10, 4, 10, 12, 9, 10)
    assert test.statistic == pytest.approx(-1.7541, abs=5e-5)
    assert test.df == pytest.approx(15.6804, abs=5e-5)
    assert test.p_value == pytest.approx(2 * sps.t.sf(1.7541160, 15.6804124), abs=1e-7)


def test_welch_t_matches_scipy_on_samples():
    rng = np.random.default_rng(7)
    a, b = rng.gamma(2.0, 30.0, size=120), rng.gamma(2.5, 28.0, size=90)
    ours = stats.welch_t_from_samples(a, b)
    theirs = sps.ttest_ind(a, b, equal_var=False)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-10)
    assert ours.df == pytest.approx(theirs.df, rel=1e-10)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-10)


def test_welch_anova_matches_scipy_on_samples():
    rng = np.random.default_rng(11)
    samples = [rng.normal(100, 20, 60), rng.normal(108, 35, 45), rng.normal(95, 10, 80)]
    ours = stats.welch_anova(
        [s.mean() for s in samples], [s.var(ddof=1) for s in samples], [len(s) for s in samples]
    )
    theirs = sps.f_oneway(*samples, equal_var=False)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-10)
    assert ours.df == 2
    assert ours.name == "Welch F"


def test_welch_is_none_below_two_observations_or_without_variance():
    assert stats.welch_t(10, 4, 1, 12, 9, 10) is None
    assert stats.welch_t(10, 0, 5, 12, 0, 5) is None
    assert stats.welch_t_from_samples([1.0], [1.0, 2.0]) is None


def test_wilson_hand_checked_and_against_statsmodels():
    # 0/10: z^2 = 3.841459; centre = 1.920730 / 13.841459 = 0.138766;
    # half = 1.959964 / 13.841459 x sqrt(0.960365) = 0.141601 x 0.979982 = 0.138766:
    # (0, 0.277533)
    interval = stats.wilson_interval(0, 10)
    assert (interval.low, interval.high) == pytest.approx((0.0, 0.277533), abs=1e-6)
    for x, n, confidence in [(7, 40, 0.95), (250, 2000, 0.90), (99, 100, 0.99), (0, 3, 0.95)]:
        ours = stats.wilson_interval(x, n, confidence)
        low, high = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
        assert (ours.low, ours.high) == pytest.approx((low, high), abs=1e-12)
    assert stats.wilson_interval(0, 0) is None


def test_holm_hand_checked_and_against_statsmodels():
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(1 x 0.04, 0.06) = 0.06
    assert stats.holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    rng = np.random.default_rng(3)
    for size in (1, 2, 5, 12):
        pvalues = rng.uniform(0, 0.2, size)
        assert stats.holm_adjust(pvalues) == pytest.approx(multipletests(pvalues, method="holm")[1])
    assert stats.holm_adjust([0.6, 0.7]) == [1.0, 1.0]
    assert stats.holm_adjust([]) == []


# --- Bayesian: hand cases and an independent quadrature --------------------------------------------


def _quadrature(successes, totals):
    """P(best) = integral f_i(p) prod_{j != i} F_j(p) dp, and expected loss
    = integral (1 - prod_j F_j(p)) dp - mean_i, Beta(1 + x, 1 + n - x) posteriors."""
    a = [1 + x for x in successes]
    b = [1 + n - x for x, n in zip(successes, totals, strict=True)]
    means = [ai / (ai + bi) for ai, bi in zip(a, b, strict=True)]
    k = len(a)

    def others(p, i):
        return math.prod(sps.beta.cdf(p, a[j], b[j]) for j in range(k) if j != i)

    best = [
        integrate.quad(
            lambda p, i=i: sps.beta.pdf(p, a[i], b[i]) * others(p, i), 0, 1, points=means, limit=200
        )[0]
        for i in range(k)
    ]
    top = integrate.quad(
        lambda p: 1 - math.prod(sps.beta.cdf(p, a[j], b[j]) for j in range(k)), 0, 1, points=means, limit=200
    )[0]
    return best, [top - m for m in means]


def test_bayesian_hand_checked():
    # Nothing observed: two uniforms; P(best) = 1/2 each, E[max(U1, U2)] - 1/2 = 2/3 - 1/2 = 1/6.
    assert stats.probability_best([0, 0], [0, 0]) == pytest.approx([0.5, 0.5], abs=1e-12)
    assert stats.expected_loss([0, 0], [0, 0]) == pytest.approx([1 / 6, 1 / 6], abs=1e-12)
    # 1/1 against 0/1: Beta(2, 1) (density 2p) against Beta(1, 2) (cdf 1 - (1 - p)^2);
    # P = integral 2p (2p - p^2) dp = 4/3 - 1/2 = 5/6.
    assert stats.probability_best([1, 0], [1, 1]) == pytest.approx([5 / 6, 1 / 6], abs=1e-12)


@pytest.mark.parametrize(
    ("successes", "totals"),
    [
        ([100, 120], [1000, 1000]),  # exact sum
        ([3, 9], [40, 35]),
        ([480, 520], [5000, 5000]),
        ([100, 120, 110], [1000, 1000, 1000]),  # Monte Carlo
        ([30, 31, 29, 40], [300, 300, 300, 310]),
    ],
)
def test_probability_best_and_expected_loss_match_quadrature(successes, totals):
    best, loss = _quadrature(successes, totals)
    assert stats.probability_best(successes, totals) == pytest.approx(best, abs=1e-3)
    assert stats.expected_loss(successes, totals) == pytest.approx(loss, abs=1e-3)
    assert sum(stats.probability_best(successes, totals)) == pytest.approx(1)


def test_monte_carlo_is_deterministic_for_a_seed():
    args = ([100, 120, 110], [1000, 1000, 1000])
    assert stats.probability_best(*args, draws=10_000, seed=5) == stats.probability_best(
        *args, draws=10_000, seed=5
    )
    assert stats.probability_best(*args, draws=10_000, seed=5) != stats.probability_best(
        *args, draws=10_000, seed=6
    )


# --- sample-ratio mismatch ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "weights", "mismatch"),
    [
        # X^2 = 2 x 50^2 / 5000 = 1.0, p = 0.3173
        ([5050, 4950], [0.5, 0.5], False),
        # X^2 = 2 x 200^2 / 5000 = 16, p = 0.000063 < 0.001
        ([5200, 4800], [0.5, 0.5], True),
        ([600, 400], [0.6, 0.4], False),
        ([3100, 3000, 2900, 1000], [0.3, 0.3, 0.3, 0.1], False),
        ([300, 330, 370], [0.5, 0.25, 0.25], True),
    ],
)
def test_sample_ratio_mismatch_against_scipy(observed, weights, mismatch):
    check = stats.sample_ratio_mismatch(observed, weights)
    expected = sps.chisquare(observed, [w * sum(observed) for w in weights]).pvalue
    assert check.p_value == pytest.approx(expected, rel=1e-9)
    assert check.mismatch is mismatch
    assert check.mismatch is bool(expected < stats.SRM_P_THRESHOLD)


def test_sample_ratio_mismatch_hand_checked_and_empty():
    assert stats.sample_ratio_mismatch([5050, 4950], [0.5, 0.5]).p_value == pytest.approx(0.3173, abs=5e-5)
    assert stats.sample_ratio_mismatch([0, 0], [0.5, 0.5]) is None


# --- sequential boundary --------------------------------------------------------------------------


def test_boundary_constant_is_the_continuous_crossing_level():
    # Psi(c) = 4 (1 - Phi(c)) - 4 (1 - Phi(3c)) + ... = 0.05: c = 2.2414, about z_{1 - 0.05/4}.
    assert stats.sequential_boundary(1.0) == pytest.approx(2.2414, abs=5e-5)
    assert stats.sequential_boundary(1.0) == pytest.approx(sps.norm.isf(0.0125), abs=1e-6)
    # O'Brien-Fleming shape: c / sqrt(t); and no lower than c after the planned n.
    assert stats.sequential_boundary(0.25) == pytest.approx(2 * 2.2414, abs=1e-4)
    assert stats.sequential_boundary(1.7) == stats.sequential_boundary(1.0)


def test_alpha_spent_grows_to_alpha():
    spent = [stats.alpha_spent(t) for t in (0.0, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5)]
    assert spent == sorted(spent)
    assert spent[0] == 0.0
    assert spent[1] < 1e-6  # almost nothing spent on a tenth of the data
    assert spent[-2] == pytest.approx(0.05, abs=1e-12)
    assert spent[-1] == pytest.approx(0.05, abs=1e-12)


def test_sequential_p_value_crosses_alpha_at_the_boundary():
    for t in (0.2, 0.5, 1.0):
        boundary = stats.sequential_boundary(t)
        assert stats.sequential_p_value(boundary, t) == pytest.approx(0.05, abs=1e-9)
        assert (
            stats.sequential_p_value(boundary * 1.01, t) < 0.05 < stats.sequential_p_value(boundary * 0.99, t)
        )
    assert stats.sequential_p_value(3.0, 0.0) == 1.0


def test_crossing_probability_series_agree_where_they_meet():
    # The theta series (small c) and the normal-tail series (large c) are the same function.
    below, above = stats._crossing_probability(0.999999), stats._crossing_probability(1.0)
    assert below == pytest.approx(above, abs=1e-5)
    assert above == pytest.approx(0.629223, abs=1e-6)  # 4 (0.158655 - 0.001350 + ...)


def test_information_fraction_is_harmonic():
    assert stats.information_fraction(500, 500, 1000) == 0.5
    # 1 / (1/300 + 1/600) = 200, over 1000 / 2: 0.4
    assert stats.information_fraction(300, 600, 1000) == pytest.approx(0.4)
    assert stats.information_fraction(0, 600, 1000) == 0.0


# --- input errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: stats.required_sample_size(0.1, 0.12, alpha=0), stats.OutOfUnitInterval),
        (lambda: stats.required_sample_size(0.1, 0.12, alpha=1), stats.OutOfUnitInterval),
        (lambda: stats.required_sample_size(0.1, 0.12, power=1.2), stats.OutOfUnitInterval),
        (lambda: stats.required_sample_size(0.1, 0.12, power=0), stats.OutOfUnitInterval),
        (lambda: stats.required_sample_size(0, 0.12), stats.OutOfUnitInterval),
        (lambda: stats.required_sample_size(0.1, 0.1), stats.StatisticsInputError),
        (lambda: stats.t_test_sample_size(1, 1, alpha=1.5), stats.OutOfUnitInterval),
        (lambda: stats.t_test_sample_size(1, 1, power=-0.1), stats.OutOfUnitInterval),
        (lambda: stats.t_test_sample_size(0, 1), stats.StatisticsInputError),
        (lambda: stats.t_test_power(1, 1), stats.InvalidCounts),
        (lambda: stats.two_proportion_z(-1, 10, 2, 10), stats.InvalidCounts),
        (lambda: stats.two_proportion_z(11, 10, 2, 10), stats.InvalidCounts),
        (lambda: stats.chi_square_homogeneity([1], [10]), stats.TooFewVariants),
        (lambda: stats.chi_square_homogeneity([1, 12], [10, 10]), stats.InvalidCounts),
        (lambda: stats.wilson_interval(3, 10, confidence=1), stats.OutOfUnitInterval),
        (lambda: stats.probability_best([1], [10]), stats.TooFewVariants),
        (lambda: stats.probability_best([1, -1], [10, 10]), stats.InvalidCounts),
        (lambda: stats.sample_ratio_mismatch([10, 10], [0.5, 0.4]), stats.WeightsDoNotSumToOne),
        (lambda: stats.sample_ratio_mismatch([10, 10], [0.6, 0.6]), stats.WeightsDoNotSumToOne),
        (lambda: stats.sample_ratio_mismatch([10], [1.0]), stats.TooFewVariants),
        (lambda: stats.sequential_boundary(0.5, alpha=0), stats.OutOfUnitInterval),
        (lambda: stats.VariantCounts("B", n=-1), stats.InvalidCounts),
        (lambda: stats.VariantCounts("B", n=10, conversions=-2), stats.InvalidCounts),
        (lambda: stats.VariantCounts("B", n=10, conversions=11), stats.InvalidCounts),
        (lambda: stats.VariantCounts("B", n=2, value_sum=10.0, value_sum_squares=1.0), stats.InvalidCounts),
    ],
)
def test_bad_input_raises_a_value_error_that_says_why(call, error):
    with pytest.raises(error) as raised:
        call()
    assert isinstance(raised.value, ValueError)
    assert str(raised.value)


def test_weights_within_the_tolerance_are_accepted():
    assert stats.sample_ratio_mismatch([500, 500], [0.5, 0.5 + 5e-7]) is not None
