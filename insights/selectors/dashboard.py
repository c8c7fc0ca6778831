"""Reads of the dashboard page itself: the filter choices and the saved views."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from crm.models import Lead, Member, Organization, Role, Sale
from insights.models import OrganizationGoal, SavedView


@dataclass(frozen=True)
class FilterChoices:
    regions: list[str]
    product_lines: list[str]
    sources: list[str]
    agents: list[tuple[str, str]]  # (e-mail, display name)


def _distinct(qs: QuerySet, column: str) -> QuerySet:
    return qs.exclude(**{column: ""}).values_list(column, flat=True).distinct().order_by(column)


def filter_choices(organization: Organization) -> FilterChoices:
    """Every value the filters accept (what the organization has used): five small queries."""
    leads = Lead.objects.for_org(organization)
    # Product lines are used on leads and on sales (the filter accepts both).
    product_lines = {
        *_distinct(leads, "product_line"),
        *_distinct(Sale.objects.for_org(organization), "product_line"),
    }
    agents = (
        Member.objects.for_org(organization)
        .filter(role__in=(Role.AGENT, Role.MANAGER), is_active=True)
        .order_by("name", "email")
        .values_list("email", "name")
    )
    return FilterChoices(
        regions=list(_distinct(leads, "region")),
        product_lines=sorted(product_lines),
        sources=list(_distinct(leads, "source")),
        agents=[(email, name or email) for email, name in agents],
    )


def saved_views(organization: Organization) -> list[SavedView]:
    return list(SavedView.objects.for_org(organization).select_related("created_by"))


def goal_for(organization: Organization, *, month: object, metric: str) -> OrganizationGoal | None:
    return OrganizationGoal.objects.for_org(organization).filter(month=month, metric=metric).first()
