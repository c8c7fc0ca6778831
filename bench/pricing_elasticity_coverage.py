"""Coverage of the price elasticity interval (docs/pricing-analysis.md, "How the interval was checked").

    .venv/bin/python bench/pricing_elasticity_coverage.py [--runs 100] [--level 0.9]

Each seeded run simulates decided quotes from a known logit, P(win | p) = sigmoid(a + b ln p):
p0 = 1,000, P(win at p0) drawn from 0.3-0.6, b from -4 to -1, n from 150 to 400 quotes at
prices spread uniformly over p0 +- 30 %, decided over one year (so the season family is tried
too). It fits the product's model (pricing.elasticity) with 2,000 coefficient draws and counts
the runs whose interval contains the true elasticity b x (1 - sigmoid(a + b ln p0)). A run the
model skips counts as a miss. The target is at least 85 of 100 at the 90 % level.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from pricing.elasticity import (  # noqa: E402
    PriceResponse,
    QuoteRow,
    check_quotes,
    coefficient_draws,
    elasticity_interval,
    fit_price_response,
    true_elasticity,
)

CURRENT_PRICE = 1000.0
DRAWS = 2000
MIN_QUOTES = 30
TARGET = 85
FIRST_DAY = date(2025, 1, 1)


@dataclass(frozen=True)
class Run:
    seed: int
    n: int
    slope: float
    truth: float
    low: float | None
    high: float | None
    method: str

    @property
    def covered(self) -> bool:
        return self.low is not None and self.high is not None and self.low <= self.truth <= self.high


def simulate_quotes(rng: np.random.Generator) -> tuple[list[QuoteRow], float, float]:
    """Quotes from a known logit; returns (quotes, a, b)."""
    win_at_p0 = rng.uniform(0.3, 0.6)
    slope = rng.uniform(-4.0, -1.0)
    intercept = math.log(win_at_p0 / (1 - win_at_p0)) - slope * math.log(CURRENT_PRICE)
    n = int(rng.integers(150, 401))
    prices = np.round(CURRENT_PRICE * rng.uniform(0.7, 1.3, size=n), 2)
    won = rng.random(n) < 1 / (1 + np.exp(-(intercept + slope * np.log(prices))))
    days = rng.integers(0, 365, size=n)
    quotes = [
        QuoteRow(price=float(p), won=bool(w), quantity=1, decided_on=FIRST_DAY + timedelta(days=int(d)))
        for p, w, d in zip(prices, won, days, strict=True)
    ]
    return quotes, intercept, slope


def run_once(seed: int, *, level: float) -> Run:
    quotes, intercept, slope = simulate_quotes(np.random.default_rng(seed))
    truth = true_elasticity(intercept=intercept, slope=slope, price=CURRENT_PRICE)
    response = check_quotes(quotes, min_quotes=MIN_QUOTES) or fit_price_response(
        quotes, reference_price=CURRENT_PRICE
    )
    if not isinstance(response, PriceResponse):
        return Run(seed, len(quotes), slope, truth, None, None, f"skipped: {response.code}")
    draws = coefficient_draws(response, draws=DRAWS, rng=np.random.default_rng(seed))
    interval = elasticity_interval(response, draws=draws, level=level)
    return Run(seed, len(quotes), slope, truth, interval.low, interval.high, response.method)


def run_coverage(*, runs: int = 100, level: float = 0.9) -> list[Run]:
    return [run_once(seed, level=level) for seed in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--level", type=float, default=0.9)
    args = parser.parse_args()
    results = run_coverage(runs=args.runs, level=args.level)
    covered = sum(r.covered for r in results)
    with_controls = sum(r.method.endswith("season)") for r in results)
    skipped = sum(r.method.startswith("skipped") for r in results)
    print(f"{covered} of {len(results)} {args.level:.0%} intervals contain the true elasticity")
    print(f"(season dummies chosen in {with_controls} runs, {skipped} runs skipped)")
    for r in results:
        if not r.covered:
            print(
                f"  miss: seed {r.seed}, n {r.n}, b {r.slope:.2f}, truth {r.truth:.3f}, [{r.low}, {r.high}]"
            )
    if args.runs == 100 and args.level == 0.9:
        print("target met" if covered >= TARGET else f"TARGET MISSED (at least {TARGET})")


if __name__ == "__main__":
    main()
