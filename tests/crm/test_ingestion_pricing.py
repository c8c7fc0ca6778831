"""Products, quotes, competitor prices and the sales' product columns (DESIGN section 9.1),
through the CSV door and the REST door, with row-level errors."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from crm.ingestion import ingest_csv
from crm.models import CompetitorPrice, PriceHistory, Product, Quote, Sale
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

PRODUCTS = (
    "external_id,name,tier,list_price,currency,billing_period,active\n"
    "P-1,Starter,basic,1000.00,KES,month,true\n"
    "P-2,Growth,pro,2500,KES,year,\n"
)


def load(org, entity: str, text: str):
    return ingest_csv(
        organization=org, entity=entity, stream=io.BytesIO(text.encode()), filename=f"{entity}.csv"
    )


def errors_of(result) -> list[tuple[int, str | None, str]]:
    return [(error.row, error.column, error.reason) for error in result.errors]


def test_products_are_stored_with_tier_price_and_defaults(org_a):
    result = load(org_a, "products", PRODUCTS)
    assert result.rows_stored == 2
    assert not result.errors
    starter, growth = Product.objects.for_org(org_a).order_by("external_id")
    assert (starter.tier, starter.list_price, starter.billing_period, starter.active) == (
        "basic",
        Decimal("1000.00"),
        "month",
        True,
    )
    # an empty `active` cell is the default: active
    assert (growth.list_price, growth.billing_period, growth.active) == (Decimal("2500.00"), "year", True)


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        ("0", "'0' is not above 0"),
        ("-5", "'-5' is not above 0"),
        ("abc", "not a number: 'abc'"),
        ("", "required"),
    ],
)
def test_a_product_price_of_zero_or_below_or_not_a_number_is_a_row_error(org_a, price, reason):
    result = load(org_a, "products", f"external_id,name,list_price\nP-1,Starter,1000\nP-2,Bad,{price}\n")
    # the valid row of the same batch is stored
    assert result.rows_stored == 1
    [(row, column, message)] = errors_of(result)
    assert (row, column) == (3, "list_price")
    assert reason in message


def test_quotes_reference_products_and_report_unknown_ones(org_a):
    load(org_a, "products", PRODUCTS)
    agent = MemberFactory(organization=org_a, email="amina@acme.test")
    result = load(
        org_a,
        "quotes",
        "external_id,product_external_id,agent,quoted_at,unit_price,quantity,outcome,decided_at\n"
        f"Q-1,P-1,{agent.email},2026-01-05T09:00:00Z,950,3,won,2026-01-09T10:00:00Z\n"
        "Q-2,P-404,,2026-01-05T09:00:00Z,950,1,lost,2026-01-06\n"
        "Q-3,P-2,,2026-01-05T09:00:00Z,0,1,open,\n"
        "Q-4,P-2,,2026-01-05T09:00:00Z,2400,1,lost,2026-01-01\n"
        "Q-5,P-2,,2026-01-05T09:00:00Z,2400,,,\n",
    )
    assert result.rows_stored == 2
    assert sorted((row, column) for row, column, _ in errors_of(result)) == [
        (3, "product_external_id"),
        (4, "unit_price"),
        (5, "decided_at"),
    ]
    assert (
        "unknown product 'P-404'"
        in dict(((r, c), m) for r, c, m in errors_of(result))[(3, "product_external_id")]
    )
    won = Quote.objects.for_org(org_a).get(external_id="Q-1")
    assert (won.product.external_id, won.agent_id, won.quantity, won.outcome) == ("P-1", agent.pk, 3, "won")
    assert won.decided_at == dt.datetime(2026, 1, 9, 10, tzinfo=dt.UTC)
    # defaults: quantity 1, outcome open
    assert Quote.objects.for_org(org_a).values_list("quantity", "outcome").get(external_id="Q-5") == (
        1,
        "open",
    )


def test_a_product_of_another_organization_is_unknown(org_a, org_b):
    load(org_b, "products", PRODUCTS)
    result = load(
        org_a,
        "competitor_prices",
        "external_id,competitor,product_external_id,price,observed_at\nC-1,Rival,P-1,990,2026-01-01\n",
    )
    assert result.rows_stored == 0
    assert errors_of(result)[0][:2] == (2, "product_external_id")


def test_competitor_prices_are_stored(org_a):
    load(org_a, "products", PRODUCTS)
    result = load(
        org_a,
        "competitor_prices",
        "external_id,competitor,product_external_id,price,currency,observed_at\n"
        "C-1,Rival,P-1,990.50,KES,2026-01-01\n"
        "C-2,,P-1,990.50,KES,2026-01-01\n",
    )
    assert result.rows_stored == 1
    assert errors_of(result)[0][:2] == (3, "competitor")
    price = CompetitorPrice.objects.for_org(org_a).get()
    assert (price.competitor, price.product.external_id, price.price) == ("Rival", "P-1", Decimal("990.50"))


def test_sales_accept_product_quantity_and_unit_price(org_a):
    load(org_a, "products", PRODUCTS)
    result = load(
        org_a,
        "sales",
        "external_id,amount,closed_at,product_external_id,quantity,unit_price\n"
        "S-1,3000,2026-01-09,P-1,3,1000\n"
        "S-2,500,2026-01-09,,,\n"
        "S-3,500,2026-01-09,P-1,0,500\n",
    )
    assert result.rows_stored == 2
    assert errors_of(result)[0][:2] == (4, "quantity")
    sale = Sale.objects.for_org(org_a).get(external_id="S-1")
    assert (sale.product.external_id, sale.quantity, sale.unit_price) == ("P-1", 3, Decimal("1000.00"))
    plain = Sale.objects.for_org(org_a).get(external_id="S-2")
    assert (plain.product_id, plain.quantity, plain.unit_price) == (None, None, None)


def test_the_rest_door_takes_products_and_names_bad_rows(org_a, admin_a):
    client = APIClient()
    client.force_authenticate(admin_a)
    response = client.post(
        "/api/v1/ingest/products/",
        [
            {"external_id": "P-1", "name": "Starter", "tier": "basic", "list_price": "1000"},
            {"external_id": "P-2", "name": "Broken", "list_price": -1},
        ],
        format="json",
    )
    # 207: some rows stored, some rejected
    assert response.status_code == 207, response.content
    body = response.json()
    assert (body["stored"], body["rejected"]) == (1, 1)
    assert [(error["index"], error["column"]) for error in body["errors"]] == [(1, "list_price")]
    assert Product.objects.for_org(org_a).get().tier == "basic"


def test_earlier_prices_load_as_history(org_a):
    load(org_a, "products", PRODUCTS)
    result = load(
        org_a,
        "price_history",
        "external_id,product_external_id,price,currency,effective_at\n"
        "H-1,P-1,900,KES,2025-03-01\n"
        "H-2,P-1,-900,KES,2025-03-01\n",
    )
    assert result.rows_stored == 1
    assert errors_of(result)[0][:2] == (3, "price")
    row = PriceHistory.objects.for_org(org_a).get(external_id="H-1")
    # the database default marks a loaded row as history (the application writes the others)
    assert (row.price, row.source, row.suggestion_id) == (Decimal("900.00"), "history", None)
