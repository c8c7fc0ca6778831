"""Pure arithmetic of the Campaigns tab (docs/metrics.md, "Campaigns tab"): A/B variant tests and
the best time to send. The campaign figures themselves are insights.metrics.campaign_row /
campaigns_block (one definition per metric); rates here use funnel_rates, so a read or reply
rate is always over delivered messages.

- A/B: the best variant has the highest rate (ties: more delivered, then the variant name);
  every other variant is compared with it by the experiments engine's pooled two-proportion
  z test (insights.experiments.stats.two_proportion_z, two-sided p-value = erfc(|z| / sqrt 2));
  "significant at 95%" when p < 0.05.
- Best hour: the local hour with the highest reply rate among hours with at least
  MIN_DELIVERED_PER_HOUR delivered messages (ties: more delivered, then the earlier hour).

No ORM, no request, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from core.metrics import round_half_up
from insights.experiments.stats import SignificanceTest, two_proportion_z
from insights.metrics import funnel_rates

SIGNIFICANCE_LEVEL = 0.05
SIGNIFICANT = "significant at 95%"
NOT_YET_SIGNIFICANT = "not yet significant"
# Below this many delivered messages an hour's reply rate is too noisy to call it the best.
MIN_DELIVERED_PER_HOUR = 30
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # ISO 1..7
HOURS = tuple(range(24))
# Payload rate key -> the measure counted over delivered messages.
TESTED_RATES = {"read": "read", "reply": "replied"}
Counts = Mapping[str, int]


def significant(test: SignificanceTest | None) -> bool:
    return test is not None and test.p_value < SIGNIFICANCE_LEVEL


def verdict(test: SignificanceTest | None) -> str:
    return SIGNIFICANT if significant(test) else NOT_YET_SIGNIFICANT


def best_variant(variants: Mapping[str, Counts], *, measure: str) -> str | None:
    """The variant with the highest measure / delivered; None when nothing was delivered."""
    candidates = [(name, c) for name, c in variants.items() if c.get("delivered", 0)]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda item: (
            -Fraction(item[1].get(measure, 0), item[1]["delivered"]),
            -item[1]["delivered"],
            item[0],
        ),
    )[0]


def _z_test(best_counts: Counts, counts: Counts, measure: str) -> SignificanceTest | None:
    """The best variant against another (z > 0: the best is higher). None when a side has no
    delivered message, no variation, or more of the measure than delivered messages (a reply
    recorded without a delivery: ingestion does not forbid it, and there is nothing to test)."""
    sides = [(c.get(measure, 0), c.get("delivered", 0)) for c in (best_counts, counts)]
    if any(not 0 <= successes <= trials for successes, trials in sides):
        return None
    (x1, n1), (x2, n2) = sides
    return two_proportion_z(x1, n1, x2, n2)


def _test_against(best: str, best_counts: Counts, counts: Counts, measure: str) -> dict:
    test = _z_test(best_counts, counts, measure)
    return {
        "vs": best,
        "z": None if test is None else round_half_up(test.statistic, 2),
        "pValue": None if test is None else round_half_up(test.p_value, 4),
        "significant": significant(test),
        "verdict": verdict(test),
    }


def ab_test(variants: Mapping[str, Counts]) -> dict:
    """One campaign's variants (name -> counts of its messages sent in W): each variant's
    funnel, and for the read and reply rates the best variant and each other variant's test
    against it. The campaign's verdict is significant when the best beats every other one."""
    best = {key: best_variant(variants, measure=m) for key, m in TESTED_RATES.items()}
    rows = []
    for name in sorted(variants):
        counts = variants[name]
        rates = funnel_rates(counts)
        row: dict = {"variant": name}
        row.update((k, rates[k]) for k in ("sent", "delivered", "read", "replied", "readRate", "replyRate"))
        for key, measure in TESTED_RATES.items():
            champion = best[key]
            row[f"{key}Best"] = champion == name
            row[f"{key}Test"] = (
                None
                if champion is None or champion == name
                else _test_against(champion, variants[champion], counts, measure)
            )
        rows.append(row)
    out: dict = {"variants": rows}
    for key in TESTED_RATES:
        tests = [r[f"{key}Test"] for r in rows if r[f"{key}Test"] is not None]
        out[f"{key}BestVariant"] = best[key]
        out[f"{key}Verdict"] = (
            SIGNIFICANT if tests and all(t["significant"] for t in tests) else NOT_YET_SIGNIFICANT
        )
    return out


# --- best time to send --------------------------------------------------------------------


def _time_figures(counts: Counts) -> dict:
    rates = funnel_rates(counts)
    return {k: rates[k] for k in ("sent", "delivered", "read", "replied", "readRate", "replyRate")}


def send_time_cells(counts: Mapping[tuple[int, int], Counts]) -> list[dict]:
    """All 7 x 24 (weekday, hour) cells, Monday 00h first, zero-filled."""
    return [
        {"weekday": weekday, "hour": hour, **_time_figures(counts.get((weekday, hour), {}))}
        for weekday in range(1, 8)
        for hour in HOURS
    ]


def hour_totals(counts: Mapping[tuple[int, int], Counts]) -> list[dict]:
    """The 24 hours, every weekday summed."""
    summed: dict[int, dict[str, int]] = {hour: {} for hour in HOURS}
    for (_weekday, hour), cell in counts.items():
        for measure, value in cell.items():
            summed[hour][measure] = summed[hour].get(measure, 0) + value
    return [{"hour": hour, **_time_figures(summed[hour])} for hour in HOURS]


def best_hour(
    hours: list[dict], *, min_delivered: int = MIN_DELIVERED_PER_HOUR
) -> tuple[dict | None, str | None]:
    """(the best hour's figures, None) or (None, why there is none)."""
    eligible = [h for h in hours if h["delivered"] >= min_delivered]
    if not eligible:
        busiest = max((h["delivered"] for h in hours), default=0)
        if busiest == 0:
            return None, "No campaign message was delivered in this period."
        return None, (
            f"No hour had at least {min_delivered} delivered messages in this period "
            f"(the busiest had {busiest}), too few to compare reply rates."
        )
    best = min(eligible, key=lambda h: (-Fraction(h["replied"], h["delivered"]), -h["delivered"], h["hour"]))
    return {k: best[k] for k in ("hour", "delivered", "replied", "readRate", "replyRate")}, None
