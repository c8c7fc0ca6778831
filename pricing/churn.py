"""Churn risk of a price change (docs/pricing-analysis.md, "Churn risk").

Every probability is the mean of a Beta(1 + churned, 1 + stayed) posterior (a uniform prior),
every interval its equal-tailed interval at the policy level:

- an increase, with earlier changes: pooled over the earlier changes in the same direction
  (all of them when there is none in that direction), basis "price_changes";
- an increase, with only the baseline (customer-periods without a change before them): the
  baseline rate, its interval taken from a quarter of the counts so it is visibly wider (a
  baseline says little about a change), basis "baseline_only";
- a decrease or no change: the baseline rate and interval (a lower price does not add churn),
  basis "baseline_only";
- no history at all: Beta(1, 1), 0.5 with its interval (5 %-95 % at 90 %), basis "none".

Pure: no ORM, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from scipy.stats import beta

# The baseline interval for an increase uses this share of the counts: 1/4 of the data doubles
# the interval's width (a binomial standard error grows with 1 / sqrt(n)).
BASELINE_WIDENING = 0.25


@dataclass(frozen=True)
class PastChange:  # one earlier list-price change of this product
    changed_on: date
    change_pct: float  # +10.0 means +10 %
    customers_before: int  # customers with a recurring/renewal purchase in the billing period before
    churned: int  # of those, the ones without one in the billing period (+ grace) after


@dataclass(frozen=True)
class ChurnRisk:
    probability: float  # 0-1
    low: float
    high: float
    customers_affected: int
    basis: str  # "price_changes" | "baseline_only" | "none"
    note: str  # plain English


def beta_posterior(churned: float, stayed: float, *, level: float) -> tuple[float, float, float]:
    """(mean, low, high) of Beta(1 + churned, 1 + stayed)."""
    a, b = 1 + churned, 1 + stayed
    tail = (1 - level) / 2
    low, high = beta.ppf([tail, 1 - tail], a, b)
    return a / (a + b), float(low), float(high)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def churn_risk(
    *,
    change_pct: float,
    past_changes: Sequence[PastChange],
    baseline_customers: int,
    baseline_churned: int,
    customers_affected: int,
    level: float,
) -> ChurnRisk:
    """The churn risk of a change of `change_pct` percent (0: no change)."""
    # A change with no customers before it says nothing about churn.
    changes = [c for c in past_changes if c.customers_before > 0]
    has_baseline = baseline_customers > 0
    baseline_stayed = baseline_customers - baseline_churned
    baseline_text = (
        f"{baseline_churned} of {baseline_customers} customer-periods without a price change churned"
    )

    if change_pct <= 0:
        why = "A price decrease does not add churn" if change_pct < 0 else "No price change is suggested"
        if not has_baseline:
            mean, low, high = beta_posterior(0, 0, level=level)
            return ChurnRisk(
                mean,
                low,
                high,
                customers_affected,
                "none",
                f"{why}, and there is no churn history: an uninformed 50%.",
            )
        mean, low, high = beta_posterior(baseline_churned, baseline_stayed, level=level)
        note = f"{why}: the risk is the base churn rate ({baseline_text})."
        return ChurnRisk(mean, low, high, customers_affected, "baseline_only", note)

    if changes:
        same_direction = [c for c in changes if c.change_pct > 0]
        pooled = same_direction or changes
        before = sum(c.customers_before for c in pooled)
        churned = sum(c.churned for c in pooled)
        mean, low, high = beta_posterior(churned, before - churned, level=level)
        if same_direction:
            learnt = f"Learnt from {_plural(len(pooled), 'earlier price increase')}"
        else:
            learnt = (
                f"No earlier price increase: learnt from {_plural(len(pooled), 'earlier price change')} "
                "in the other direction"
            )
        note = f"{learnt}: {churned} of {before} customers churned after them."
        return ChurnRisk(mean, low, high, customers_affected, "price_changes", note)

    if has_baseline:
        mean, _, _ = beta_posterior(baseline_churned, baseline_stayed, level=level)
        _, low, high = beta_posterior(
            baseline_churned * BASELINE_WIDENING, baseline_stayed * BASELINE_WIDENING, level=level
        )
        note = (
            f"No earlier price change to learn from: the risk is the base churn rate ({baseline_text}), "
            "widened."
        )
        return ChurnRisk(mean, low, high, customers_affected, "baseline_only", note)

    mean, low, high = beta_posterior(0, 0, level=level)
    note = "No earlier price change and no churn history: an uninformed 50%, with a wide interval."
    return ChurnRisk(mean, low, high, customers_affected, "none", note)
