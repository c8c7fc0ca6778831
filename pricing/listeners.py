"""What pricing does when CRM data arrives (crm.events)."""

from __future__ import annotations

from django.utils import timezone

from crm.events import Ingested
from pricing.services import list_prices_record


def products_ingested(event: Ingested) -> None:
    """Products loaded or edited: record the list prices that changed, in the same
    transaction, so the price history never misses a change made by a load."""
    if event.entity == "products":
        list_prices_record(organization_id=event.organization_id, now=timezone.now())
