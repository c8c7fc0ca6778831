"""Reads for pricing: what the analysis of a product needs, and the suggestions.

All aggregation is in SQL; the analysis itself (pricing.recommendation) is pure and gets
plain values. Every read takes the organization first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, TruncMonth

from core.timeranges import add_months, local_midnight
from crm.models import (
    AuditLog,
    BillingPeriod,
    CompetitorPrice,
    Contact,
    Organization,
    PriceHistory,
    Product,
    Quote,
    QuoteOutcome,
    Sale,
    SaleKind,
)
from pricing.models import PricingRun, PricingSettings, PricingSuggestion
from pricing.recommendation import PastChange, PricingPolicy, ProductInputs, QuoteRow

# Sales that keep a customer on a product: the first purchase and its repeats.
KEEPING_KINDS = (SaleKind.NEW, SaleKind.RECURRING, SaleKind.RENEWAL, SaleKind.EXPANSION)
# A customer is still there when they paid again within the billing period plus this grace.
PERIOD_DAYS = {BillingPeriod.MONTH: 31, BillingPeriod.YEAR: 366}
GRACE_DAYS = {BillingPeriod.MONTH: 7, BillingPeriod.YEAR: 31}
# Months of quote history the demand forecast may use (two years and the current one).
QUOTE_HISTORY_MONTHS = 36
# Base churn is measured at this many earlier period starts without a price change.
BASELINE_ANCHORS = 6


def pricing_policy(organization: Organization) -> PricingPolicy:
    settings = PricingSettings.objects.filter(organization=organization).first()
    if settings is None:
        return PricingPolicy()
    return PricingPolicy(
        max_change_pct=float(settings.max_change_pct), min_decided_quotes=settings.min_decided_quotes
    )


def expire_after_days(organization: Organization) -> int:
    settings = PricingSettings.objects.filter(organization=organization).first()
    return (
        settings.expire_after_days
        if settings
        else PricingSettings._meta.get_field("expire_after_days").default
    )


def products_for_analysis(
    organization: Organization, external_ids: Iterable[str] | None
) -> QuerySet[Product]:
    products = Product.objects.for_org(organization).order_by("tier", "name", "external_id")
    if external_ids is None:
        return products.filter(active=True)
    return products.filter(external_id__in=list(external_ids))


def decided_quotes(organization: Organization, product: Product) -> list[QuoteRow]:
    tz = organization.tz
    rows = (
        Quote.objects.for_org(organization)
        .filter(product=product, outcome__in=[QuoteOutcome.WON, QuoteOutcome.LOST])
        .values_list("unit_price", "outcome", "quantity", "decided_at", "quoted_at", "lead__region")
        .order_by("quoted_at", "id")
    )
    return [
        QuoteRow(
            price=float(price),
            won=outcome == QuoteOutcome.WON,
            quantity=quantity,
            decided_on=(decided or quoted).astimezone(tz).date(),
            segment=region or "",
        )
        for price, outcome, quantity, decided, quoted, region in rows
    ]


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def monthly_quotes(
    organization: Organization, product: Product, *, as_of: dt.datetime
) -> list[tuple[dt.date, int]]:
    """(first day of a local month, quotes created), zero-filled, complete months before as_of."""
    tz = organization.tz
    this_month = as_of.astimezone(tz).date().replace(day=1)
    first_month = add_months(this_month, -QUOTE_HISTORY_MONTHS)
    counts = dict(
        Quote.objects.for_org(organization)
        .filter(
            product=product,
            quoted_at__gte=local_midnight(first_month, tz),
            quoted_at__lt=local_midnight(this_month, tz),
        )
        .annotate(month=TruncMonth("quoted_at", tzinfo=tz))
        .values("month")
        .annotate(n=Count("id"))
        .values_list("month", "n")
    )
    counts = {(m.date() if isinstance(m, dt.datetime) else m): n for m, n in counts.items()}
    if not counts:
        return []
    start = min(counts)
    return [
        (month, counts.get(month, 0)) for month in _month_starts(start, this_month - dt.timedelta(days=1))
    ]


def competitor_latest(
    organization: Organization, product: Product
) -> list[tuple[str, Decimal, str, dt.datetime]]:
    """The latest observation of each competitor's price: (competitor, price, currency,
    observed_at), cheapest first."""
    newer = CompetitorPrice.objects.filter(
        organization_id=organization.pk,
        product_id=product.pk,
        competitor=OuterRef("competitor"),
        observed_at__gt=OuterRef("observed_at"),
    )
    return list(
        CompetitorPrice.objects.for_org(organization)
        .filter(product=product)
        .filter(~Exists(newer))
        .order_by("price", "competitor")
        .values_list("competitor", "price", "currency", "observed_at")
    )


def _customers_kept(
    organization: Organization, product: Product, at: dt.datetime, period: dt.timedelta, grace: dt.timedelta
) -> tuple[int, int]:
    """(customers who paid for the product in the period before `at`, those of them who did
    not pay again within the period and grace after it)."""
    sales = Sale.objects.for_org(organization).filter(product=product, kind__in=KEEPING_KINDS)
    paid_after = sales.filter(
        contact_id=OuterRef("contact_id"), closed_at__gte=at, closed_at__lt=at + period + grace
    )
    before = sales.filter(contact__isnull=False, closed_at__gte=at - period, closed_at__lt=at)
    totals = before.aggregate(
        customers=Count("contact_id", distinct=True),
        churned=Count("contact_id", distinct=True, filter=~Q(Exists(paid_after))),
    )
    return totals["customers"], totals["churned"]


def churn_history(
    organization: Organization, product: Product, *, as_of: dt.datetime
) -> tuple[list[PastChange], int, int, int]:
    """(past price changes with the customers they kept or lost, base customers, base churned,
    customers affected now). Only changes whose after-period has ended count."""
    period_days = PERIOD_DAYS.get(product.billing_period)
    history = list(
        PriceHistory.objects.for_org(organization)
        .filter(product=product, effective_at__lte=as_of)
        .order_by("effective_at", "id")
        .values_list("effective_at", "price")
    )
    if period_days is None:
        # One-off purchases have no renewals to lose.
        return [], 0, 0, 0
    period, grace = dt.timedelta(days=period_days), dt.timedelta(days=GRACE_DAYS[product.billing_period])
    changes: list[PastChange] = []
    change_moments = []
    for (_, previous), (moment, price) in zip(history, history[1:], strict=False):
        if price == previous:
            continue
        change_moments.append(moment)
        if moment + period + grace > as_of:
            continue
        customers, churned = _customers_kept(organization, product, moment, period, grace)
        changes.append(
            PastChange(
                changed_on=moment.astimezone(organization.tz).date(),
                change_pct=float((price - previous) / previous * 100),
                customers_before=customers,
                churned=churned,
            )
        )
    base_customers = base_churned = 0
    anchor = as_of - period - grace
    for _ in range(BASELINE_ANCHORS):
        if all(abs(anchor - moment) > period + grace for moment in change_moments):
            customers, churned = _customers_kept(organization, product, anchor, period, grace)
            base_customers += customers
            base_churned += churned
        anchor -= period
    affected = (
        Sale.objects.for_org(organization)
        .filter(product=product, kind__in=KEEPING_KINDS, contact__isnull=False)
        .filter(closed_at__gte=as_of - period - grace, closed_at__lt=as_of)
        .aggregate(n=Count("contact_id", distinct=True))["n"]
    )
    return changes, base_customers, base_churned, affected


def product_inputs(organization: Organization, product: Product, *, as_of: dt.datetime) -> ProductInputs:
    changes, base_customers, base_churned, affected = churn_history(organization, product, as_of=as_of)
    currency = product.currency or organization.currency
    competitors = [
        float(price)
        for _, price, their_currency, _ in competitor_latest(organization, product)
        # A price in another currency is not comparable without a rate we do not keep.
        if their_currency in ("", currency)
    ]
    return ProductInputs(
        current_price=float(product.list_price),
        billing_period=product.billing_period,
        decided=decided_quotes(organization, product),
        monthly_quotes=monthly_quotes(organization, product, as_of=as_of),
        competitor_prices=competitors,
        past_changes=changes,
        baseline_customers=base_customers,
        baseline_churned=base_churned,
        customers_affected=affected,
    )


def affected_customers(organization: Organization, product: Product, *, as_of: dt.datetime) -> QuerySet:
    """Contacts with an e-mail who paid for the product in its last billing period and grace
    (a one-off product: in the last year): the customers a price change notice goes to."""
    days = PERIOD_DAYS.get(product.billing_period, 365) + GRACE_DAYS.get(product.billing_period, 0)
    sales = Sale.objects.for_org(organization).filter(
        product=product,
        contact_id=OuterRef("pk"),
        closed_at__gte=as_of - dt.timedelta(days=days),
        closed_at__lt=as_of,
    )
    return Contact.objects.for_org(organization).filter(Exists(sales)).exclude(email="").order_by("id")


def suggestions(organization: Organization) -> QuerySet[PricingSuggestion]:
    return (
        PricingSuggestion.objects.for_org(organization)
        .select_related("product", "requested_by", "decided_by", "rolled_back_by")
        .order_by("-created_at", "-id")
    )


def latest_run(organization: Organization) -> PricingRun | None:
    return PricingRun.objects.for_org(organization).select_related("requested_by").first()


def decided_quote_rows(organization: Organization, product: Product, *, limit: int = 25) -> list[dict]:
    """The newest decided quotes behind an analysis, for the review page."""
    return list(
        Quote.objects.for_org(organization)
        .filter(product=product, outcome__in=[QuoteOutcome.WON, QuoteOutcome.LOST])
        .annotate(decided=Coalesce("decided_at", "quoted_at"))
        .order_by("-decided", "-id")
        .values("external_id", "unit_price", "quantity", "outcome", "decided", "agent__name", "agent__email")[
            :limit
        ]
    )


def audit_trail(suggestion: PricingSuggestion) -> QuerySet[AuditLog]:
    """Every transition of a suggestion, oldest first."""
    return AuditLog.objects.filter(
        organization_id=suggestion.organization_id,
        object_type="pricing_suggestion",
        object_id=str(suggestion.pk),
    ).order_by("at", "id")


def quote_outcomes(organization: Organization, window) -> tuple[int, int]:
    """(decided quotes, won quotes) decided in `window` (a quote without decided_at counts
    at quoted_at): the figures of pricing.quotesDecided and pricing.quoteWinRate."""
    totals = (
        Quote.objects.for_org(organization)
        .filter(outcome__in=[QuoteOutcome.WON, QuoteOutcome.LOST])
        .annotate(decided=Coalesce("decided_at", "quoted_at"))
        .filter(decided__gte=window.start, decided__lt=window.end)
        .aggregate(decided_n=Count("id"), won_n=Count("id", filter=Q(outcome=QuoteOutcome.WON)))
    )
    return totals["decided_n"], totals["won_n"]
