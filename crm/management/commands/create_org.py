from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm.models import Organization
from crm.services import organization_create


class Command(BaseCommand):
    help = "Create an organization: create_org <slug> --name NAME [--timezone TZ] [--currency CUR]"

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--currency", default="USD")

    def handle(self, *args, slug: str, name: str, timezone: str, currency: str, **options) -> None:
        if Organization.objects.filter(slug=slug).exists():
            raise CommandError(f"Organization {slug!r} already exists.")
        try:
            org = organization_create(slug=slug, name=name, timezone=timezone, currency=currency)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Created organization {org.slug} ({org.name}, {org.timezone}).")
        )
