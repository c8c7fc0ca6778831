"""The demo's products and pricing history (crm/demo/pricing.py, docs/demo-data.md "Products
and pricing"): the catalogue, the product columns of sales, quotes with a known price response,
competitor prices, earlier list prices, and the suggestions the pricing analysis makes from
them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from crm.demo.generator import DemoConfig, DemoGenerator
from crm.demo.loader import demo_load
from crm.demo.pricing import QUOTE_RESPONSES, Catalogue, systematic_wins
from crm.models import Member, PriceHistory, PriceSource, Product, Quote, Role, Sale
from pricing.services import suggestions_generate
from tests.factories import MemberFactory, OrganizationFactory

UTC = dt.UTC
NAIROBI = "Africa/Nairobi"
AS_OF = dt.datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # 12:30 in Nairobi
SEED = 7
EMAILS = tuple(f"agent{i}@demo.test" for i in range(8))
PRICING_ENTITIES = ("products", "price_history", "quotes", "competitor_prices")


def _generator(seed: int = SEED, scale: str = "small", currency: str = "KES") -> DemoGenerator:
    return DemoGenerator(
        DemoConfig(
            seed=seed, scale=scale, as_of=AS_OF, agent_emails=EMAILS, timezone=NAIROBI, currency=currency
        )
    )


def _pricing_records(seed: int = SEED, scale: str = "small") -> dict[str, list[dict]]:
    generator = _generator(seed, scale)
    return {"products": generator.product_records(), **generator.pricing_records()}


@pytest.fixture(scope="module")
def records() -> dict[str, list[dict]]:
    return _pricing_records()


@pytest.fixture(scope="module")
def sales() -> list[dict]:
    return [row for chunk in _generator().chunks() for row in chunk["sales"]]


# --- the generator alone (no database) ---------------------------------------------------


def test_pricing_records_are_deterministic_and_seed_dependent(records):
    again = _pricing_records()
    other = _pricing_records(seed=SEED + 1)

    assert again == records
    assert other["quotes"] != records["quotes"]
    assert other["products"] == records["products"]  # the catalogue does not depend on the seed


@pytest.mark.parametrize(
    ("currency", "expected"),
    [
        # Starter 29 x 129, Pro 99 x 129, Enterprise 45 x 10 months x 129, the onboarding fees
        # 450 and 4,500 x 129, the add-on pack 240 x 129
        ("KES", [3741, 12771, 58050, 58050, 580500, 30960]),
        # 29 x 0.92 = 26.68, 99 x 0.92 = 91.08, 450 x 0.92 = 414, 4,140, 240 x 0.92 = 220.8
        ("EUR", [27, 91, 414, 414, 4140, 221]),
    ],
)
def test_catalogue_prices_in_whole_currency_units(currency, expected):
    products = _generator(currency=currency).product_records()

    assert [Decimal(p["list_price"]) for p in products] == expected
    assert [(p["name"], p["tier"], p["billing_period"]) for p in products] == [
        ("Starter", "basic", "month"),
        ("Pro", "pro", "month"),
        ("Enterprise", "enterprise", "year"),
        ("Pro onboarding", "services", "once"),
        ("Enterprise onboarding", "services", "once"),
        ("Add-on pack", "add-on", "once"),
    ]
    assert {p["currency"] for p in products} == {currency}


@pytest.mark.parametrize(
    ("kind", "line", "amount", "seats", "expected"),
    [
        ("new", "Starter", "7482.00", 2, ("PRD-STARTER", "2", "3741.00")),  # 7,482 / 2
        ("recurring", "Pro", "63855.00", 5, ("PRD-PRO", "5", "12771.00")),  # 63,855 / 5
        # 13,000,001 cents is not a multiple of 3: one unit at the whole amount
        ("renewal", "Pro", "130000.01", 3, ("PRD-PRO", "1", "130000.01")),
        ("expansion", "Enterprise", "174150.00", 5, ("PRD-ENTERPRISE", "5", "34830.00")),
        ("upsell", "Pro", "36573.00", 1, ("PRD-PRO", "1", "36573.00")),
        ("one_time", "Pro", "55000.50", 1, ("PRD-PRO-ONBOARDING", "1", "55000.50")),
        ("one_time", "Enterprise", "600000.00", 1, ("PRD-ENTERPRISE-ONBOARDING", "1", "600000.00")),
        ("one_time", "Add-ons", "30960.00", 1, ("PRD-ADD-ONS", "1", "30960.00")),
        ("cross_sell", "Add-ons", "15480.00", 1, ("PRD-ADD-ONS", "1", "15480.00")),
        ("one_time", "Starter", "100.00", 1, ("", "", "")),  # Starter has no onboarding fee
        ("new", "Consulting", "100.00", 1, ("", "", "")),
    ],
)
def test_sale_columns(kind, line, amount, seats, expected):
    columns = Catalogue(factor=129.0).sale_columns(kind, line, amount=amount, seats=seats)

    assert (columns["product_external_id"], columns["quantity"], columns["unit_price"]) == expected


def test_every_sale_names_its_product_and_quantity_times_unit_price_is_the_amount(sales):
    products = Counter(sale["product_external_id"] for sale in sales)
    per_seat = [s for s in sales if s["kind"] == "new" and s["quantity"] != "1"]

    assert "" not in products
    assert set(products) == {
        "PRD-STARTER",
        "PRD-PRO",
        "PRD-ENTERPRISE",
        "PRD-PRO-ONBOARDING",
        "PRD-ENTERPRISE-ONBOARDING",
        "PRD-ADD-ONS",
    }
    for sale in sales:
        assert Decimal(sale["quantity"]) * Decimal(sale["unit_price"]) == Decimal(sale["amount"]), sale
    # New subscriptions of several seats are sold per seat at the list price (KES 3,741,
    # 12,771 and 58,050) or, paid annually, ten months of it.
    assert len(per_seat) > 50
    assert {Decimal(s["unit_price"]) for s in per_seat} <= {
        Decimal(3741),
        Decimal(12771),
        Decimal(58050),
        Decimal(37410),
        Decimal(127710),
    }


def test_counts_per_product_at_small_scale(records):
    quotes = Counter(q["product_external_id"] for q in records["quotes"])
    competitors = {
        product: {
            c["competitor"] for c in records["competitor_prices"] if c["product_external_id"] == product
        }
        for product in ("PRD-STARTER", "PRD-PRO", "PRD-ENTERPRISE")
    }
    history = Counter(h["product_external_id"] for h in records["price_history"])

    assert len(records["products"]) == 6
    assert quotes == {"PRD-STARTER": 260, "PRD-PRO": 200, "PRD-ENTERPRISE": 120, "PRD-ADD-ONS": 12}
    assert [len(names) for names in competitors.values()] == [3, 4, 4]
    # every ~2 months over 13 months: 6 to 8 observations per competitor
    assert 11 * 6 <= len(records["competitor_prices"]) <= 11 * 8
    assert history == {"PRD-STARTER": 2, "PRD-PRO": 2, "PRD-ENTERPRISE": 1}


def test_quote_counts_scale_but_the_add_on_pack_keeps_a_dozen():
    quotes = Counter(q["product_external_id"] for q in _generator(scale="medium").pricing_records()["quotes"])

    assert quotes == {"PRD-STARTER": 780, "PRD-PRO": 600, "PRD-ENTERPRISE": 360, "PRD-ADD-ONS": 12}


def test_price_history_starts_with_the_window_and_changes_on_the_first_of_a_month(records):
    rows = [(h["product_external_id"], h["price"], h["effective_at"]) for h in records["price_history"]]

    # The window opens on 2025-02-02 (13 months before 2026-03-02), 21:00 UTC the day before
    # in Nairobi. Starter was 3,741 x 0.9 = 3,366.9 until 1 August 2025 (7 months before
    # March 2026); Pro 12,771 x 0.92 = 11,749.32 until 1 May 2025 (10 months before).
    assert rows == [
        ("PRD-STARTER", "3367.00", "2025-02-01T21:00:00+00:00"),
        ("PRD-STARTER", "3741.00", "2025-07-31T21:00:00+00:00"),
        ("PRD-PRO", "11749.00", "2025-02-01T21:00:00+00:00"),
        ("PRD-PRO", "12771.00", "2025-04-30T21:00:00+00:00"),
        ("PRD-ENTERPRISE", "58050.00", "2025-02-01T21:00:00+00:00"),
    ]


def test_quotes_fall_in_the_window_and_only_recent_ones_are_open(records):
    window_start = "2025-02-01T21:00:00+00:00"
    two_weeks_before = (AS_OF - dt.timedelta(days=21)).isoformat()
    quotes = records["quotes"]

    assert [q["external_id"] for q in quotes] == [f"Q{n:07d}" for n in range(1, len(quotes) + 1)]
    assert [q["quoted_at"] for q in quotes] == sorted(q["quoted_at"] for q in quotes)
    for quote in quotes:
        assert window_start <= quote["quoted_at"] < AS_OF.isoformat()
        assert quote["agent"] in EMAILS
        if quote["outcome"] == "open":
            assert quote["decided_at"] == ""
            assert quote["quoted_at"] >= two_weeks_before
        else:
            assert quote["outcome"] in ("won", "lost")
            assert quote["quoted_at"] < quote["decided_at"] < AS_OF.isoformat()
    assert Counter(q["outcome"] for q in quotes)["open"] < 0.1 * len(quotes)


def test_no_seed_puts_pricing_records_outside_the_window():
    # workday_time may move an instant of the window's first week before it
    window_start, as_of = "2025-02-01T21:00:00+00:00", AS_OF.isoformat()

    for seed in range(30):
        generated = _generator(seed).pricing_records()
        instants = [q["quoted_at"] for q in generated["quotes"]]
        instants += [c["observed_at"] for c in generated["competitor_prices"]]
        assert window_start <= min(instants), seed
        assert max(instants) < as_of, seed


def _win_rate(quotes: list[dict], low: float, high: float, list_price: float) -> float:
    band = [q for q in quotes if low <= float(q["unit_price"]) / list_price < high]
    return sum(q["outcome"] == "won" for q in band) / len(band)


@pytest.mark.parametrize(
    ("product", "list_price", "gap"),
    [
        # Below 0.9 p0 the quotes average about 0.8 p0, above 1.1 p0 about 1.17 p0. Starter:
        # sigmoid(logit 0.45 - 4 ln 0.8) = 0.67 against sigmoid(logit 0.45 - 4 ln 1.17) = 0.30
        ("PRD-STARTER", 3741, 0.3),
        # Pro: sigmoid(-1.4 ln 0.8) = 0.58 against sigmoid(-1.4 ln 1.17) = 0.45
        ("PRD-PRO", 12771, 0.08),
    ],
)
def test_cheaper_quotes_win_more_often(records, product, list_price, gap):
    quotes = [q for q in records["quotes"] if q["product_external_id"] == product and q["outcome"] != "open"]

    low = _win_rate(quotes, 0.0, 0.9, list_price)
    high = _win_rate(quotes, 1.1, 2.0, list_price)

    assert low > high + gap


def test_quote_responses_are_the_documented_truth():
    truth = {name: (r.slope, r.win_at_list) for name, r in QUOTE_RESPONSES.items()}

    assert truth == {
        "Starter": (-4.0, 0.45),
        "Pro": (-1.4, 0.5),
        "Enterprise": (-0.6, 0.4),
        "Add-on pack": (-2.0, 0.5),
    }


@pytest.mark.parametrize(
    ("chances", "offset", "expected"),
    [
        # running sums 0.5+0.4=0.9, 1.3 (won), 1.7, 2.1 (won)
        ([0.4, 0.4, 0.4, 0.4], 0.5, [False, True, False, True]),
        ([1.0, 1.0], 0.0, [True, True]),
        ([0.0, 0.0], 0.99, [False, False]),
    ],
)
def test_systematic_wins(chances, offset, expected):
    assert systematic_wins(chances, order=list(range(len(chances))), offset=offset) == expected


def test_competitors_sit_around_the_list_price(records):
    def latest_shares(product: str, list_price: float) -> list[float]:
        latest = {}
        for row in records["competitor_prices"]:
            if row["product_external_id"] == product:
                latest[row["competitor"]] = float(row["price"]) / list_price
        return sorted(latest.values())

    starter = latest_shares("PRD-STARTER", 3741)
    enterprise = latest_shares("PRD-ENTERPRISE", 58050)

    assert sum(share < 1 for share in starter) >= 2  # mostly cheaper
    assert sum(share > 1 for share in enterprise) >= 3  # mostly dearer
    assert {row["currency"] for row in records["competitor_prices"]} == {"KES"}


# --- loaded, and analysed by pricing ------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """A fresh organization loaded once at small scale (committed), removed after this module."""
    with django_db_blocker.unblock():
        org = OrganizationFactory(slug="demo-pricing", timezone=NAIROBI, currency="KES")
        report = demo_load(organization=org, seed=SEED, scale="small", as_of=AS_OF)
    yield org, report
    with django_db_blocker.unblock():
        Member.objects.filter(organization=org).delete()
        org.delete()


@pytest.mark.django_db
def test_pricing_entities_load_with_no_rejected_row(loaded):
    org, report = loaded

    assert report.errors == []
    for entity in PRICING_ENTITIES:
        count = report.counts[entity]
        assert count.total > 0, entity
        assert count.rejected == 0, entity
        assert count.stored == count.total, entity
    assert report.counts["quotes"].stored == 592  # 260 + 200 + 120 + 12
    assert Quote.objects.for_org(org).count() == 592
    assert not Sale.objects.for_org(org).filter(product__isnull=True).exists()
    assert PriceHistory.objects.for_org(org).filter(source=PriceSource.HISTORY).count() == 5
    assert Product.objects.for_org(org).get(external_id="PRD-STARTER").list_price == Decimal("3741.00")


@pytest.mark.django_db
def test_the_demo_suggests_lowering_starter_and_raising_pro_and_enterprise(loaded):
    # given the loaded demo and a manager who asks
    org, _ = loaded
    manager = MemberFactory(email="manager@demo-pricing.test", organization=org, role=Role.MANAGER)

    # when suggestions are generated as of the end of the history
    result = suggestions_generate(organization=org, requested_by=manager, product_ids=None, now=AS_OF)

    # then Starter (elastic) goes down, Pro and Enterprise (inelastic) go up
    made = {s.product.name: s for s in result.suggestions}
    skipped = {row["name"]: row["code"] for row in result.skipped}
    assert set(made) == {"Starter", "Pro", "Enterprise"}
    assert made["Starter"].change_pct == Decimal("-15.0")  # revenue peaks near 0.72 p0: the guardrail
    assert made["Starter"].elasticity < -1
    assert Decimal(1) <= made["Pro"].change_pct < Decimal(15)
    assert "competitor_ceiling" in made["Pro"].analysis["constraints"]
    assert made["Enterprise"].change_pct == Decimal("15.0")
    for name in ("Pro", "Enterprise"):
        assert -1 < made[name].elasticity < 0, name
    # Pro's earlier change (+8.7% in May 2025) is where its churn risk is measured from
    assert made["Pro"].analysis["churn"]["basis"] == "price_changes"
    assert skipped == {
        "Add-on pack": "too_few_quotes",
        "Pro onboarding": "too_few_quotes",
        "Enterprise onboarding": "too_few_quotes",
    }
