"""The pricing analysis, pure (docs/pricing-analysis.md): hand-computed numbers, the direction
of the suggestion, its limits, the skips, determinism and the interval's coverage. No database."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
import statsmodels.api as sm

from bench.pricing_elasticity_coverage import TARGET, run_coverage
from pricing.churn import churn_risk
from pricing.demand import forecast_quotes, horizon_start
from pricing.elasticity import PriceResponse, elasticity_at, fit_price_response, win_probability
from pricing.recommendation import (
    CompetitorPosition,
    Interval,
    PastChange,
    PricingPolicy,
    ProductAnalysis,
    ProductInputs,
    QuoteRow,
    Skipped,
    analyse_product,
    competitor_position,
    confidence_score,
    suggest_price,
)

P0 = 1000.0
DAY = date(2025, 3, 1)


def simulated_quotes(
    *, slope: float, win_at_p0: float, n: int = 300, spread: tuple[float, float] = (0.7, 1.3), seed: int = 1
) -> list[QuoteRow]:
    """Quotes from P(win | p) = sigmoid(logit(win_at_p0) + slope ln(p / P0)), quantity 1-3."""
    rng = np.random.default_rng(seed)
    prices = np.round(P0 * rng.uniform(*spread, size=n), 2)
    log_odds = math.log(win_at_p0 / (1 - win_at_p0)) + slope * np.log(prices / P0)
    won = rng.random(n) < 1 / (1 + np.exp(-log_odds))
    quantities = rng.integers(1, 4, size=n)
    return [
        QuoteRow(price=float(p), won=bool(w), quantity=int(q), decided_on=DAY)
        for p, w, q in zip(prices, won, quantities, strict=True)
    ]


def inputs(quotes, **changes) -> ProductInputs:
    base = ProductInputs(
        current_price=P0,
        billing_period="month",
        decided=quotes,
        # 3 months of 30 quotes over 31 + 28 + 31 = 90 days: 1 quote a day
        monthly_quotes=[(date(2025, 1, 1), 31), (date(2025, 2, 1), 28), (date(2025, 3, 1), 31)],
        competitor_prices=[],
        past_changes=[],
        baseline_customers=200,
        baseline_churned=10,
        customers_affected=40,
    )
    return replace(base, **changes)


def plain_response(*, intercept: float, slope: float) -> PriceResponse:
    """A model with given coefficients, P(win | p) = sigmoid(intercept + slope ln(p / P0))."""
    return PriceResponse(
        method="logit(win ~ log price)",
        n=100,
        reference_price=P0,
        params=np.array([intercept, slope]),
        cov=np.eye(2) * 1e-4,
        patterns=np.zeros((1, 0)),
        weights=np.ones(1),
    )


POLICY = PricingPolicy()


# --- elasticity --------------------------------------------------------------------------------


def test_saturated_fit_gives_the_hand_computed_elasticity():
    # given: 6 of 10 won at p0 and 3 of 10 at p0 x e (ln(p / p0) = 0 and 1): the model has as
    # many parameters as prices, so it reproduces the shares exactly:
    #   a = logit(0.6) = ln 1.5; a + b = logit(0.3) = ln(3/7); b = ln(3/7) - ln 1.5 = ln(2/7)
    quotes = [QuoteRow(P0, i < 6, 1, DAY) for i in range(10)]
    quotes += [QuoteRow(P0 * math.e, i < 3, 1, DAY) for i in range(10)]

    # when
    response = fit_price_response(quotes, reference_price=P0)

    # then: elasticity at p0 = b x (1 - 0.6) = 0.4 ln(2/7) = -0.501105...
    assert response.slope == pytest.approx(math.log(2 / 7), abs=1e-6)
    assert elasticity_at(response, P0) == pytest.approx(0.4 * math.log(2 / 7), abs=1e-6)
    assert float(win_probability(response, [P0])[0]) == pytest.approx(0.6, abs=1e-6)


def test_fit_matches_statsmodels_and_elasticity_is_b_times_one_minus_p():
    quotes = simulated_quotes(slope=-2.0, win_at_p0=0.4)
    response = fit_price_response(quotes, reference_price=P0)

    y = [q.won for q in quotes]
    x = sm.add_constant(np.log([q.price / P0 for q in quotes]))
    direct = sm.GLM(y, x, family=sm.families.Binomial()).fit()
    a, b = direct.params
    assert response.method == "logit(win ~ log price)"
    assert response.params == pytest.approx([a, b], rel=1e-6)
    assert response.cov == pytest.approx(np.asarray(direct.cov_params()), rel=1e-4)
    assert elasticity_at(response, P0) == pytest.approx(b * (1 - 1 / (1 + math.exp(-a))), rel=1e-9)


def test_elasticity_with_controls_is_that_of_the_averaged_demand():
    # given: two equally common levels, P = sigmoid(0) = 0.5 and sigmoid(ln 3) = 0.75, b = -2
    response = PriceResponse(
        method="logit(win ~ log price + segment)",
        n=100,
        reference_price=P0,
        params=np.array([0.0, -2.0, math.log(3)]),
        cov=np.eye(3) * 1e-4,
        patterns=np.array([[0.0], [1.0]]),
        weights=np.array([0.5, 0.5]),
    )
    # then: P̄ = (0.5 + 0.75) / 2 = 0.625;
    # elasticity = -2 x (0.5 x 0.5 x 0.5 + 0.5 x 0.75 x 0.25) / 0.625 = -2 x 0.21875 / 0.625 = -0.7
    assert float(win_probability(response, [P0])[0]) == pytest.approx(0.625)
    assert elasticity_at(response, P0) == pytest.approx(-0.7)


def season_quotes(*, per_quarter: int, seed: int = 2) -> list[QuoteRow]:
    """Win odds three times higher in Q3 and Q4 than in Q1 and Q2, b = -2."""
    rng = np.random.default_rng(seed)
    quotes = []
    for quarter in range(4):
        shift = math.log(3) if quarter >= 2 else 0.0
        for _ in range(per_quarter):
            price = round(P0 * rng.uniform(0.7, 1.3), 2)
            p = 1 / (1 + math.exp(-(-0.5 + shift - 2 * math.log(price / P0))))
            quotes.append(QuoteRow(price, bool(rng.random() < p), 1, date(2025, 3 * quarter + 1, 10)))
    return quotes


def test_season_dummies_when_every_quarter_carries_them():
    response = fit_price_response(season_quotes(per_quarter=120), reference_price=P0)
    assert response.method == "logit(win ~ log price + season)"
    assert response.params.shape == (5,)  # a, b, Q2, Q3, Q4
    assert response.weights == pytest.approx([0.25] * 4)


def test_no_dummies_when_a_level_has_under_15_quotes():
    quotes = season_quotes(per_quarter=120)
    quotes[:106] = []  # Q1 keeps 14 quotes
    response = fit_price_response(quotes, reference_price=P0)
    assert response.method == "logit(win ~ log price)"


def test_segment_dummies():
    # the same effect by region, all decided on one day: season has one level, segment two
    quotes = [
        replace(q, segment="Nairobi" if q.decided_on.month >= 7 else "Mombasa", decided_on=DAY)
        for q in season_quotes(per_quarter=120)
    ]
    response = fit_price_response(quotes, reference_price=P0)
    assert response.method == "logit(win ~ log price + segment)"
    assert response.weights == pytest.approx([0.5, 0.5])


# --- confidence ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "n", "expected"),
    [
        # width 2 / 4 = 0.5; (1 - 0.5) x 50 / 100 = 0.25
        (Interval(-2.0, -3.0, -1.0), 50, 0.25),
        # width 0.8 / 4 = 0.2; 0.8 x 150 / 200 = 0.6
        (Interval(-1.5, -2.0, -1.2), 150, 0.6),
        # an estimate near 0 with a narrow interval is well pinned down: 0.8 x 400 / 450 = 0.71
        (Interval(0.0, -0.4, 0.4), 400, 0.71),
        # 4 or wider: nothing known -> 0
        (Interval(-0.5, -2.5, 1.5), 400, 0.0),
        (Interval(-0.5, -3.0, 2.0), 400, 0.0),
    ],
)
def test_confidence_formula(interval, n, expected):
    assert confidence_score(interval, n=n) == expected


def test_confidence_grows_with_a_narrower_interval_and_more_quotes():
    wide, narrow = Interval(-2.0, -3.0, -1.0), Interval(-2.0, -2.5, -1.5)
    assert confidence_score(narrow, n=100) > confidence_score(wide, n=100)
    assert confidence_score(wide, n=400) > confidence_score(wide, n=100)


# --- competitors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prices", "expected"),
    [
        # 1 below, 2 equal: (1 + 2/2) / 4 x 100 = 50; median (1000 + 1000) / 2
        ([900.0, 1000.0, 1000.0, 1200.0], CompetitorPosition(1000.0, 50.0, 4)),
        # 2 of 3 below: 2/3 x 100 = 66.67; median 900
        ([800.0, 900.0, 1100.0], CompetitorPosition(900.0, 2 / 3 * 100, 3)),
        ([1100.0], CompetitorPosition(1100.0, 0.0, 1)),
        ([], CompetitorPosition(None, None, 0)),
    ],
)
def test_competitor_position(prices, expected):
    assert competitor_position(prices, current_price=P0) == expected


# --- churn ---------------------------------------------------------------------------------------


def change(pct, before, churned):
    return PastChange(changed_on=date(2024, 6, 1), change_pct=pct, customers_before=before, churned=churned)


def risk(change_pct, past, *, baseline=(200, 10)):
    return churn_risk(
        change_pct=change_pct,
        past_changes=past,
        baseline_customers=baseline[0],
        baseline_churned=baseline[1],
        customers_affected=40,
        level=0.9,
    )


def test_churn_after_earlier_increases_is_the_beta_posterior_mean():
    # Beta(1 + 3, 1 + 17): mean 4 / 22
    result = risk(8.0, [change(10.0, 20, 3)])
    assert result.probability == pytest.approx(4 / 22)
    assert result.low < 4 / 22 < result.high
    assert (result.basis, result.customers_affected) == ("price_changes", 40)


def test_churn_pools_the_changes_in_the_same_direction():
    # increases: 3 of 20 and 1 of 10 -> 4 of 30: Beta(5, 27), mean 5 / 32; the decrease is left out
    result = risk(8.0, [change(10.0, 20, 3), change(5.0, 10, 1), change(-5.0, 10, 5)])
    assert result.probability == pytest.approx(5 / 32)
    assert "2 earlier price increases" in result.note


def test_churn_uses_changes_in_the_other_direction_and_says_so():
    # only a decrease: 5 of 10 -> Beta(6, 6), mean 0.5
    result = risk(8.0, [change(-5.0, 10, 5)])
    assert result.probability == pytest.approx(0.5)
    assert result.note.startswith("No earlier price increase")


def test_churn_from_the_baseline_only_is_widened():
    # 10 of 200: Beta(11, 191), mean 11 / 202; the interval from Beta(1 + 2.5, 1 + 47.5)
    increase = risk(8.0, [])
    decrease = risk(-8.0, [])
    assert increase.probability == pytest.approx(11 / 202)
    assert increase.basis == "baseline_only"
    assert increase.high - increase.low > 1.5 * (decrease.high - decrease.low)
    assert "No earlier price change" in increase.note


def test_churn_for_a_decrease_is_the_baseline():
    result = risk(-8.0, [change(10.0, 20, 3)])
    assert result.probability == pytest.approx(11 / 202)
    assert result.basis == "baseline_only"
    assert "decrease does not add churn" in result.note


def test_churn_without_history_is_the_uniform_prior():
    # Beta(1, 1): mean 0.5, equal-tailed 90 % interval [0.05, 0.95]
    result = risk(8.0, [], baseline=(0, 0))
    assert (result.probability, result.basis) == (0.5, "none")
    assert (result.low, result.high) == pytest.approx((0.05, 0.95))


# --- demand --------------------------------------------------------------------------------------


def test_recent_mean_quotes():
    # 31 + 28 + 31 = 90 quotes over 90 days: 1 a day, 90 over the horizon from April 1
    months = [(date(2025, 1, 1), 31), (date(2025, 2, 1), 28), (date(2025, 3, 1), 31)]
    start = horizon_start(months)
    result = forecast_quotes(months, start=start, horizon_days=90, level=0.9)
    assert start == date(2025, 4, 1)
    assert (result.method, result.basis_quotes, result.quotes.estimate) == ("recent_mean", 90, 90.0)
    assert result.quotes.low < 90 < result.quotes.high


def test_seasonal_quotes():
    # Jul 2023 - Jun 2025; year 1 all 10 but July 20, year 2 all 20 but July 40.
    # overall mean (130 + 260) / 24 = 16.25; level (last 12) 260 / 12 = 21.667
    # July: 21.667 x ((20 + 40) / 2) / 16.25 = 40; August: 21.667 x 15 / 16.25 = 20
    months = []
    month = date(2023, 7, 1)
    for i in range(24):
        base = 10 if i < 12 else 20
        months.append((month, base * 2 if month.month == 7 else base))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    start = horizon_start(months)
    july = forecast_quotes(months, start=start, horizon_days=31, level=0.9)
    july_august = forecast_quotes(months, start=start, horizon_days=62, level=0.9)
    assert start == date(2025, 7, 1)
    assert july.method == "seasonal"
    assert july.quotes.estimate == pytest.approx(40.0)
    assert july_august.quotes.estimate == pytest.approx(60.0)
    assert july_august.basis_quotes == 260


def test_no_quote_history():
    result = forecast_quotes([], start=None, horizon_days=90, level=0.9)
    assert result.quotes == Interval(0.0, 0.0, 0.0)


# --- the suggestion ------------------------------------------------------------------------------


def test_revenue_maximising_price_inside_the_band():
    # b = -2, a = 2 ln 0.92: revenue peaks where 1 + b (1 - P) = 0, i.e. P = 0.5, i.e.
    # a + b ln(p / p0) = 0 -> ln(p / p0) = ln 0.92 -> p = 920.00, -8.0 %
    response = plain_response(intercept=2 * math.log(0.92), slope=-2.0)
    result = suggest_price(
        response, current_price=P0, max_change_pct=15.0, highest_won_price=1300.0, competitor_prices=[]
    )
    assert (result.price, result.change_pct, result.constraints) == (920.0, -8.0, ())


def test_change_under_one_percent_is_no_change():
    # a = 0, b = -2: elasticity at p0 = -2 x 0.5 = -1, the revenue peak is p0 itself
    response = plain_response(intercept=0.0, slope=-2.0)
    result = suggest_price(
        response, current_price=P0, max_change_pct=15.0, highest_won_price=1300.0, competitor_prices=[]
    )
    assert (result.price, result.change_pct) == (P0, 0.0)


def test_elastic_product_price_goes_down():
    analysis = analyse_product(inputs(simulated_quotes(slope=-4.0, win_at_p0=0.5)), POLICY, currency="KES")
    assert isinstance(analysis, ProductAnalysis)
    assert analysis.elasticity.high < -1  # well above 1 in size
    assert analysis.suggested_price < P0
    assert analysis.change_pct < 0
    assert analysis.expected_revenue_suggested > analysis.expected_revenue_current
    assert analysis.churn.basis == "baseline_only"
    assert analysis.rationale.startswith("Lower the price from KES 1,000.00 to KES ")


def test_inelastic_product_price_goes_up_to_the_guardrail():
    analysis = analyse_product(inputs(simulated_quotes(slope=-0.5, win_at_p0=0.5)), POLICY, currency="KES")
    assert -1 < analysis.elasticity.estimate < 0
    # +15 %: 1,000 x 1.15
    assert (analysis.suggested_price, analysis.change_pct, analysis.constraints) == (
        1150.0,
        15.0,
        ("max_change",),
    )
    assert "KES 1,150.00 (+15.0%)" in analysis.rationale
    assert analysis.rationale.endswith("Limited by the 15% maximum change.")


def test_smaller_guardrail_binds_earlier():
    quotes = simulated_quotes(slope=-0.5, win_at_p0=0.5)
    analysis = analyse_product(inputs(quotes), PricingPolicy(max_change_pct=5.0), currency="KES")
    assert (analysis.suggested_price, analysis.change_pct) == (1050.0, 5.0)


def test_no_increase_above_the_highest_won_price():
    # prices up to 1,080 only: no buyer paid more than the highest won price
    quotes = simulated_quotes(slope=-0.5, win_at_p0=0.5, spread=(0.7, 1.08))
    highest_won = max(q.price for q in quotes if q.won)
    analysis = analyse_product(inputs(quotes), POLICY, currency="KES")
    assert P0 < highest_won < 1080
    assert analysis.suggested_price == highest_won
    assert analysis.constraints == ("won_price_ceiling",)
    assert analysis.rationale.endswith(
        f"Limited by the highest price a won quote paid (KES {highest_won:,.2f})."
    )


def test_no_increase_when_every_won_quote_paid_less_than_now():
    quotes = simulated_quotes(slope=-0.5, win_at_p0=0.5, spread=(0.6, 0.95))
    analysis = analyse_product(inputs(quotes), POLICY, currency="KES")
    assert (analysis.suggested_price, analysis.change_pct) == (P0, 0.0)
    assert analysis.constraints == ("won_price_ceiling",)
    assert analysis.rationale.startswith("Keep the price at KES 1,000.00: demand is inelastic")
    assert analysis.churn.note.startswith("No price change is suggested")


def test_no_increase_above_the_competitors_90th_percentile():
    # sorted 1000, 1050, 1080, 1100: position 0.9 x 3 = 2.7 -> 1080 + 0.7 x 20 = 1094.00, +9.4 %
    quotes = simulated_quotes(slope=-0.5, win_at_p0=0.5)
    competitors = [1100.0, 1000.0, 1080.0, 1050.0]
    analysis = analyse_product(inputs(quotes, competitor_prices=competitors), POLICY, currency="KES")
    assert (analysis.suggested_price, analysis.change_pct) == (1094.0, 9.4)
    assert analysis.constraints == ("competitor_ceiling",)
    # none below p0, 1 equal: (0 + 1/2) / 4 x 100 = 12.5; median (1050 + 1080) / 2 = 1065
    assert analysis.competitor == CompetitorPosition(1065.0, 12.5, 4)


def test_no_increase_when_already_above_the_competitors():
    # 800, 850, 900: 850 + 0.8 x 50 = 890 < 1,000 -> no increase
    quotes = simulated_quotes(slope=-0.5, win_at_p0=0.5)
    analysis = analyse_product(
        inputs(quotes, competitor_prices=[800.0, 850.0, 900.0]), POLICY, currency="KES"
    )
    assert (analysis.suggested_price, analysis.change_pct, analysis.constraints) == (
        P0,
        0.0,
        ("competitor_ceiling",),
    )


def test_two_competitor_prices_set_no_ceiling():
    quotes = simulated_quotes(slope=-0.5, win_at_p0=0.5)
    analysis = analyse_product(inputs(quotes, competitor_prices=[800.0, 850.0]), POLICY, currency="KES")
    assert analysis.constraints == ("max_change",)


def test_the_numbers_fit_together():
    quotes = simulated_quotes(slope=-2.5, win_at_p0=0.5)
    analysis = analyse_product(inputs(quotes), POLICY, currency="KES")
    won = [q.quantity for q in quotes if q.won]
    mean_quantity = sum(won) / len(won)
    # 90 quotes over 90 days (see inputs)
    assert analysis.quotes_per_horizon.estimate == pytest.approx(90.0)
    # demand = quotes x P(win) x mean quantity; revenue = demand x price
    assert analysis.demand_current.estimate == pytest.approx(
        90.0 * analysis.win_probability_current.estimate * mean_quantity
    )
    assert analysis.expected_revenue_current == pytest.approx(analysis.demand_current.estimate * P0)
    assert analysis.expected_revenue_suggested == pytest.approx(
        analysis.demand_suggested.estimate * analysis.suggested_price
    )
    ratio = analysis.expected_revenue_suggested / analysis.expected_revenue_current
    assert analysis.expected_revenue_change_pct.estimate == pytest.approx(ratio * 100 - 100, abs=0.05)
    for interval in (analysis.elasticity, analysis.win_probability_current, analysis.demand_current):
        assert interval.low <= interval.estimate <= interval.high
    assert analysis.elasticity_n == 300
    assert analysis.confidence == confidence_score(analysis.elasticity, n=300)


def test_curve_covers_the_band_and_the_observed_prices():
    quotes = simulated_quotes(slope=-2.5, win_at_p0=0.5)
    analysis = analyse_product(inputs(quotes), POLICY, currency="KES")
    prices = [point.price for point in analysis.curve]
    assert 25 <= len(prices) <= 27
    assert prices == sorted(prices)
    assert prices[0] == pytest.approx(min(850.0, min(q.price for q in quotes)))
    assert prices[-1] == pytest.approx(max(1150.0, max(q.price for q in quotes)))
    assert P0 in prices
    assert analysis.suggested_price in prices
    assert all(p.low <= p.win_probability <= p.high for p in analysis.curve)
    wins = [p.win_probability for p in analysis.curve]
    assert wins == sorted(wins, reverse=True)


def test_same_seed_same_analysis():
    data = inputs(simulated_quotes(slope=-2.0, win_at_p0=0.4))
    first = analyse_product(data, POLICY, currency="KES")
    assert analyse_product(data, POLICY, currency="KES") == first
    other = analyse_product(data, replace(POLICY, seed=1), currency="KES")
    assert other.elasticity.estimate == first.elasticity.estimate
    assert other.elasticity.low != first.elasticity.low


# --- skips ---------------------------------------------------------------------------------------


def skip_of(quotes):
    result = analyse_product(inputs(quotes), POLICY, currency="KES")
    assert isinstance(result, Skipped)
    return result


def test_skip_too_few_quotes():
    result = skip_of(simulated_quotes(slope=-2.0, win_at_p0=0.5, n=29))
    assert result == Skipped("too_few_quotes", "29 decided quotes; at least 30 are needed.")


@pytest.mark.parametrize("won", [True, False])
def test_skip_one_outcome(won):
    quotes = [replace(q, won=won) for q in simulated_quotes(slope=-2.0, win_at_p0=0.5, n=40)]
    result = skip_of(quotes)
    assert result.code == "one_outcome"
    assert result.reason.startswith(f"All 40 decided quotes were {'won' if won else 'lost'}")


@pytest.mark.parametrize(
    "prices",
    [
        [1000.0, 1100.0],  # two distinct prices
        [1000.0, 1001.0, 1002.0],  # three, but a log-price standard deviation of about 0.0008
    ],
)
def test_skip_no_price_variation(prices):
    quotes = [QuoteRow(prices[i % len(prices)], i % 3 == 0, 1, DAY) for i in range(60)]
    assert skip_of(quotes).code == "no_price_variation"


def test_skip_no_fit_on_separation():
    # every quote at 900 or less won, every one above lost
    quotes = [QuoteRow(800.0 + 5 * i, i <= 20, 1, DAY) for i in range(40)]
    result = skip_of(quotes)
    assert result == Skipped(
        "no_fit",
        "Won and lost quotes are separated by price (every won quote at 900.00 or less, every lost one "
        "at 905.00 or more): the win model has no finite fit.",
    )


# --- coverage ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_elasticity_interval_coverage():
    """100 seeded simulations from known logits (bench/pricing_elasticity_coverage.py): the
    90 % interval must contain the true elasticity in at least 85."""
    runs = run_coverage(runs=100, level=0.9)
    assert sum(run.covered for run in runs) >= TARGET
