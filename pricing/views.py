"""The managers' pricing page (/pricing): suggestions read-only, with a request for new ones.

Decisions are the admins' and happen in the Django admin (pricing.admin); an admin gets a
Review link per suggestion. The figures on top are catalogue metrics (pricing.catalogue).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.catalogue import shown
from core.display import trend
from core.errors import ApplicationError
from core.timeranges import parse_range
from crm.models import Organization, Product, Role
from crm.views import MANAGER_ROLES, org_page
from insights.experiments.page_reads import with_price_test
from pricing import selectors, services
from pricing.catalogue import figures
from pricing.models import SuggestionStatus
from reports.charts import ValueFormat

PAGE = "pricing/page.html"
PER_PAGE = 20
# The figures compare the last 90 days with the 90 before.
FIGURE_RANGE = "90d"


def figure_cards(organization: Organization) -> list[dict]:
    window = parse_range(FIGURE_RANGE, as_of=timezone.now())
    return [
        {
            "key": metric.name,
            "label": metric.label,
            "value": shown(metric, current),
            "format": ValueFormat(metric.display_format),
            "trend": trend(change, unit=metric.trend_unit, lower_is_better=metric.lower_is_better),
        }
        for metric, current, change in figures(organization, window)
    ]


def _context(request: HttpRequest, organization: Organization) -> dict:
    status = request.GET.get("status", "")
    if status not in SuggestionStatus.values:
        status = ""
    # Each suggestion's price test, if it has one (the "Test this price first" button).
    rows = with_price_test(selectors.suggestions(organization))
    if status:
        rows = rows.filter(status=status)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    return {
        "cards": figure_cards(organization),
        "page": page,
        "status": status,
        "statuses": SuggestionStatus.choices,
        "run": selectors.latest_run(organization),
        "products": Product.objects.for_org(organization).filter(active=True).count(),
        "is_admin": request.user.role == Role.ADMIN,
        "figure_range": FIGURE_RANGE,
    }


@require_GET
@org_page(roles=MANAGER_ROLES)
def pricing_page(request: HttpRequest, organization: Organization) -> HttpResponse:
    return render(request, PAGE, _context(request, organization))


@require_POST
@org_page(roles=MANAGER_ROLES)
def pricing_generate(request: HttpRequest, organization: Organization) -> HttpResponse:
    """Analyse every active product now; the page (or, with HTMX, its results section)
    comes back with the new suggestions and the skipped products."""
    try:
        generated = services.suggestions_generate(
            organization=organization, requested_by=request.user, product_ids=None, now=timezone.now()
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("pricing-page"))
    made, skipped = len(generated.suggestions), len(generated.skipped)
    text = f"{made} new suggestion{'s' if made != 1 else ''}, {skipped} product{'s' if skipped != 1 else ''} skipped."
    if request.htmx:
        return render(request, f"{PAGE}#results", {**_context(request, organization), "notice": text})
    messages.success(request, text)
    return redirect(reverse("pricing-page"))
