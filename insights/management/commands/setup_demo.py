import datetime as dt

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from crm.demo.loader import demo_experiment_quotes_load
from crm.demo_setup import DEMO_LOGINS, DEMO_PASSWORD, DEMO_SLUG, demo_organization_ensure
from crm.models import Lead, Member, Organization
from crm.snapshots import contact_snapshots_rebuild, last_complete_local_day
from insights.bi.models import BusinessInsight
from insights.bi.refresh import bi_refresh, totals
from insights.experiments.assignment import assign, subject_key
from insights.experiments.models import Experiment
from insights.experiments.services import (
    TESTABLE_SUGGESTIONS,
    experiment_create_from_suggestion,
    experiment_start,
)
from pricing.models import PricingSuggestion
from pricing.services import suggestions_generate

HISTORY_DAYS = 400
DEMO_MANAGER = next(login.email for login in DEMO_LOGINS if login.role == "manager")
# The demo's running price test: Starter's suggestion (a decrease, the largest predicted change
# in win rate), created and started by the manager this long before the demo's as_of.
DEMO_TEST_PRODUCT = "PRD-STARTER"
DEMO_TEST_DAYS = 42


def demo_price_test(
    *, organization: Organization, manager: Member, seed: int, scale: str, as_of: dt.datetime
) -> Experiment | None:
    """A running price test of the Starter suggestion, started DEMO_TEST_DAYS before as_of,
    with the quotes of its window (crm/demo/pricing.py): the services create and start it, with
    their `now` set to the start (created an hour before), then the quotes are loaded. None
    without a testable Starter suggestion."""
    suggestion = (
        PricingSuggestion.objects.for_org(organization)
        .filter(product__external_id=DEMO_TEST_PRODUCT, status__in=TESTABLE_SUGGESTIONS)
        .order_by("-pk")
        .first()
    )
    if suggestion is None:
        return None
    start = as_of - dt.timedelta(days=DEMO_TEST_DAYS)
    experiment = experiment_create_from_suggestion(
        organization=organization,
        actor=manager,
        suggestion_id=suggestion.pk,
        now=start - dt.timedelta(hours=1),
    )
    experiment = experiment_start(
        organization=organization, actor=manager, experiment_id=experiment.pk, now=start
    )
    variants = list(experiment.variants.all())
    weights = [(v.key, v.weight) for v in variants]

    def variant_of(contact: str) -> str:
        return assign(experiment.pk, subject_key(contact_external_id=contact, lead_external_id=None), weights)

    demo_experiment_quotes_load(
        organization=organization,
        seed=seed,
        scale=scale,
        as_of=as_of,
        product_external_id=DEMO_TEST_PRODUCT,
        start=start,
        variants=[(v.key, f"{v.price:.2f}") for v in variants],
        variant_of=variant_of,
    )
    return experiment


class Command(BaseCommand):
    help = "Create the demo organization and logins, and generate demo data if it has none."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--scale", default="small", choices=["small", "medium", "large"])
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, scale: str, seed: int, **options) -> None:
        call_command("sync_beat_schedule", stdout=self.stdout)
        org = demo_organization_ensure()
        generated_as_of = None
        if not Lead.objects.for_org(org).exists():
            self.stdout.write("Generating demo data (first start only)...")
            # The demo's "now", as generate_demo_data would take it; the price test needs it too.
            generated_as_of = timezone.now().replace(minute=0, second=0, microsecond=0)
            call_command(
                "generate_demo_data",
                DEMO_SLUG,
                seed=seed,
                scale=scale,
                as_of=generated_as_of.isoformat(),
                stdout=self.stdout,
            )
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
        if generated_as_of is not None:
            self.stdout.write("Starting the demo's price test...")
            experiment = demo_price_test(
                organization=org,
                manager=Member.objects.get(email=DEMO_MANAGER),
                seed=seed,
                scale=scale,
                as_of=generated_as_of,
            )
            self.stdout.write(f"  {experiment.name}" if experiment else "  no Starter suggestion to test")
        self.stdout.write(self.style.SUCCESS(f"Demo organization {org.name!r} is ready. Logins:"))
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.role:<8} {login.email:<24} password: {DEMO_PASSWORD}")
