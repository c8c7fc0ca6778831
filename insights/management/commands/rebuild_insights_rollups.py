import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from crm.models import Organization
from insights.services import insights_rollups_rebuild, insights_rollups_refresh


class Command(BaseCommand):
    help = "Rebuild an organization's insights rollups (idempotent) and bring them up to yesterday."

    def add_arguments(self, parser) -> None:
        parser.add_argument("org_slug")
        parser.add_argument(
            "--days", type=int, default=0, help="also rebuild the last N days (0: only what is stale)"
        )

    def handle(self, *args, org_slug: str, days: int, **options) -> None:
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        if not 0 <= days <= 3660:
            raise CommandError("--days must be between 0 and 3660.")
        now = timezone.now()
        if days:
            yesterday = now.astimezone(org.tz).date() - dt.timedelta(days=1)
            rows = insights_rollups_rebuild(
                organization=org, first_day=yesterday - dt.timedelta(days=days - 1), last_day=yesterday
            )
            self.stdout.write(f"{rows} rollup rows rewritten for the last {days} days.")
        span = insights_rollups_refresh(organization=org, as_of=now)
        if span:
            self.stdout.write(self.style.SUCCESS(f"Rollups up to date ({span[0]} .. {span[1]} rebuilt)."))
        else:
            self.stdout.write(self.style.SUCCESS("Rollups were already up to date."))
