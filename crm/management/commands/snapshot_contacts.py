import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from crm.models import Organization
from crm.snapshots import contact_snapshots_rebuild, last_complete_local_day


class Command(BaseCommand):
    help = "Backfill the daily contact snapshots of an organization (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("org_slug")
        parser.add_argument("--days", type=int, default=1, help="number of days ending yesterday")

    def handle(self, *args, org_slug: str, days: int, **options) -> None:
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        if not 1 <= days <= 3660:
            raise CommandError("--days must be between 1 and 3660.")
        last = last_complete_local_day(organization=org, as_of=timezone.now())
        first = last - dt.timedelta(days=days - 1)
        rows = contact_snapshots_rebuild(organization=org, first_day=first, last_day=last)
        self.stdout.write(
            self.style.SUCCESS(f"{rows} snapshot days written for {org.slug} ({first} .. {last}).")
        )
