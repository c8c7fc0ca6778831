"""The decision rules (insights.experiments.stats.decide) on constructed counts, and analyse's
results contract (DESIGN 9.4). Pure: no database."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from insights.experiments import stats
from insights.experiments.stats import KEEP_RUNNING, STOP_NO_DIFFERENCE, STOP_WINNER, VariantCounts


def counts(*pairs: tuple[int, int], keys: str = "ABCD") -> list[VariantCounts]:
    """(n, conversions) per variant, keyed A (the control), B, C..."""
    return [VariantCounts(key, n, x) for key, (n, x) in zip(keys, pairs, strict=False)]


# --- frequentist --------------------------------------------------------------------------------


def test_frequentist_keeps_running_until_every_variant_has_its_n():
    decision = stats.decide(counts((2000, 200), (1200, 170)), method="frequentist", required_n=2000)
    assert decision == stats.Decision(
        KEEP_RUNNING,
        "Variant B has 1,200 of the 2,000 observations each variant needs; a fixed-horizon test is "
        "read only then.",
        None,
    )


def test_frequentist_winner():
    # 250/2000 against 200/2000: z = 2.5020, p = 0.01235 (one comparison: Holm changes nothing)
    decision = stats.decide(counts((2000, 200), (2000, 250)), method="frequentist", required_n=2000)
    assert decision == stats.Decision(
        STOP_WINNER,
        "Variant B converts 12.5% against 10.0% for the control (p = 0.012 after Holm adjustment, "
        "n = 2,000 each).",
        "B",
    )


def test_frequentist_no_difference():
    # 210/2000 against 200/2000: pooled 0.1025, se = sqrt(0.1025 x 0.8975 x 0.001) = 0.009591,
    # z = 0.005 / 0.009591 = 0.5213, p = 0.602
    decision = stats.decide(counts((2000, 200), (2000, 210)), method="frequentist", required_n=2000)
    assert decision.status == STOP_NO_DIFFERENCE
    assert decision.winner is None
    assert decision.reason == (
        "Variant B converts 10.5% against 10.0% for the control, a difference chance explains "
        "(p = 0.602 after Holm adjustment, n = 2,000 each)."
    )


def test_holm_turns_a_raw_win_into_no_difference_among_three_variants():
    # B: 240 against 200 of 2,000: z = 2.0213, raw p = 0.0432; C: 205, p = 0.7933.
    # Holm: 2 x 0.0432 = 0.0865 > 0.05, so B does not win.
    decision = stats.decide(
        counts((2000, 200), (2000, 240), (2000, 205)), method="frequentist", required_n=2000
    )
    assert decision.status == STOP_NO_DIFFERENCE
    assert "p = 0.086 after Holm adjustment" in decision.reason
    two_way = stats.decide(counts((2000, 200), (2000, 240)), method="frequentist", required_n=2000)
    assert (two_way.status, two_way.winner) == (STOP_WINNER, "B")


def test_the_control_wins_when_it_beats_every_variant():
    # B 200 (z = 2.5020, p = 0.0124), C 195 (z = 2.7656, p = 0.0057) against the control's 250:
    # Holm 2 x 0.0057 = 0.0114, max(0.0124, 0.0114) = 0.0124: both below 0.05.
    decision = stats.decide(
        counts((2000, 250), (2000, 200), (2000, 195)), method="frequentist", required_n=2000
    )
    assert decision == stats.Decision(
        STOP_WINNER,
        "The control converts 12.5%, more than every variant (largest p = 0.012 after Holm adjustment).",
        "A",
    )


def test_the_control_ahead_of_only_one_variant_is_no_difference():
    decision = stats.decide(
        counts((2000, 250), (2000, 200), (2000, 245)), method="frequentist", required_n=2000
    )
    assert decision.status == STOP_NO_DIFFERENCE
    assert decision.reason.startswith("No variant converts more than the control (12.5%)")


def test_no_variation_at_all_is_no_difference():
    decision = stats.decide(counts((100, 0), (100, 0)), method="frequentist", required_n=100)
    assert decision == stats.Decision(
        STOP_NO_DIFFERENCE, "No variant shows any variation to compare yet.", None
    )


# --- sequential ---------------------------------------------------------------------------------


def test_sequential_stops_early_when_the_boundary_is_crossed():
    # 320 against 200 of 2,000 at 20% of 10,000: pooled 0.13, se = sqrt(0.13 x 0.87 x 0.001)
    # = 0.010635, z = 0.06 / 0.010635 = 5.642 > 2.2414 / sqrt(0.2) = 5.012; sequential
    # p = Psi(5.642 x sqrt(0.2) = 2.523) = 4 x (1 - Phi(2.523)) = 0.023
    decision = stats.decide(counts((2000, 200), (2000, 320)), method="sequential", required_n=10_000)
    assert (decision.status, decision.winner) == (STOP_WINNER, "B")
    assert decision.reason == (
        "Variant B converts 16.0% against 10.0% for the control and crossed the sequential boundary "
        "(sequential p = 0.023 after Holm adjustment at 20% of the planned sample size, n = 2,000 each)."
    )
    # 300 (z = 4.78) has not crossed yet at 20%.
    early = stats.decide(counts((2000, 200), (2000, 300)), method="sequential", required_n=10_000)
    assert early.status == KEEP_RUNNING


def test_sequential_keeps_running_below_the_boundary():
    # z = 2.5020 at 20%: the boundary is 5.012
    decision = stats.decide(counts((2000, 200), (2000, 250)), method="sequential", required_n=10_000)
    assert decision.status == KEEP_RUNNING
    assert decision.reason.startswith(
        "No variant has crossed the sequential boundary yet: the closest, Variant B, has sequential p = "
    )
    assert "at 20% of the planned sample size (a stop needs less than 0.05)." in decision.reason


def test_sequential_at_the_planned_n():
    # z = 2.0213 < 2.2414 at full information: no difference (a single fixed test would have
    # said p = 0.043); z = 2.5020 > 2.2414: the winner.
    no_difference = stats.decide(counts((2000, 200), (2000, 240)), method="sequential", required_n=2000)
    assert no_difference.status == STOP_NO_DIFFERENCE
    winner = stats.decide(counts((2000, 200), (2000, 250)), method="sequential", required_n=2000)
    assert (winner.status, winner.winner) == (STOP_WINNER, "B")


# --- bayesian -----------------------------------------------------------------------------------


def test_bayesian_winner():
    # P(B best) = 0.9985, expected loss of B = 0.000004 < 0.001
    decision = stats.decide(counts((2000, 200), (2000, 260)), method="bayesian", required_n=2000)
    assert decision == stats.Decision(
        STOP_WINNER,
        "Variant B is the best with probability 99.9%, and choosing it gives up less than 0.01 "
        "percentage point of conversion on average (the limit is 0.10 percentage points).",
        "B",
    )


def test_bayesian_keeps_running_while_uncertain():
    # 26/200 against 20/200: P(B best) = 0.824, loss 0.0030
    decision = stats.decide(counts((200, 20), (200, 26)), method="bayesian", required_n=2000)
    assert decision == stats.Decision(
        KEEP_RUNNING,
        "Variant B is the best with probability 82.4% and choosing it gives up 0.30 percentage points "
        "of conversion on average; a winner needs 95% and less than 0.10 percentage points.",
        None,
    )


def test_bayesian_no_difference_needs_small_losses_and_the_planned_n():
    # 10% on 100,000 each: each loss = 0.000535 < 0.001, P(best) = 0.5
    equal = counts((100_000, 10_000), (100_000, 10_000))
    decision = stats.decide(equal, method="bayesian", required_n=100_000)
    assert (decision.status, decision.winner) == (STOP_NO_DIFFERENCE, None)
    assert decision.reason.startswith("Whichever variant is chosen gives up at most 0.05 percentage points")
    assert stats.decide(equal, method="bayesian", required_n=200_000).status == KEEP_RUNNING


def test_bayesian_thresholds_are_configurable():
    variants = counts((200, 20), (200, 26))
    decision = stats.decide(
        variants, method="bayesian", required_n=200, probability_threshold=0.8, loss_threshold=0.005
    )
    assert (decision.status, decision.winner) == (STOP_WINNER, "B")


def test_bayesian_with_three_variants():
    decision = stats.decide(counts((3000, 300), (3000, 390), (3000, 310)), method="bayesian", required_n=3000)
    assert (decision.status, decision.winner) == (STOP_WINNER, "B")


# --- analyse: the results contract --------------------------------------------------------------


def test_analyse_two_proportions():
    results = stats.analyse(
        counts((2000, 200), (2000, 250)),
        metric_kind="proportion",
        alpha=0.05,
        weights=[0.5, 0.5],
        method="frequentist",
        required_n=2000,
    )
    control, variant = results.variants
    assert (control.key, control.n, control.conversions, control.rate) == ("A", 2000, 200, 0.1)
    assert (control.ci_low, control.ci_high) == pytest.approx(
        proportion_confint(200, 2000, alpha=0.05, method="wilson"), abs=1e-12
    )
    assert variant.rate == 0.125
    assert results.test.name == "two-proportion z"
    assert results.test.statistic == pytest.approx(2.5020, abs=5e-5)
    (comparison,) = results.comparisons
    assert (comparison.key, comparison.control_key) == ("B", "A")
    assert comparison.difference == pytest.approx(0.025)
    newcombe = stats.newcombe_difference_interval(250, 2000, 200, 2000)
    assert (comparison.ci_low, comparison.ci_high) == (newcombe.low, newcombe.high)
    assert comparison.p_value == comparison.p_value_holm == pytest.approx(0.01235, abs=5e-6)
    assert comparison.sequential is None
    assert [b.key for b in results.bayesian] == ["A", "B"]
    assert sum(b.probability_best for b in results.bayesian) == pytest.approx(1)
    assert results.srm == stats.SampleRatioCheck(1.0, False)
    assert (results.decision.status, results.decision.winner) == (STOP_WINNER, "B")


def test_analyse_k_proportions_uses_chi_square_holm_and_sequential_looks():
    results = stats.analyse(
        [
            VariantCounts(k, n, x)
            for k, n, x in [("ctl", 86, 83), ("b", 93, 90), ("c", 136, 129), ("d", 82, 70)]
        ],
        metric_kind="proportion",
        alpha=0.05,
        weights=[0.25, 0.25, 0.25, 0.25],
        method="sequential",
        required_n=200,
    )
    assert results.test.name == "Pearson chi-square"
    assert round(results.test.statistic, 1) == 12.6
    raw = [c.p_value for c in results.comparisons]
    assert [c.p_value_holm for c in results.comparisons] == pytest.approx(stats.holm_adjust(raw))
    look = results.comparisons[2].sequential  # d: 82 against 86 of 200
    assert look.information_fraction == pytest.approx(2 / (200 * (1 / 82 + 1 / 86)))
    assert look.boundary == pytest.approx(2.2414 / look.information_fraction**0.5, abs=1e-4)
    # 397 observations, 99.25 expected each: X^2 = (13.25^2 + 6.25^2 + 36.75^2 + 17.25^2) / 99.25
    # = 18.77 on df 3, p = 0.0003 < 0.001: the smokers were not split evenly.
    assert results.srm.p_value == pytest.approx(0.0003, abs=5e-5)
    assert results.srm.mismatch is True
    assert len(results.bayesian) == 4


def test_analyse_flags_a_sample_ratio_mismatch():
    results = stats.analyse(
        counts((5200, 520), (4800, 480)),
        metric_kind="proportion",
        alpha=0.05,
        weights=[0.5, 0.5],
        method="frequentist",
        required_n=1000,
    )
    assert results.srm.mismatch is True  # X^2 = 16, p = 0.000063


def _revenue(rng: np.random.Generator, key: str, size: int, mean: float) -> tuple[VariantCounts, np.ndarray]:
    values = np.where(rng.uniform(size=size) < 0.2, rng.gamma(2.0, mean * 2.5, size), 0.0)
    variant = VariantCounts(
        key, size, value_sum=float(values.sum()), value_sum_squares=float((values**2).sum())
    )
    return variant, values


def test_analyse_revenue_per_contact_uses_welch():
    rng = np.random.default_rng(21)
    (a, va), (b, vb) = _revenue(rng, "A", 1500, 10.0), _revenue(rng, "B", 1400, 12.0)
    results = stats.analyse(
        [a, b], metric_kind="mean", alpha=0.05, weights=[0.5, 0.5], method="frequentist", required_n=1400
    )
    scipy_test = sps.ttest_ind(vb, va, equal_var=False)
    assert results.test.name == "Welch t"
    assert results.test.statistic == pytest.approx(scipy_test.statistic, rel=1e-9)
    assert results.test.df == pytest.approx(scipy_test.df, rel=1e-9)
    assert results.test.p_value == pytest.approx(scipy_test.pvalue, rel=1e-9)
    control = results.variants[0]
    assert control.conversions is None
    assert control.rate == pytest.approx(va.mean())
    half = sps.t.isf(0.025, 1499) * va.std(ddof=1) / np.sqrt(1500)
    assert (control.ci_low, control.ci_high) == pytest.approx((va.mean() - half, va.mean() + half))
    assert results.comparisons[0].difference == pytest.approx(vb.mean() - va.mean())
    assert results.bayesian is None  # revenue is not modelled by the Beta-Binomial


def test_analyse_revenue_reason_and_welch_f_for_three_prices():
    variants = [
        VariantCounts("A", 1000, value_sum=10_000.0, value_sum_squares=1_000_000.0),  # mean 10, var 900.9
        VariantCounts("B", 1000, value_sum=14_000.0, value_sum_squares=1_200_000.0),  # mean 14
    ]
    decision = stats.decide(variants, method="frequentist", metric_kind="mean", required_n=1000)
    assert decision.reason.startswith(
        "Variant B brings 14.00 per contact against 10.00 per contact for the control (p = 0.00"
    )
    rng = np.random.default_rng(5)
    three = [_revenue(rng, key, 800, mean) for key, mean in (("A", 10.0), ("B", 11.0), ("C", 9.0))]
    results = stats.analyse(
        [v for v, _ in three],
        metric_kind="mean",
        alpha=0.05,
        weights=[0.4, 0.3, 0.3],
        method="sequential",
        required_n=2000,
    )
    scipy_test = sps.f_oneway(*[values for _, values in three], equal_var=False)
    assert results.test.name == "Welch F"
    assert results.test.statistic == pytest.approx(scipy_test.statistic, rel=1e-9)
    assert results.test.p_value == pytest.approx(scipy_test.pvalue, rel=1e-9)


def test_analyse_with_an_empty_variant_has_no_rate_and_no_test():
    results = stats.analyse(
        counts((50, 5), (0, 0)),
        metric_kind="proportion",
        alpha=0.05,
        weights=[0.5, 0.5],
        method="frequentist",
        required_n=100,
    )
    empty = results.variants[1]
    assert (empty.rate, empty.ci_low, empty.ci_high) == (None, None, None)
    assert results.test is None
    comparison = results.comparisons[0]
    assert (comparison.difference, comparison.p_value, comparison.p_value_holm) == (None, None, None)
    assert results.decision.status == KEEP_RUNNING


# --- input errors -------------------------------------------------------------------------------

TWO = counts((100, 10), (100, 12))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"variants": counts((100, 10))}, stats.TooFewVariants),
        ({"weights": [0.5, 0.4]}, stats.WeightsDoNotSumToOne),
        ({"weights": [0.5]}, stats.StatisticsInputError),
        ({"alpha": 0.0}, stats.OutOfUnitInterval),
        ({"alpha": 1.0}, stats.OutOfUnitInterval),
        ({"method": "bayesian", "metric_kind": "mean"}, stats.MethodNotAvailable),
        ({"method": "magic"}, stats.StatisticsInputError),
        ({"metric_kind": "median"}, stats.StatisticsInputError),
        ({"required_n": 0}, stats.StatisticsInputError),
        ({"variants": [VariantCounts("A", 10), VariantCounts("A", 10)]}, stats.StatisticsInputError),
        ({"probability_threshold": 1.0}, stats.OutOfUnitInterval),
        ({"loss_threshold": 0.0}, stats.StatisticsInputError),
    ],
)
def test_analyse_rejects_bad_input(kwargs, error):
    arguments = {
        "variants": TWO,
        "metric_kind": "proportion",
        "alpha": 0.05,
        "weights": [0.5, 0.5],
        "method": "frequentist",
        "required_n": 100,
    } | kwargs
    with pytest.raises(error) as raised:
        stats.analyse(arguments.pop("variants"), **arguments)
    assert isinstance(raised.value, ValueError)
    assert str(raised.value)
