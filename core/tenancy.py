"""The one mechanism that scopes data to an organization.

Every tenant-owned model uses `OrgQuerySet` as its manager, so the natural way to read is
`Model.objects.for_org(org)`; `get_for_org_or_404` is the only way views fetch one object,
and another organization's object answers 404 exactly like a missing id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django.http import Http404

if TYPE_CHECKING:
    from crm.models import Organization

M = TypeVar("M", bound=models.Model)


class OrgQuerySet(models.QuerySet):
    def for_org(self, organization: Organization | int) -> OrgQuerySet:
        org_id = organization if isinstance(organization, int) else organization.pk
        return self.filter(organization_id=org_id)


OrgManager = models.Manager.from_queryset(OrgQuerySet)


class OtherOrganizationsObject(Http404):
    """A 404 for an object that exists in another organization: answered exactly like a
    missing id, and logged as a security event (core.errors, RELIABILITY G15)."""


def get_for_org_or_404(model: type[M], organization: Organization, **lookup: Any) -> M:
    try:
        return model.objects.for_org(organization).get(**lookup)
    except (ValueError, TypeError) as exc:
        raise Http404(f"{model._meta.verbose_name} not found") from exc
    except model.DoesNotExist as exc:
        if held_elsewhere(model, organization, **lookup):
            raise OtherOrganizationsObject(f"{model._meta.verbose_name} not found") from exc
        raise Http404(f"{model._meta.verbose_name} not found") from exc


def held_elsewhere(model: type[models.Model], organization: Organization, **lookup: Any) -> bool:
    """Whether another organization holds the object `lookup` names. Asked only on the way to
    a 404, to tell a probe of another organization's ids (a security event) from a missing id;
    the answer to the caller is the same 404 either way."""
    return model._base_manager.filter(**lookup).exclude(organization_id=organization.pk).exists()
