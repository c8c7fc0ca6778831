"""Writes of the manager analytics: the rebuild of the daily rollups (the engine's "insights"
family, insights/statistics.py), organization goals and saved dashboard views (audited)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.cache import org_data_changed
from core.stats.rollups import rollups_rebuild
from crm.audit import audit_record
from crm.models import Member, Organization
from insights.models import OrganizationGoal, SavedView
from insights.selectors import SPECS

logger = logging.getLogger(__name__)


def insights_rollups_rebuild(*, organization: Organization, first_day: dt.date, last_day: dt.date) -> int:
    """Replace every insights rollup row of [first_day, last_day] (the family's rebuild)."""
    return rollups_rebuild(organization=organization, specs=SPECS, first_day=first_day, last_day=last_day)


# --- organization goals and saved views ---------------------------------------------------


def organization_goal_set(
    *, organization: Organization, actor: Member, month: dt.date, metric: str, target: Decimal
) -> OrganizationGoal:
    """Create or change a month's target (audited); target 0 removes nothing, it is a target."""
    with transaction.atomic():
        goal = (
            OrganizationGoal.objects.for_org(organization)
            .select_for_update()
            .filter(month=month, metric=metric)
            .first()
        )
        before = None if goal is None else {"target": str(goal.target)}
        if goal is None:
            goal = OrganizationGoal(organization=organization, month=month, metric=metric)
        goal.target, goal.set_by, goal.updated_at = target, actor, timezone.now()
        goal.save()
        audit_record(
            organization=organization,
            actor=actor,
            action="organization_goal.set",
            object_type="OrganizationGoal",
            object_id=goal.pk,
            before=before,
            after={"month": month.isoformat(), "metric": metric, "target": str(target)},
        )
        # The overview tab's cached payload holds the goals.
        transaction.on_commit(lambda: org_data_changed(organization.pk))
    return goal


def saved_view_create(
    *, organization: Organization, actor: Member, name: str, tab: str, query: str
) -> SavedView:
    view = SavedView.objects.create(
        organization=organization, name=name, tab=tab, query=query, created_by=actor
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="saved_view.create",
        object_type="SavedView",
        object_id=view.pk,
        after={"name": name, "tab": tab, "query": query},
    )
    return view


def saved_view_delete(*, view: SavedView, actor: Member) -> None:
    audit_record(
        organization=view.organization,
        actor=actor,
        action="saved_view.delete",
        object_type="SavedView",
        object_id=view.pk,
        before={"name": view.name, "tab": view.tab, "query": view.query},
    )
    view.delete()
