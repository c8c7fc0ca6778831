"""Reads of the CRM pages. Every function takes the organization first and is scoped by it.

Aggregation happens in the database: each number group is one `aggregate()` with
filtered `Count`/`Sum`, so both comparison windows come back from the same query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, Sum

from core.metrics import counted_currencies, trend_percent
from core.tenancy import get_for_org_or_404
from crm.models import Activity, Contact, ContactSnapshot, ImportRun, Lead, Organization, Sale

OVERVIEW_WINDOW = dt.timedelta(days=30)
RECENT_IMPORTS_LIMIT = 10
IMPORT_ERRORS_PER_PAGE = 25


@dataclass(frozen=True)
class Comparison:
    """A number over the current window, the same number over the previous one, the trend."""

    current: int | Decimal
    previous: int | Decimal
    trend: float | None

    @classmethod
    def of(cls, current: int | Decimal, previous: int | Decimal) -> Comparison:
        return cls(
            current=current, previous=previous, trend=trend_percent(current=current, previous=previous)
        )


@dataclass(frozen=True)
class OverviewNumbers:
    """The organization overview. Windows are half-open: current [start, as_of), previous
    [previous_start, start)."""

    as_of: dt.datetime
    start: dt.datetime
    previous_start: dt.datetime
    currency: str
    # Contacts created before the end of each window (the size of the contact base).
    contacts: Comparison
    leads: Comparison  # leads created in the window
    activities: Comparison  # activities that occurred in the window
    sales: Comparison  # sales closed in the window
    revenue: Comparison  # sum of their amounts in the organization's currency
    # Sales of the current window in another currency: not converted, so not in revenue.
    foreign_currency_sales: int
    last_import: ImportRun | None
    latest_snapshot: ContactSnapshot | None
    has_data: bool


def _window_counts(queryset, field: str, *, start, previous_start, end) -> Comparison:
    numbers = queryset.filter(**{f"{field}__gte": previous_start, f"{field}__lt": end}).aggregate(
        current=Count("pk", filter=Q(**{f"{field}__gte": start})),
        previous=Count("pk", filter=Q(**{f"{field}__lt": start})),
    )
    return Comparison.of(numbers["current"], numbers["previous"])


def organization_overview(*, organization: Organization, as_of: dt.datetime) -> OverviewNumbers:
    """The overview numbers of the last 30 days before `as_of` and the 30 days before those.

    Six queries: contacts, leads, activities, sales, the last import, the latest snapshot
    (three more `exists()` only for an organization whose numbers are all zero).
    """
    start = as_of - OVERVIEW_WINDOW
    previous_start = start - OVERVIEW_WINDOW
    windows = {"start": start, "previous_start": previous_start, "end": as_of}

    contacts = (
        Contact.objects.for_org(organization)
        .filter(created_at__lt=as_of)
        .aggregate(current=Count("pk"), previous=Count("pk", filter=Q(created_at__lt=start)))
    )
    leads = _window_counts(Lead.objects.for_org(organization), "created_at", **windows)
    activities = _window_counts(Activity.objects.for_org(organization), "occurred_at", **windows)

    in_currency = Q(currency__in=counted_currencies(organization.currency))
    current, previous = Q(closed_at__gte=start), Q(closed_at__lt=start)
    sales = (
        Sale.objects.for_org(organization)
        .filter(closed_at__gte=previous_start, closed_at__lt=as_of)
        .aggregate(
            current=Count("pk", filter=current),
            previous=Count("pk", filter=previous),
            revenue_current=Sum("amount", filter=current & in_currency),
            revenue_previous=Sum("amount", filter=previous & in_currency),
            foreign=Count("pk", filter=current & ~in_currency),
        )
    )
    last_import = ImportRun.objects.for_org(organization).select_related("started_by").first()
    latest_snapshot = ContactSnapshot.objects.for_org(organization).order_by("-day").first()

    numbers = [contacts["current"], leads.current, activities.current, sales["current"]]
    numbers += [leads.previous, activities.previous, sales["previous"]]
    has_data = any(numbers) or last_import is not None or _has_any_records(organization)
    return OverviewNumbers(
        as_of=as_of,
        start=start,
        previous_start=previous_start,
        currency=organization.currency,
        contacts=Comparison.of(contacts["current"], contacts["previous"]),
        leads=leads,
        activities=activities,
        sales=Comparison.of(sales["current"], sales["previous"]),
        revenue=Comparison.of(
            sales["revenue_current"] or Decimal("0.00"), sales["revenue_previous"] or Decimal("0.00")
        ),
        foreign_currency_sales=sales["foreign"],
        last_import=last_import,
        latest_snapshot=latest_snapshot,
        has_data=has_data,
    )


def _has_any_records(organization: Organization) -> bool:
    # Only reached when every windowed number is zero: older data still means "not new".
    return any(model.objects.for_org(organization).exists() for model in (Lead, Activity, Sale))


def import_runs_recent(*, organization: Organization, limit: int = RECENT_IMPORTS_LIMIT) -> list[ImportRun]:
    """The organization's latest import runs (any door), newest first."""
    return list(
        ImportRun.objects.for_org(organization)
        .select_related("started_by")
        .defer("errors")
        .order_by("-started_at", "-pk")[:limit]
    )


def import_run_get(*, organization: Organization, run_id: int) -> ImportRun:
    """One run of the organization; another organization's run is a 404 like a missing one."""
    return get_for_org_or_404(ImportRun, organization, pk=run_id)


def import_run_errors_page(
    *, run: ImportRun, page: str | int | None, per_page: int = IMPORT_ERRORS_PER_PAGE
) -> Page:
    """One page of the run's recorded row errors (a bad page number gives the nearest page)."""
    return Paginator(run.errors or [], per_page).get_page(page)
