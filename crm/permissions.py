"""DRF permission classes per role. Every API view names one of these."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from crm.models import Role


def member_organization(user) -> object | None:
    return getattr(user, "organization", None) if getattr(user, "is_authenticated", False) else None


class IsMember(BasePermission):
    """Any authenticated member (or API key) that belongs to an organization."""

    message = "You must belong to an organization."

    def has_permission(self, request, view) -> bool:
        return member_organization(request.user) is not None


class _HasRole(IsMember):
    roles: tuple[str, ...] = ()
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and getattr(request.user, "role", None) in self.roles


class IsAgent(_HasRole):
    roles = (Role.AGENT, Role.MANAGER, Role.ADMIN)


class IsManager(_HasRole):
    roles = (Role.MANAGER, Role.ADMIN)


class IsOrgAdmin(_HasRole):
    roles = (Role.ADMIN,)


class CanIngest(_HasRole):
    """Organization API keys and admins may push data (DESIGN section 5)."""

    roles = (Role.ADMIN, "integration")
