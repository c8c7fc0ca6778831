"""Writes of the manager analytics: the rebuild of the daily rollups (the engine's "insights"
family, insights/statistics.py), organization goals and saved dashboard views (audited)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.cache import org_data_changed
from core.stats.idsets import idset_pack
from core.stats.rollups import hours_rebuild, rollups_rebuild
from core.timeranges import day_window
from crm.audit import audit_record
from crm.models import Member, Organization, Touchpoint
from insights.models import CampaignLeadDailyRollup, CampaignLeadSet, OrganizationGoal, SavedView
from insights.selectors import SPECS

logger = logging.getLogger(__name__)


def insights_rollups_rebuild(*, organization: Organization, first_day: dt.date, last_day: dt.date) -> int:
    """Replace every insights rollup row of [first_day, last_day] and the campaigns' lead sets
    those days change (the family's rebuild), in one transaction."""
    with transaction.atomic():
        # Before the rollups: the first-touch rows about to be replaced name the campaigns
        # whose touchpoints of those days may have gone.
        sets = campaign_lead_sets_rebuild(organization=organization, first_day=first_day, last_day=last_day)
        return sets + rollups_rebuild(
            organization=organization, specs=SPECS, first_day=first_day, last_day=last_day
        )


def campaign_lead_sets_rebuild(*, organization: Organization, first_day: dt.date, last_day: dt.date) -> int:
    """Rewrite the lead set (through `last_day`) of every campaign touched on or after
    `first_day`, or that had a first touch on those days before (a touchpoint since deleted or
    moved); returns the sets written. A campaign with neither kept no touchpoint in the days
    since its set was written, so its set is still the same."""
    window = day_window(first_day, last_day, organization.tz)
    touches = Touchpoint.objects.for_org(organization).filter(
        campaign_id__isnull=False, lead_id__isnull=False
    )
    campaigns = set(
        touches.filter(occurred_at__gte=window.start).values_list("campaign_id", flat=True).distinct()
    )
    campaigns |= set(
        CampaignLeadDailyRollup.objects.for_org(organization)
        .filter(day__gte=first_day)
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    if not campaigns:
        return 0
    pairs = (
        touches.filter(campaign_id__in=campaigns, occurred_at__lt=window.end)
        .values_list("campaign_id", "lead_id")
        .distinct()
        .order_by()
    )
    leads: dict[int, list[int]] = {campaign: [] for campaign in campaigns}
    for campaign, lead in pairs.iterator(chunk_size=20_000):
        leads[campaign].append(lead)
    CampaignLeadSet.objects.for_org(organization).filter(campaign_id__in=campaigns).delete()
    packed = {campaign: idset_pack(ids) for campaign, ids in leads.items() if ids}
    CampaignLeadSet.objects.bulk_create(
        CampaignLeadSet(
            organization=organization,
            campaign_id=campaign,
            through_day=last_day,
            size=len(set(leads[campaign])),
            leads=blob,
        )
        for campaign, blob in packed.items()
    )
    return len(packed)


def insights_hours_rebuild(
    *, organization: Organization, first_day: dt.date, last_day: dt.date, until: dt.datetime
) -> int:
    """Replace the insights hour-level rows of [first_day, last_day] with the raw rows before
    `until` (the family's intraday refresh)."""
    return hours_rebuild(
        organization=organization, specs=SPECS, first_day=first_day, last_day=last_day, until=until
    )


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
