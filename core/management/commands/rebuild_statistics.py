import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.stats.families import families
from core.stats.refresh import statistics_rebuild, statistics_refresh
from crm.models import Organization

MAX_DAYS = 3660


class Command(BaseCommand):
    help = (
        "Rebuild an organization's statistics (idempotent) and bring them up to yesterday: "
        "every family, or those named with --family."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("org_slug")
        parser.add_argument(
            "--family",
            action="append",
            choices=[family.name for family in families()],
            help="a family of statistics (repeat for several; default: all)",
        )
        parser.add_argument(
            "--days", type=int, default=0, help="also rebuild the last N days (0: only what is stale)"
        )

    def handle(self, *args, org_slug: str, family: list[str] | None, days: int, **options) -> None:
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        if not 0 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 0 and {MAX_DAYS}.")
        now = timezone.now()
        yesterday = now.astimezone(org.tz).date() - dt.timedelta(days=1)
        for name in family or [f.name for f in families()]:
            if days:
                rows = statistics_rebuild(
                    organization=org,
                    family=name,
                    first_day=yesterday - dt.timedelta(days=days - 1),
                    last_day=yesterday,
                )
                self.stdout.write(f"{name}: {rows} rows rewritten for the last {days} days.")
            span = statistics_refresh(organization=org, family=name, as_of=now)
            if span:
                self.stdout.write(self.style.SUCCESS(f"{name}: up to date ({span[0]} .. {span[1]} rebuilt)."))
            else:
                self.stdout.write(self.style.SUCCESS(f"{name}: already up to date."))
