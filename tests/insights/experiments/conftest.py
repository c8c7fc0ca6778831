"""Small campaigns and products for the experiments tests, with helpers that write one message
or one quote at a time so each test's numbers can be counted by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from crm.models import CampaignMessage, Contact, Lead, Product, Quote
from tests.factories import CampaignFactory, ContactFactory, LeadFactory

# The experiments start at START; NOW is when results are read.
START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def client_for(member) -> APIClient:
    client = APIClient()
    client.force_authenticate(member)
    return client


def message(
    org,
    campaign,
    variant: str,
    contact: Contact | None,
    sent: dt.datetime,
    *,
    delivered: bool = True,
    read: bool = False,
    replied: bool = False,
) -> CampaignMessage:
    return CampaignMessage.objects.create(
        organization=org,
        external_id=f"{campaign.external_id}-M{CampaignMessage.objects.count() + 1}",
        campaign=campaign,
        contact=contact,
        variant=variant,
        sent_at=sent,
        delivered_at=sent + dt.timedelta(minutes=1) if delivered else None,
        read_at=sent + dt.timedelta(minutes=5) if read else None,
        replied_at=sent + dt.timedelta(minutes=9) if replied else None,
        failed_at=None if delivered else sent + dt.timedelta(minutes=1),
    )


def quote(
    org,
    product: Product,
    *,
    price: str,
    outcome: str,
    quoted: dt.datetime,
    contact: Contact | None = None,
    lead: Lead | None = None,
    quantity: int = 1,
) -> Quote:
    return Quote.objects.create(
        organization=org,
        external_id=f"Q{Quote.objects.count() + 1}",
        product=product,
        contact=contact,
        lead=lead,
        quoted_at=quoted,
        unit_price=Decimal(price),
        quantity=quantity,
        outcome=outcome,
        decided_at=None if outcome == "open" else quoted + DAY,
    )


def make_product(org, external_id: str = "P1", *, price: str = "100.00") -> Product:
    return Product.objects.create(
        organization=org,
        external_id=external_id,
        name=f"Product {external_id}",
        tier="pro",
        list_price=Decimal(price),
        currency=org.currency,
        billing_period="month",
    )


def contacts(org, count: int, *, prefix: str = "C") -> list[Contact]:
    return [ContactFactory(organization=org, external_id=f"{prefix}{i}") for i in range(1, count + 1)]


@pytest.fixture
def campaign(org_a):
    """A campaign with A/B messages before START (the baseline) and none after yet."""
    campaign = CampaignFactory(
        organization=org_a, external_id="K1", name="Spring", started_at=START - 10 * DAY
    )
    people = contacts(org_a, 4, prefix="K")
    before = START - 5 * DAY
    # control A before the start: 4 delivered, 1 replied, 2 read -> baseline reply 0.25, read 0.5
    for i, (read, replied) in enumerate([(True, True), (True, False), (False, False), (False, False)]):
        message(org_a, campaign, "A", people[i], before + i * HOUR, read=read, replied=replied)
    message(org_a, campaign, "B", people[0], before + 5 * HOUR, read=True, replied=True)
    return campaign


@pytest.fixture
def product(org_a):
    """A product with 10 decided quotes in the last 90 days before NOW: 4 won -> baseline 0.4."""
    product = make_product(org_a)
    leads = [LeadFactory(organization=org_a, external_id=f"PL{i}") for i in range(10)]
    for i, lead in enumerate(leads):
        quote(
            org_a,
            product,
            price="100.00",
            outcome="won" if i < 4 else "lost",
            quoted=NOW - (30 + i) * DAY,
            lead=lead,
        )
    return product
