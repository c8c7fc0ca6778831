"""Navigation of the base layout, by role.

To add a page to the header, append a NavEntry to NAV_ENTRIES with the roles that may see
it (its view must enforce the same roles; hiding a link is not access control).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from crm.models import Role

EVERYONE = frozenset(Role.values)
MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class NavEntry:
    url_name: str
    label: str
    roles: frozenset[str]
    # Other url names that highlight this entry (e.g. an entry's detail pages).
    also_active_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    active: bool


NAV_ENTRIES: list[NavEntry] = [
    NavEntry("home", "Overview", EVERYONE),
    NavEntry("agent-page", "My analytics", EVERYONE),
    NavEntry("insights-dashboard", "Dashboard", MANAGERS, also_active_for=("insights-records",)),
    # Everyone: agents see their own leads' insights and opportunities (docs/insights.md).
    NavEntry("bi-insights", "Insights", EVERYONE),
    NavEntry("agent-team", "Team", MANAGERS, also_active_for=("agent-detail-page",)),
    NavEntry("pricing-page", "Pricing", MANAGERS),
    NavEntry(
        "experiments-list", "Experiments", MANAGERS, also_active_for=("experiments-new", "experiments-detail")
    ),
    # Everyone: agents export their own analytics (docs/reports.md).
    NavEntry("reports-builder", "Reports", EVERYONE),
    NavEntry("crm-import", "Import", MANAGERS, also_active_for=("crm-import-run",)),
]


def nav_items(*, role: str, current_url_name: str | None) -> list[NavItem]:
    items = []
    for entry in NAV_ENTRIES:
        if role not in entry.roles:
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            # An entry whose app is not wired yet is skipped rather than breaking every page.
            continue
        active = current_url_name in (entry.url_name, *entry.also_active_for)
        items.append(NavItem(label=entry.label, url=url, active=active))
    return items


def navigation(request: HttpRequest) -> dict:
    """`nav_items`, `current_org` and `show_admin_link` for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "current_org": None, "show_admin_link": False}
    organization = getattr(user, "organization", None)
    match = getattr(request, "resolver_match", None)
    # Every product page needs an organization: a member without one gets no entries.
    role = getattr(user, "role", "") if organization is not None else ""
    return {
        "nav_items": nav_items(role=role, current_url_name=match.url_name if match else None),
        "current_org": organization,
        # Org admins and platform operators work in the Django admin (DESIGN section 1).
        "show_admin_link": getattr(user, "is_staff", False),
    }
