from django.core.management.base import BaseCommand, CommandError

from crm.models import Organization, Role
from crm.services import member_add


class Command(BaseCommand):
    help = "Add a member: add_member <org-slug> <email> --role admin|manager|agent --password PW"

    def add_arguments(self, parser) -> None:
        parser.add_argument("org_slug")
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--team", default="")

    def handle(
        self, *args, org_slug: str, email: str, role: str, password: str, name: str, team: str, **opts
    ):
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        try:
            member = member_add(
                organization=org, email=email, role=role, password=password, name=name, team=team
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Added {member.email} to {org.slug} as {role}."))
