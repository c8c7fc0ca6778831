"""The demo organization and its people, shared by `setup_demo` and the system test."""

from __future__ import annotations

from dataclasses import dataclass

from crm.models import Member, Organization, Role
from crm.services import member_add, organization_create

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo-pass-123"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    name: str
    team: str = ""


DEMO_LOGINS = (
    DemoLogin("admin@demo.example", Role.ADMIN, "Ada Admin"),
    DemoLogin("manager@demo.example", Role.MANAGER, "Mo Manager"),
    DemoLogin("agent1@demo.example", Role.AGENT, "Amina Wanjiru", "Nairobi"),
    DemoLogin("agent2@demo.example", Role.AGENT, "Brian Otieno", "Nairobi"),
)


def demo_organization_ensure() -> Organization:
    org = Organization.objects.filter(slug=DEMO_SLUG).first()
    if org is None:
        org = organization_create(
            slug=DEMO_SLUG, name="Demo Safaris Ltd", timezone="Africa/Nairobi", currency="KES"
        )
    for login in DEMO_LOGINS:
        if not Member.objects.filter(email=login.email).exists():
            member_add(
                organization=org,
                email=login.email,
                role=login.role,
                password=DEMO_PASSWORD,
                name=login.name,
                team=login.team,
            )
    return org
