"""Sequential monitoring keeps the error rate when people look early: seeded A/A simulations
through the engine's boundary, against naive repeated z tests. Pure: no database."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from insights.experiments import stats

ALPHA = 0.05
EXPERIMENTS = 2_000
RATE = 0.10
REQUIRED_N = 2_000  # per arm
# The rejection rate of 2,000 experiments has a standard error of sqrt(0.05 x 0.95 / 2000) =
# 0.0049 at alpha: two of them.
TOLERANCE = 0.01
NAIVE_Z = norm.isf(ALPHA / 2)  # 1.96: a fixed-horizon test read at every look


def _paths(rng: np.random.Generator, looks: int, *, treatment_rate: float = RATE):
    """Cumulative conversions of control and treatment at `looks` equally spaced looks up to
    REQUIRED_N per arm, and the information fraction of each look."""
    step = REQUIRED_N // looks
    control = rng.binomial(step, RATE, size=(EXPERIMENTS, looks)).cumsum(axis=1)
    treatment = rng.binomial(step, treatment_rate, size=(EXPERIMENTS, looks)).cumsum(axis=1)
    n = step * np.arange(1, looks + 1)
    return control, treatment, n, n / REQUIRED_N


def _z(control, treatment, n):
    """The pooled two-proportion z (the engine's formula, vectorised; checked below)."""
    pooled = (control + treatment) / (2 * n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (treatment - control) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    return np.nan_to_num(z)


def _rejection_rates(looks: int, *, seed: int, treatment_rate: float = RATE) -> tuple[float, float]:
    control, treatment, n, fractions = _paths(
        np.random.default_rng(seed), looks, treatment_rate=treatment_rate
    )
    z = np.abs(_z(control, treatment, n))
    boundaries = np.array([stats.sequential_boundary(t, alpha=ALPHA) for t in fractions])
    naive = (z >= NAIVE_Z).any(axis=1).mean()
    sequential = (z >= boundaries).any(axis=1).mean()
    return float(sequential), float(naive)


def test_the_vectorised_z_is_the_engines():
    control, treatment, n, _ = _paths(np.random.default_rng(0), 10)
    z = _z(control[:20], treatment[:20], n)
    for row in range(20):
        for look in range(10):
            test = stats.two_proportion_z(
                int(treatment[row, look]), int(n[look]), int(control[row, look]), int(n[look])
            )
            assert z[row, look] == pytest.approx(test.statistic, abs=1e-12)


@pytest.mark.parametrize(("looks", "seed"), [(10, 1), (100, 2)])
def test_a_a_experiments_keep_the_error_rate_while_naive_peeking_does_not(looks, seed):
    # given 2,000 A/A experiments (10% on both arms), looked at `looks` times up to 2,000 per arm
    # when
    sequential, naive = _rejection_rates(looks, seed=seed)
    # then the sequential boundary rejects at most alpha (plus noise), at any number of looks,
    # while a 1.96 z test at every look rejects far more often (about 19% with 10 looks)
    assert sequential <= ALPHA + TOLERANCE
    assert naive > ALPHA + 0.08


def test_the_sequential_boundary_keeps_most_of_the_planned_power():
    # given the planned n for 10% -> 13% at 80% power, and the true rate 13% on the treatment
    assert stats.required_sample_size(0.10, 0.13) <= REQUIRED_N
    # when the experiments are looked at 10 times
    sequential, _ = _rejection_rates(10, seed=3, treatment_rate=0.13)
    # then most of them stop with the winner (about 73% for a planned n of exactly 80% power;
    # 2,000 per arm is a little more than the 1,774 needed)
    assert sequential > 0.70


def test_decide_stops_exactly_when_the_boundary_is_crossed():
    # A true 10% -> 12% lift, so that some experiments cross and some do not.
    control, treatment, n, fractions = _paths(np.random.default_rng(4), 5, treatment_rate=0.12)
    z = np.abs(_z(control, treatment, n))
    for row in range(40):
        for look in range(5):
            decision = stats.decide(
                [
                    stats.VariantCounts("A", int(n[look]), int(control[row, look])),
                    stats.VariantCounts("B", int(n[look]), int(treatment[row, look])),
                ],
                method="sequential",
                required_n=REQUIRED_N,
            )
            crossed = bool(z[row, look] >= stats.sequential_boundary(fractions[look]))
            assert (decision.status == stats.STOP_WINNER) is crossed
