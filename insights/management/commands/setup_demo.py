import datetime as dt

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from crm.demo_setup import DEMO_LOGINS, DEMO_PASSWORD, DEMO_SLUG, demo_organization_ensure
from crm.models import Lead, Member
from crm.snapshots import contact_snapshots_rebuild, last_complete_local_day
from insights.bi.models import BusinessInsight
from insights.bi.refresh import bi_refresh, totals
from pricing.models import PricingSuggestion
from pricing.services import suggestions_generate

HISTORY_DAYS = 400
DEMO_MANAGER = next(login.email for login in DEMO_LOGINS if login.role == "manager")


class Command(BaseCommand):
    help = "Create the demo organization and logins, and generate demo data if it has none."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--scale", default="small", choices=["small", "medium", "large"])
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, scale: str, seed: int, **options) -> None:
        call_command("sync_beat_schedule", stdout=self.stdout)
        org = demo_organization_ensure()
        if not Lead.objects.for_org(org).exists():
            self.stdout.write("Generating demo data (first start only)...")
            call_command("generate_demo_data", DEMO_SLUG, seed=seed, scale=scale, stdout=self.stdout)
            last = last_complete_local_day(organization=org, as_of=timezone.now())
            contact_snapshots_rebuild(
                organization=org, first_day=last - dt.timedelta(days=HISTORY_DAYS), last_day=last
            )
        if not BusinessInsight.objects.for_org(org).exists():
            # The nightly job would fill the Insights page by tomorrow; a demo shows it now.
            self.stdout.write("Generating business insights and opportunities...")
            reports = bi_refresh(organization=org, as_of=timezone.now())
            found, offered = totals(reports["insights"]), totals(reports["opportunities"])
            self.stdout.write(
                f"  {found.get('created', 0)} insights, {offered.get('created', 0)} opportunities"
            )
        if not PricingSuggestion.objects.for_org(org).exists():
            # Requested by the manager, so the admin can review and decide them (four eyes).
            self.stdout.write("Requesting pricing suggestions...")
            manager = Member.objects.get(email=DEMO_MANAGER)
            made = suggestions_generate(
                organization=org, requested_by=manager, product_ids=None, now=timezone.now()
            )
            self.stdout.write(
                f"  {len(made.suggestions)} suggestions for the admin to review, {len(made.skipped)} products skipped"
            )
        self.stdout.write(self.style.SUCCESS(f"Demo organization {org.name!r} is ready. Logins:"))
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.role:<8} {login.email:<24} password: {DEMO_PASSWORD}")
