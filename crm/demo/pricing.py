"""The demo's products and pricing history (docs/demo-data.md, "Products and pricing").

Products come in tiers, one per product line plus the one-off onboarding fees and the add-on
pack; every sale names its product (`Catalogue.sale_columns`, no random draw). Quotes follow a
known logistic price response per product (`QUOTE_RESPONSES`), so the pricing analysis has a
truth to recover: Starter is elastic (its suggestion is a decrease), Pro and Enterprise are
inelastic (increases). Competitors are observed every two months or so, and Starter and Pro
changed their list price during the window (`PRICE_CHANGES`), so churn after a change can be
measured on the recurring sales.

Pure like the rest of the generator. Quotes and competitor prices draw from random streams of
their own (`crm-demo:<seed>:pricing:...`), so adding them moved no other record.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from crm.demo import profiles
from crm.demo.agents import Router
from crm.demo.records import Record, iso, money, optional_iso
from crm.demo.timeline import DAY, HOUR, Timeline, months_before

SUBSCRIPTION_TIERS = {"Starter": "basic", "Pro": "pro", "Enterprise": "enterprise"}
ADD_ON_PACK_USD = profiles.ADD_ON_PRICES[1]


@dataclass(frozen=True)
class QuoteResponse:
    """The known truth behind a product's quotes, in absolute price (p0 = today's list price):

        logit P(win | p) = logit(win_at_list) + slope x ln(p / p0)

    Its elasticity at p0 is slope x (1 - win_at_list) (docs/pricing-analysis.md)."""

    slope: float
    win_at_list: float
    # Quotes over the window at small scale; QUOTE_SCALE multiplies them.
    quotes: int
    scales: bool = True


# The truth the demo's pricing suggestions should find (docs/demo-data.md):
# Starter: elasticity -4 x 0.55 = -2.2, elastic: revenue peaks at about 0.72 p0, so a decrease
#   held at the -15% guardrail.
# Pro: -1.4 x 0.5 = -0.7, inelastic: an increase, held by the competitors' 90th percentile
#   (+7 to +10%, COMPETITORS; the latest observations jitter) before the guardrail.
# Enterprise: -0.6 x 0.6 = -0.36, inelastic: an increase held at the +15% guardrail.
# Add-on pack: a dozen quotes at every scale, under the analysis' 30 decided quotes: skipped.
QUOTE_RESPONSES: dict[str, QuoteResponse] = {
    "Starter": QuoteResponse(slope=-4.0, win_at_list=0.45, quotes=260),
    "Pro": QuoteResponse(slope=-1.4, win_at_list=0.5, quotes=200),
    "Enterprise": QuoteResponse(slope=-0.6, win_at_list=0.4, quotes=120),
    "Add-on pack": QuoteResponse(slope=-2.0, win_at_list=0.5, quotes=12, scales=False),
}
QUOTE_SCALE = {"small": 1, "medium": 3, "large": 10}
# A quote's price is the list price of its day times a discount or premium in this range.
QUOTE_PRICE_RANGE = (0.75, 1.25)
# Days from quote to decision (a working time); a quote not decided by as_of stays open.
QUOTE_DECISION_DAYS = (2.0, 14.0)

# Competitors of each subscription product and their price as a share of our list price:
# Starter's mostly cheaper, Enterprise's mostly dearer. Pro's 90th percentile is about
# 1.05 + 0.7 x (1.10 - 1.05) = 1.085 p0, which caps its increase.
COMPETITORS: dict[str, tuple[tuple[str, float], ...]] = {
    "Starter": (("Baobab CRM", 0.78), ("Jua Sales", 0.86), ("Northwind CRM", 1.04)),
    "Pro": (("Baobab CRM", 0.90), ("Jua Sales", 0.97), ("Mawimbi Suite", 1.05), ("Northwind CRM", 1.10)),
    "Enterprise": (
        ("Jua Sales", 0.94),
        ("Mawimbi Suite", 1.14),
        ("Northwind CRM", 1.24),
        ("Kilimanjaro One", 1.32),
    ),
}
# Days between two observations of a competitor's price.
COMPETITOR_EVERY_DAYS = (52.0, 68.0)
# Each observation is within this share of the competitor's price.
COMPETITOR_JITTER = 0.03
# Competitors' prices creep up this much a year (older observations are lower).
COMPETITOR_YEARLY_RISE = 0.05

# Earlier list prices: (share of today's price, months before as_of it changed, on the 1st).
# Both changes end more than a billing period and its grace before as_of, so the churn after
# them is measured (pricing.selectors.churn_history).
PRICE_CHANGES: dict[str, tuple[float, int]] = {"Starter": (0.90, 7), "Pro": (0.92, 10)}

# The demo's running price test (setup_demo, docs/experiments.md "On the demo"): quotes per
# variant since the test's start, each to a contact the test assigns to that variant.
EXPERIMENT_QUOTES_PER_VARIANT = 240


@dataclass(frozen=True)
class DemoProduct:
    external_id: str
    name: str
    tier: str
    billing_period: str  # "month", "year" or "once"
    list_price: int  # whole units of the organization's currency


class _Draft(NamedTuple):
    quoted: float
    product: DemoProduct
    price: int
    quantity: int
    decided: float | None  # None: still open at as_of
    agent: str


def whole_units(amount: float) -> int:
    """Half up: prices are positive."""
    return int(amount + 0.5)


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def systematic_wins(chances: list[float], *, order: list[int], offset: float) -> list[bool]:
    """Which quotes are won, by systematic sampling along `order` (by price): a quote is won
    when the running sum of the win chances, started at `offset` (0-1), passes a whole
    number. Every run of consecutive quotes wins its expected count give or take one, so the
    fitted price response lands near the truth for any seed; independent draws would leave
    Pro's slope at -1.4 +- 1 with 200 quotes, and its suggestion the wrong way for about one
    seed in five."""
    won = [False] * len(chances)
    total = offset
    for index in order:
        before = math.floor(total)
        total += chances[index]
        won[index] = math.floor(total) > before
    return won


class Catalogue:
    """The organization's products, and which product each demo sale is of."""

    def __init__(self, *, factor: float) -> None:
        subscriptions, onboarding = {}, {}
        for line in profiles.PRODUCT_LINES:
            yearly = line.monthly_share == 0
            months = profiles.ANNUAL_MONTHS_BILLED if yearly else 1
            subscriptions[line.name] = DemoProduct(
                external_id=f"PRD-{line.name.upper()}",
                name=line.name,
                tier=SUBSCRIPTION_TIERS[line.name],
                billing_period="year" if yearly else "month",
                list_price=whole_units(line.monthly_price * months * factor),
            )
            if line.one_time_fee:
                onboarding[line.name] = DemoProduct(
                    external_id=f"PRD-{line.name.upper()}-ONBOARDING",
                    name=f"{line.name} onboarding",
                    tier="services",
                    billing_period="once",
                    list_price=whole_units(line.one_time_fee * factor),
                )
        self.subscriptions: dict[str, DemoProduct] = subscriptions
        self.onboarding: dict[str, DemoProduct] = onboarding
        self.add_on_pack = DemoProduct(
            external_id="PRD-ADD-ONS",
            name="Add-on pack",
            tier="add-on",
            billing_period="once",
            list_price=whole_units(ADD_ON_PACK_USD * factor),
        )
        self.products: tuple[DemoProduct, ...] = (
            *subscriptions.values(),
            *onboarding.values(),
            self.add_on_pack,
        )
        self.by_name = {product.name: product for product in self.products}

    def product_of_sale(self, kind: str, product_line: str) -> DemoProduct | None:
        if product_line == profiles.ADD_ONS_LINE:
            return self.add_on_pack
        if kind == "one_time":
            return self.onboarding.get(product_line)
        return self.subscriptions.get(product_line)

    def sale_columns(self, kind: str, product_line: str, *, amount: str, seats: int) -> Record:
        """product_external_id, quantity and unit_price of a sale of `amount` (two decimals):
        `seats` at amount / seats when that is a whole number of cents, else 1 at amount, so
        quantity x unit_price is always the amount."""
        product = self.product_of_sale(kind, product_line)
        if product is None:
            return {"product_external_id": "", "quantity": "", "unit_price": ""}
        cents = int(amount.replace(".", ""))
        quantity = seats if seats > 1 and cents % seats == 0 else 1
        per_unit = cents // quantity
        return {
            "product_external_id": product.external_id,
            "quantity": str(quantity),
            "unit_price": f"{per_unit // 100}.{per_unit % 100:02d}",
        }


class PricingHistory:
    """Products, their earlier list prices, quotes and competitor prices over the window."""

    def __init__(
        self,
        *,
        seed: int,
        scale: str,
        catalogue: Catalogue,
        timeline: Timeline,
        router: Router,
        currency: str,
    ) -> None:
        self.seed = seed
        self.scale = scale
        self.catalogue = catalogue
        self.tl = timeline
        self.router = router
        self.currency = currency
        self.days = timeline.lead_day_picker()

    def rng(self, purpose: str) -> random.Random:
        return random.Random(f"crm-demo:{self.seed}:pricing:{purpose}")

    def product_records(self) -> list[Record]:
        return [
            {
                "external_id": product.external_id,
                "name": product.name,
                "tier": product.tier,
                "list_price": money(product.list_price),
                "currency": self.currency,
                "billing_period": product.billing_period,
                "active": "true",
            }
            for product in self.catalogue.products
        ]

    def list_prices(self, product: DemoProduct) -> list[tuple[float, int]]:
        """(effective from, price) of a subscription product over the window, oldest first."""
        change = PRICE_CHANGES.get(product.name)
        if change is None:
            return [(self.tl.start, product.list_price)]
        share, months = change
        local_as_of = self.tl.date_of(self.tl.day_of(self.tl.end))
        changed_on = months_before(local_as_of, months).replace(day=1)
        changed = self.tl.day_start[self.tl.day_of_date(changed_on)]
        return [(self.tl.start, whole_units(product.list_price * share)), (changed, product.list_price)]

    def price_history_records(self) -> list[Record]:
        records = []
        for product in self.catalogue.subscriptions.values():
            for effective, price in self.list_prices(product):
                records.append(
                    {
                        "external_id": f"PH{len(records) + 1:03d}",
                        "product_external_id": product.external_id,
                        "price": money(price),
                        "currency": self.currency,
                        "effective_at": iso(effective),
                    }
                )
        return records

    def quote_records(self) -> list[Record]:
        """Quotes of each product over the window, by the product's QUOTE_RESPONSES, in the
        order they were made. Leads and contacts are left empty: the quotes are drawn on a
        stream of their own, apart from the funnel."""
        rng, tl = self.rng("quotes"), self.tl
        seats = {line.name: line.seats for line in profiles.PRODUCT_LINES}
        quotes: list[tuple[_Draft, bool]] = []
        for name, response in QUOTE_RESPONSES.items():
            product = self.catalogue.by_name[name]
            list_prices = self.list_prices(product)
            count = response.quotes * (QUOTE_SCALE[self.scale] if response.scales else 1)
            drafts = []
            for _ in range(count):
                quoted = self.working_time(tl.day_start[self.days.pick(rng)] + 12 * HOUR, rng)
                list_price = next(price for start, price in reversed(list_prices) if start <= quoted)
                drafts.append(
                    _Draft(
                        quoted=quoted,
                        product=product,
                        price=whole_units(list_price * rng.uniform(*QUOTE_PRICE_RANGE)),
                        quantity=rng.randint(*seats[name]) if name in seats else 1,
                        decided=self.decision_time(quoted, rng.uniform(*QUOTE_DECISION_DAYS) * DAY, rng),
                        agent=self.router.pick(rng, quoted).email,
                    )
                )
            intercept = math.log(response.win_at_list / (1 - response.win_at_list))
            chances = [
                logistic(intercept + response.slope * math.log(d.price / product.list_price)) for d in drafts
            ]
            by_price = sorted(range(count), key=lambda i: (drafts[i].price, drafts[i].quoted))
            won = systematic_wins(chances, order=by_price, offset=rng.random())
            quotes.extend(zip(drafts, won, strict=True))
        quotes.sort(key=lambda quote: quote[0].quoted)
        return [
            {
                "external_id": f"Q{number:07d}",
                "lead_external_id": "",
                "contact_external_id": "",
                "product_external_id": draft.product.external_id,
                "agent": draft.agent,
                "quoted_at": iso(draft.quoted),
                "unit_price": money(draft.price),
                "quantity": str(draft.quantity),
                "outcome": "open" if draft.decided is None else "won" if won else "lost",
                "decided_at": optional_iso(draft.decided),
            }
            for number, (draft, won) in enumerate(quotes, start=1)
        ]

    def experiment_quote_records(
        self,
        *,
        product_external_id: str,
        start: float,
        variants: Sequence[tuple[str, str]],
        variant_of: Callable[[str], str],
        first_number: int = 1,
    ) -> list[Record]:
        """Quotes of a price test running since `start`: EXPERIMENT_QUOTES_PER_VARIANT per
        variant (key, price as a decimal string), each to a contact that `variant_of` (the
        test's assignment, given a contact's external id) puts in that variant, at that
        variant's price, so every quote is on-assignment. Outcomes follow the product's
        QUOTE_RESPONSES at that price (systematic sampling, like the history), decided 2-14
        days later; open when that falls after as_of.

        Contacts are grouped by variant_of, but each variant's times, outcomes and agents
        come from a stream of its own, so the counts per variant do not depend on which
        contacts the assignment picks (nor on the test's id)."""
        tl = self.tl
        product = next(p for p in self.catalogue.products if p.external_id == product_external_id)
        response = QUOTE_RESPONSES[product.name]
        intercept = math.log(response.win_at_list / (1 - response.win_at_list))
        seats = {line.name: line.seats for line in profiles.PRODUCT_LINES}
        # Enough candidates to fill every variant at any scale; all of them at small scale.
        population = profiles.SCALES[self.scale].contacts
        candidates = self.rng("experiment:contacts").sample(
            range(1, population + 1), min(population, 8 * EXPERIMENT_QUOTES_PER_VARIANT)
        )
        pools: dict[str, list[str]] = {key: [] for key, _ in variants}
        for number in candidates:
            contact = f"C{number:07d}"
            pools.setdefault(variant_of(contact), []).append(contact)
        drafts: list[tuple[float, str, str, int, float | None, str, bool]] = []
        for key, price in variants:
            pool = pools[key]
            if not pool:
                continue
            rng = self.rng(f"experiment:{key}")
            rows = []
            for index in range(EXPERIMENT_QUOTES_PER_VARIANT):
                quoted = tl.end
                while quoted >= tl.end:
                    quoted = tl.working(start + rng.uniform(0, tl.end - start), rng)
                decided = self.decision_time(quoted, rng.uniform(*QUOTE_DECISION_DAYS) * DAY, rng)
                quantity = rng.randint(*seats[product.name]) if product.name in seats else 1
                agent = self.router.pick(rng, quoted).email
                rows.append((quoted, pool[index % len(pool)], price, quantity, decided, agent))
            chance = logistic(intercept + response.slope * math.log(float(price) / product.list_price))
            decided_rows = sorted(
                (i for i, row in enumerate(rows) if row[4] is not None), key=lambda i: rows[i][0]
            )
            won = systematic_wins([chance] * len(rows), order=decided_rows, offset=rng.random())
            drafts.extend((*row, won[i]) for i, row in enumerate(rows))
        drafts.sort(key=lambda draft: (draft[0], draft[1]))
        return [
            {
                "external_id": f"QX{number:06d}",
                "lead_external_id": "",
                "contact_external_id": contact,
                "product_external_id": product.external_id,
                "agent": agent,
                "quoted_at": iso(quoted),
                "unit_price": price,
                "quantity": str(quantity),
                "outcome": "open" if decided is None else "won" if won else "lost",
                "decided_at": optional_iso(decided),
            }
            for number, (quoted, contact, price, quantity, decided, agent, won) in enumerate(
                drafts, start=first_number
            )
        ]

    def working_time(self, t: float, rng: random.Random) -> float:
        """A working time on the day of t or a nearby working day, inside the window
        (workday_time may move an instant of the first week before it; it never reaches as_of)."""
        moved = self.tl.workday_time(t, rng)
        return moved if moved >= self.tl.start else self.tl.working(self.tl.start, rng)

    def decision_time(self, quoted: float, delay: float, rng: random.Random) -> float | None:
        """A working time about `delay` after the quote and strictly after it; None when that
        is at or after as_of (the quote is still open)."""
        target = quoted + delay
        if target >= self.tl.end:
            return None
        t = self.tl.workday_time(target, rng)
        if t <= quoted:
            t = self.tl.working(target, rng)
        return t if t < self.tl.end else None

    def competitor_price_records(self) -> list[Record]:
        """Each competitor's price every two months or so, around its share of our list price."""
        rng, tl = self.rng("competitors"), self.tl
        records = []
        for name, competitors in COMPETITORS.items():
            product = self.catalogue.subscriptions[name]
            for competitor, share in competitors:
                t = tl.start + rng.uniform(0, COMPETITOR_EVERY_DAYS[1]) * DAY
                while t < tl.end:
                    observed = self.working_time(t, rng)
                    years_ago = (tl.end - observed) / (365 * DAY)
                    jitter = rng.uniform(-COMPETITOR_JITTER, COMPETITOR_JITTER)
                    price = (
                        product.list_price * share * (1 + jitter) * (1 - COMPETITOR_YEARLY_RISE * years_ago)
                    )
                    records.append(
                        {
                            "external_id": f"CP{len(records) + 1:05d}",
                            "competitor": competitor,
                            "product_external_id": product.external_id,
                            "price": money(whole_units(price)),
                            "currency": self.currency,
                            "observed_at": iso(observed),
                        }
                    )
                    t += rng.uniform(*COMPETITOR_EVERY_DAYS) * DAY
        return records
