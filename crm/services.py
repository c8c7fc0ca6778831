"""Writes for organizations, members and API keys. Each audited."""

from __future__ import annotations

from django.db import transaction

from crm.audit import audit_record
from crm.auth import api_key_generate
from crm.models import ApiKey, Member, Organization, Role


@transaction.atomic
def organization_create(
    *, slug: str, name: str, timezone: str = "UTC", currency: str = "USD", actor: Member | None = None
) -> Organization:
    org = Organization(slug=slug, name=name, timezone=timezone, currency=currency.upper())
    org.full_clean()
    org.save()
    audit_record(
        organization=org,
        actor=actor,
        action="organization.create",
        object_type="organization",
        object_id=org.pk,
        after={"slug": slug, "name": name, "timezone": timezone, "currency": org.currency},
    )
    return org


@transaction.atomic
def member_add(
    *,
    organization: Organization,
    email: str,
    role: str,
    password: str | None,
    name: str = "",
    team: str = "",
    actor: Member | None = None,
) -> Member:
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
    email = email.strip().lower()
    if Member.objects.filter(email=email).exists():
        raise ValueError(f"A member with e-mail {email} already exists.")
    member = Member.objects.create_user(
        email,
        password,
        organization=organization,
        role=role,
        name=name,
        team=team,
        # Org admins manage their organization in the Django admin.
        is_staff=role == Role.ADMIN,
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="member.add",
        object_type="member",
        object_id=member.pk,
        after={"email": email, "role": role, "team": team},
    )
    return member


@transaction.atomic
def member_change_role(*, member: Member, role: str, actor: Member | None) -> Member:
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}.")
    before = {"role": member.role}
    member.role = role
    member.is_staff = role == Role.ADMIN or member.is_superuser
    member.save(update_fields=["role", "is_staff"])
    audit_record(
        organization=member.organization,
        actor=actor,
        action="member.role_change",
        object_type="member",
        object_id=member.pk,
        before=before,
        after={"role": role},
    )
    return member


@transaction.atomic
def api_key_create(*, organization: Organization, name: str, actor: Member | None) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw value, which is shown once and never stored."""
    raw, prefix, key_hash = api_key_generate()
    key = ApiKey.objects.create(
        organization=organization,
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        created_by=actor if isinstance(actor, Member) else None,
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="api_key.create",
        object_type="api_key",
        object_id=key.pk,
        after={"name": name, "prefix": prefix},
    )
    return key, raw
