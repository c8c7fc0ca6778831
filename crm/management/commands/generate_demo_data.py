import datetime as dt
import sys
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from crm.demo.loader import DEFAULT_AGENT_PASSWORD, demo_load
from crm.demo.profiles import SCALES
from crm.models import Organization


def parse_as_of(value: str | None, *, zone: str, now: dt.datetime) -> dt.datetime:
    """--as-of: a date is its local midnight in the organization's zone; a date-time
    without an offset is UTC (as in ingestion); nothing is now, floored to the hour so a
    re-run within the hour reproduces the same rows."""
    if not value:
        return now.replace(minute=0, second=0, microsecond=0)
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(zone))
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of: not an ISO date or date-time: {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = (
        "Generate a deterministic 13-month demo history for an organization and load it through "
        "the ingestion service (docs/demo-data.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org_slug")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--scale", default="small", choices=list(SCALES))
        parser.add_argument(
            "--as-of", dest="as_of", default=None, help="ISO date or date-time (default: now)"
        )
        parser.add_argument("--agent-password", dest="agent_password", default=DEFAULT_AGENT_PASSWORD)
        parser.add_argument("--quiet-progress", action="store_true", help="no per-chunk progress on stderr")

    def handle(
        self,
        *args,
        org_slug: str,
        seed: int,
        scale: str,
        as_of: str | None = None,
        agent_password: str = DEFAULT_AGENT_PASSWORD,
        quiet_progress: bool = False,
        **options,
    ) -> None:
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        reference = parse_as_of(as_of, zone=org.timezone, now=timezone.now())
        self.stdout.write(
            f"Generating {scale} demo data for {org.slug} (seed {seed}, as of {reference.isoformat()})..."
        )

        def progress(line: str) -> None:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

        report = demo_load(
            organization=org,
            seed=seed,
            scale=scale,
            as_of=reference,
            agent_password=agent_password,
            progress=None if quiet_progress else progress,
        )
        if report.agents_created:
            self.stdout.write(f"Created {report.agents_created} agents (password: {agent_password}).")
        for entity, count in report.counts.items():
            self.stdout.write(f"  {entity:<18} {count.stored:>10,} stored {count.rejected:>8,} rejected")
        self.stdout.write(
            f"{report.rows_total:,} rows in {report.seconds:.1f}s; anomalous day: {report.anomaly_day.isoformat()}"
        )
        if report.rows_rejected:
            for entity, error in report.errors:
                self.stderr.write(f"  {entity} row {error.row} {error.column}: {error.reason}")
            raise CommandError(
                f"{report.rows_rejected} generated rows were rejected by the ingestion service."
            )
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
