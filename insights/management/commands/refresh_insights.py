"""`manage.py refresh_insights <org>`: run the performance series, the insight detectors and
the opportunity scoring for one organization now (the nightly job does all of them)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from crm.models import Organization
from insights.bi.refresh import bi_refresh, totals


class Command(BaseCommand):
    help = "Generate an organization's business insights, opportunities and performance series now."

    def add_arguments(self, parser) -> None:
        parser.add_argument("org_slug")

    def handle(self, *args, org_slug: str, **options) -> None:
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        reports = bi_refresh(organization=org, as_of=timezone.now())
        for step, counts in reports.items():
            shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in totals(counts).items())
            self.stdout.write(f"{step}: {shown or 'done'}")
        self.stdout.write(self.style.SUCCESS(f"Business insights of {org.name} are up to date."))
