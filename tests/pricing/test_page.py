"""The managers' pricing page: read-only suggestions, a request for new ones, empty states."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pricing import services
from tests.pricing.conftest import NOW, add_quotes, make_product

pytestmark = pytest.mark.django_db


def test_an_agent_cannot_open_the_pricing_page(client, agent_a):
    client.force_login(agent_a)
    assert client.get("/pricing").status_code == 403
    assert client.post("/pricing/generate").status_code == 403


def test_without_products_the_page_says_what_to_load(client, manager_a):
    client.force_login(manager_a)
    html = client.get("/pricing").content.decode()
    assert "No products yet" in html
    assert 'href="/import/"' in html


def test_a_manager_requests_suggestions_and_sees_them_with_the_skipped_products(
    client, org_a, manager_a, inelastic
):
    thin = make_product(org_a, "P-THIN")
    add_quotes(org_a, thin, n=8, slope=-1, win_at_list=0.5)
    client.force_login(manager_a)
    assert "No pricing suggestions yet" in client.get("/pricing").content.decode()
    # with HTMX: the results section comes back in place
    response = client.post("/pricing/generate", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="pricing-results"')
    assert "1 new suggestion, 1 product skipped." in html
    assert 'data-product="P-IN"' in html
    assert "Product P-THIN" in html
    assert "8 decided quotes" in html
    # read-only for a manager: no Review link into the admin
    assert "/admin/pricing/" not in html
    # without JavaScript: back to the page with a message
    again = client.post("/pricing/generate", follow=True)
    assert "1 new suggestion, 1 product skipped." in again.content.decode()


def test_an_admin_gets_a_review_link(client, org_a, admins, inelastic):
    services.suggestions_generate(organization=org_a, requested_by=admins[0], product_ids=None, now=NOW)
    client.force_login(admins[1])
    html = client.get("/pricing").content.decode()
    assert "/admin/pricing/pricingsuggestion/" in html
    assert ">Review<" in html


def test_the_page_reads_in_a_fixed_number_of_queries(client, org_a, manager_a):
    client.force_login(manager_a)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/pricing").status_code == 200
        return len(ctx.captured_queries)

    for n in range(3):
        product = make_product(org_a, f"P-{n}")
        add_quotes(org_a, product, n=60, slope=-2, win_at_list=0.5, seed=n)
    services.suggestions_generate(organization=org_a, requested_by=manager_a, product_ids=["P-0"], now=NOW)
    few = queries()
    services.suggestions_generate(organization=org_a, requested_by=manager_a, product_ids=None, now=NOW)
    many = queries()
    assert few == many
    assert many <= 14
