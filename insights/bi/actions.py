"""Writes of the people acting on business insights (docs/insights.md): resolving an insight,
moving an opportunity along its status machine, changing the detector thresholds.

Each is one transaction that locks the row it changes (two concurrent requests cannot both
apply), writes the change and its audit row (DESIGN section 8: who, when, before, after).
The generators' writes live in insights.bi.services and its sub-packages.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from core.errors import ApplicationError
from crm.audit import audit_record
from crm.models import Member
from insights.bi.models import (
    OPPORTUNITY_TRANSITIONS,
    BusinessInsight,
    InsightSettings,
    Opportunity,
    OpportunityStatus,
    OpportunityStatusChange,
)

# A note is a sentence or a paragraph, not a document.
NOTE_MAX_LENGTH = 2000
CLOSED_STATUSES = (OpportunityStatus.CONVERTED, OpportunityStatus.LOST)


class AlreadyResolved(Exception):
    """The insight was resolved before this request (answered 409)."""

    def __init__(self, insight: BusinessInsight) -> None:
        who = insight.resolved_by.display_name if insight.resolved_by else "the system"
        when = timezone.localtime(insight.resolved_at).strftime("%Y-%m-%d %H:%M")
        zone = timezone.get_current_timezone_name()
        super().__init__(f"This insight was already resolved by {who} at {when} ({zone}).")
        self.insight = insight


class InvalidTransition(ApplicationError):
    """A status the opportunity cannot move to from where it is (answered 400, field "status")."""

    field = "status"


class InvalidNote(ApplicationError):
    """A note too long or with a NUL (answered 400, field "note")."""

    field = "note"


def _note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise InvalidNote(f"A note has at most {NOTE_MAX_LENGTH} characters.")
    if "\x00" in note:
        raise InvalidNote("A note cannot contain NUL characters.")
    return note


def _stamp(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def insight_resolve(*, insight: BusinessInsight, actor: Member, note: str = "") -> BusinessInsight:
    """Mark `insight` resolved by `actor`; AlreadyResolved if it is resolved already."""
    note = _note(note)
    with transaction.atomic():
        locked = BusinessInsight.objects.select_for_update().get(pk=insight.pk)
        if locked.resolved_at is not None:
            raise AlreadyResolved(BusinessInsight.objects.select_related("resolved_by").get(pk=insight.pk))
        now = timezone.now()
        locked.resolved_at, locked.resolved_by, locked.resolution_note = now, actor, note
        locked.updated_at = now
        locked.save(update_fields=["resolved_at", "resolved_by", "resolution_note", "updated_at"])
        audit_record(
            organization=locked.organization,
            actor=actor,
            action="insight.resolve",
            object_type="BusinessInsight",
            object_id=locked.pk,
            before={"resolved_at": None, "resolved_by": None, "resolution_note": ""},
            after={"resolved_at": _stamp(now), "resolved_by": actor.email, "resolution_note": note},
        )
    return locked


def allowed_statuses(status: str) -> tuple[str, ...]:
    return OPPORTUNITY_TRANSITIONS.get(status, ())


def opportunity_status_update(
    *, opportunity: Opportunity, actor: Member, status: str, note: str = ""
) -> Opportunity:
    """Move `opportunity` to `status` (only OPPORTUNITY_TRANSITIONS), with its history row."""
    if status not in OpportunityStatus.values:
        raise InvalidTransition(f"Unknown status {status!r}; use {', '.join(OpportunityStatus.values)}.")
    note = _note(note)
    with transaction.atomic():
        # The lock makes the check and the move one step: a concurrent update waits here and
        # then sees the status this one wrote.
        locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        allowed = allowed_statuses(locked.status)
        if status not in allowed:
            where = OpportunityStatus(locked.status).label.lower()
            then = f"only to {' or '.join(allowed)}" if allowed else "no further (it is closed)"
            raise InvalidTransition(f"This opportunity is {where}: it can move {then}.")
        before = {"status": locked.status, "closed_at": _stamp(locked.closed_at)}
        now = timezone.now()
        locked.status, locked.status_changed_at, locked.updated_at = status, now, now
        if status in CLOSED_STATUSES:
            locked.closed_at = now
        locked.save(update_fields=["status", "status_changed_at", "updated_at", "closed_at"])
        OpportunityStatusChange.objects.create(
            opportunity=locked,
            from_status=before["status"],
            to_status=status,
            actor=actor,
            note=note,
            changed_at=now,
        )
        audit_record(
            organization=locked.organization,
            actor=actor,
            action="opportunity.status_change",
            object_type="Opportunity",
            object_id=locked.pk,
            before=before,
            after={"status": status, "closed_at": _stamp(locked.closed_at), "note": note},
        )
    return locked


SETTINGS_FIELDS = tuple(
    f.name
    for f in InsightSettings._meta.concrete_fields
    if f.name not in ("id", "organization", "updated_at")
)


def insight_settings_values(settings: InsightSettings) -> dict[str, str]:
    """The thresholds as text, decimals at their field's places (a form's 24 is the row's 24.00)."""
    values = {}
    for name in SETTINGS_FIELDS:
        field, value = InsightSettings._meta.get_field(name), getattr(settings, name)
        if isinstance(field, models.DecimalField) and value is not None:
            value = Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
        values[name] = str(value)
    return values


def insight_settings_save(
    *, settings: InsightSettings, actor: Member, before: dict[str, str] | None
) -> InsightSettings:
    """Store changed thresholds (the admin form) with an audit row of what changed."""
    with transaction.atomic():
        settings.updated_at = timezone.now()
        settings.save()
        after = insight_settings_values(settings)
        changed = [name for name in SETTINGS_FIELDS if before is None or before.get(name) != after[name]]
        audit_record(
            organization=settings.organization,
            actor=actor,
            action="insight_settings.create" if before is None else "insight_settings.update",
            object_type="InsightSettings",
            object_id=settings.pk,
            before=None if before is None else {name: before.get(name) for name in changed},
            after={name: after[name] for name in changed},
        )
    return settings
