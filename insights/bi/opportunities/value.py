"""An opportunity's estimated value from the organization's own deal sizes (pure).

Rule (docs/metrics.md, "Opportunities", "Estimated value"): the median amount of the sales of
the opportunity's kind (VALUE_KINDS) closed in the VALUE_LOOKBACK_DAYS before as_of, among
similar customers: same product line and region, then same product line, then the kind over
the whole organization, each level used only with at least MIN_DEAL_SAMPLES sales; then the
median of all the organization's sales (any number); with no sale at all, no value (None).
The product line is the one the opportunity sells (cross-sell: the recommended line; else
the customer's current line); the region is the contact's (its latest lead's).

A renewal renews a known contract, so its value is the contact's own mean payment of the
subscription it renews when there is one, before any median.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from insights.bi.opportunities.rules import CROSS_SELL, EXPANSION, RENEWAL, UPSELL, WIN_BACK

VALUE_LOOKBACK_DAYS = 730
MIN_DEAL_SAMPLES = 3
# Group keys of the medians, most specific first; () is every sale of the organization.
KIND_LINE_REGION = ("kind", "line", "region")
KIND_LINE = ("kind", "line")
KIND = ("kind",)
ALL_SALES: tuple[str, ...] = ()
DEAL_LEVELS = (KIND_LINE_REGION, KIND_LINE, KIND, ALL_SALES)
# The sale kind whose amounts value an opportunity type (win-back: a customer's first sale).
VALUE_KINDS = {
    UPSELL: "upsell",
    EXPANSION: "expansion",
    CROSS_SELL: "cross_sell",
    RENEWAL: "renewal",
    WIN_BACK: "new",
}
RULE_NAMES = {
    KIND_LINE_REGION: "kind_line_region_median",
    KIND_LINE: "kind_line_median",
    KIND: "kind_median",
    ALL_SALES: "all_sales_median",
}
OWN_PAYMENT = "own_payment"
NO_HISTORY = "no_sales"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class DealSizes:
    """level -> group key -> (median amount, number of sales); insights.bi.opportunities.signals
    computes it in the database."""

    levels: Mapping[tuple[str, ...], Mapping[tuple, tuple[float, int]]]


@dataclass(frozen=True)
class ValueEstimate:
    amount: Decimal | None
    rule: str
    # How many sales the median is over (1 for the contact's own payment, 0 without value).
    sample: int


def _money(amount: float) -> Decimal:
    return Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)


def estimate_value(
    *,
    deal_sizes: DealSizes,
    opportunity_type: str,
    product_line: str,
    region: str,
    own_payment: float | None = None,
) -> ValueEstimate:
    if opportunity_type == RENEWAL and own_payment is not None and own_payment > 0:
        return ValueEstimate(_money(own_payment), OWN_PAYMENT, 1)
    kind = VALUE_KINDS[opportunity_type]
    keys = {
        KIND_LINE_REGION: (kind, product_line, region),
        KIND_LINE: (kind, product_line),
        KIND: (kind,),
        ALL_SALES: (),
    }
    for level in DEAL_LEVELS:
        found = deal_sizes.levels.get(level, {}).get(keys[level])
        if found is None:
            continue
        median, count = found
        if count >= MIN_DEAL_SAMPLES or (level == ALL_SALES and count > 0):
            return ValueEstimate(_money(median), RULE_NAMES[level], count)
    return ValueEstimate(None, NO_HISTORY, 0)
