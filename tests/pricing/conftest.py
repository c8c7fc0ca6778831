"""Products with quotes of a known price response, for the workflow tests."""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.models import Product, Quote, Role
from tests.factories import MemberFactory, OrganizationFactory

NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def add_quotes(org, product: Product, *, n: int, slope: float, win_at_list: float, seed: int = 1) -> None:
    """`n` decided quotes at prices 75-125% of the list price over the last year, won with
    probability sigmoid(a + slope x ln(price / list)), P(win at list) = win_at_list."""
    rng = random.Random(seed)
    a = math.log(win_at_list / (1 - win_at_list))
    base = float(product.list_price)
    rows = []
    for i in range(n):
        price = round(base * rng.uniform(0.75, 1.25), 2)
        p = 1 / (1 + math.exp(-(a + slope * math.log(price / base))))
        quoted = NOW - dt.timedelta(days=rng.uniform(5, 360))
        rows.append(
            Quote(
                organization=org,
                external_id=f"{product.external_id}-Q{i:04d}",
                product=product,
                quoted_at=quoted,
                unit_price=Decimal(str(price)),
                quantity=1,
                outcome="won" if rng.random() < p else "lost",
                decided_at=quoted + dt.timedelta(days=3),
            )
        )
    Quote.objects.bulk_create(rows)


def make_product(org, external_id: str, *, price: str = "1000.00", tier: str = "pro") -> Product:
    return Product.objects.create(
        organization=org,
        external_id=external_id,
        name=f"Product {external_id}",
        tier=tier,
        list_price=Decimal(price),
        currency=org.currency,
        billing_period="month",
    )


@pytest.fixture
def inelastic(org_a) -> Product:
    """Buyers barely react to price: the suggestion is an increase."""
    product = make_product(org_a, "P-IN")
    add_quotes(org_a, product, n=240, slope=-0.4, win_at_list=0.5)
    return product


@pytest.fixture
def elastic(org_a) -> Product:
    """Buyers react strongly: the suggestion is a decrease."""
    product = make_product(org_a, "P-EL", tier="basic")
    add_quotes(org_a, product, n=300, slope=-5.0, win_at_list=0.5, seed=2)
    return product


@pytest.fixture
def admins(org_a):
    """Two admins: one requests, the other decides (four eyes)."""
    first = MemberFactory(organization=org_a, email="ada@acme.test", role=Role.ADMIN, is_staff=True)
    second = MemberFactory(organization=org_a, email="bo@acme.test", role=Role.ADMIN, is_staff=True)
    return first, second


@pytest.fixture
def other_admin(db):
    org = OrganizationFactory(slug="globex-p", name="Globex", timezone="UTC", currency="USD")
    return MemberFactory(organization=org, email="root@globex.test", role=Role.ADMIN, is_staff=True)


def now() -> dt.datetime:
    return timezone.now()
