"""Writing the audit log: one call per state change that matters (DESIGN section 8)."""

from __future__ import annotations

from typing import Any

from crm.models import AuditLog, Member, Organization


def audit_record(
    *,
    organization: Organization | None,
    actor: Member | None,
    action: str,
    object_type: str,
    object_id: str | int = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    real_actor = actor if isinstance(actor, Member) else None
    return AuditLog.objects.create(
        organization=organization,
        actor=real_actor,
        actor_label=str(actor) if actor is not None else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
    )
