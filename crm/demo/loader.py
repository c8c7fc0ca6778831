"""Loading the demo history into an organization, through the ingestion service.

Every record goes through `crm.ingestion.ingest_records`, the bulk path imports use, so the
demo exercises (and is validated by) the same code as real data, and a re-run with the same
seed and as_of upserts the same rows by external_id. The generator's chunks are loaded one
at a time in entity order and then dropped: memory stays flat at any scale.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction

from core.dbstats import analyze
from crm.demo import profiles
from crm.demo.agents import agent_identity
from crm.demo.generator import CHUNK_ENTITIES, ENTITY_ORDER, DemoConfig, DemoGenerator, Record
from crm.demo.timeline import anomaly_day
from crm.ingestion import RowError, ingest_records
from crm.ingestion.schemas import entity_spec
from crm.models import Member, Organization, Role
from crm.services import member_add

DEFAULT_AGENT_PASSWORD = "demo-pass-123"
# Rejected rows are a generator (or ingestion) bug; this many are kept to show.
ERROR_SAMPLE = 20
# PostgreSQL: the loaded tables are analyzed once this many rows are in, then each time the
# total doubles, and at the end. Without statistics (a fresh database, autovacuum off or
# lagging behind a bulk load) the planner takes the organization's rows for a few hundred
# and resolves each batch's references with a hash join over all of them: every chunk then
# costs more than the last (large scale: 1.8 s a chunk at first, 3.6 s by chunk 240, and
# rising). With statistics the references are index lookups. About log2(26M / 50k) = 9
# ANALYZE runs of a second or two each.
ANALYZE_FIRST_ROWS = 50_000

Progress = Callable[[str], None]


@dataclass
class EntityCount:
    total: int = 0
    stored: int = 0
    rejected: int = 0


@dataclass
class LoadReport:
    organization: str
    seed: int
    scale: str
    as_of: dt.datetime
    anomaly_day: dt.date
    agents_created: int = 0
    counts: dict[str, EntityCount] = field(default_factory=lambda: {e: EntityCount() for e in ENTITY_ORDER})
    errors: list[tuple[str, RowError]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_rejected(self) -> int:
        return sum(count.rejected for count in self.counts.values())

    @property
    def rows_total(self) -> int:
        return sum(count.total for count in self.counts.values())


def demo_agents_ensure(*, organization: Organization, count: int, password: str) -> tuple[list[Member], int]:
    """The organization's agents in a stable order (oldest first), topped up to `count`.

    Existing agents come first and keep their place on every run, so a re-run gives each
    agent the same skills. Returns the agents and how many were created.
    """
    agents = list(Member.objects.filter(organization=organization, role=Role.AGENT).order_by("pk"))
    created = []
    index = len(agents)
    while len(agents) < count:
        identity = agent_identity(index=index, org_slug=organization.slug)
        index += 1
        if Member.objects.filter(email=identity.email).exists():
            continue
        # One password hash for all demo agents: hashing per agent (a million PBKDF2
        # iterations each) would take minutes for the large scale's 1,000 agents.
        member = member_add(
            organization=organization,
            email=identity.email,
            role=Role.AGENT,
            password=None,
            name=identity.name,
            team=identity.team,
        )
        agents.append(member)
        created.append(member.pk)
    if created:
        Member.objects.filter(pk__in=created).update(password=make_password(password))
    return agents, len(created)


def demo_load(
    *,
    organization: Organization,
    seed: int,
    scale: str,
    as_of: dt.datetime,
    agent_password: str = DEFAULT_AGENT_PASSWORD,
    progress: Progress | None = None,
) -> LoadReport:
    """Generate and load the demo history of `organization`; see docs/demo-data.md."""
    started = time.monotonic()
    spec = profiles.SCALES[scale]
    with transaction.atomic():
        agents, agents_created = demo_agents_ensure(
            organization=organization, count=spec.agents, password=agent_password
        )
    generator = DemoGenerator(
        DemoConfig(
            seed=seed,
            scale=scale,
            as_of=as_of,
            agent_emails=tuple(agent.email for agent in agents),
            timezone=organization.timezone,
            currency=organization.currency,
        )
    )
    _mark_departed_agents(organization, generator)
    report = LoadReport(
        organization=organization.slug,
        seed=seed,
        scale=scale,
        as_of=as_of,
        anomaly_day=anomaly_day(as_of=as_of, timezone=organization.timezone),
        agents_created=agents_created,
    )
    # Sales refer to products, campaign messages and touchpoints to campaigns.
    _ingest(report, organization, "products", generator.product_records())
    _ingest(report, organization, "campaigns", generator.campaign_records())
    chunk_count = generator.chunk_count
    analyzed_at = 0
    # Generating is about a seventh of the time; PostgreSQL's upserts are the rest, so a
    # read-ahead thread was measured not to help on two cores (docs/demo-data.md).
    for number, chunk in enumerate(generator.chunks(), start=1):
        for entity in CHUNK_ENTITIES:
            _ingest(report, organization, entity, chunk[entity])
        if report.rows_total >= max(ANALYZE_FIRST_ROWS, 2 * analyzed_at):
            _analyze_loaded_tables()
            analyzed_at = report.rows_total
        if progress is not None:
            elapsed = time.monotonic() - started
            progress(
                f"chunk {number}/{chunk_count}: {report.rows_total:,} rows in {elapsed:.0f}s "
                f"({report.rows_total / max(elapsed, 1e-9):,.0f} rows/s), {report.rows_rejected} rejected"
            )
    for entity, records in generator.pricing_records().items():
        _ingest(report, organization, entity, records)
    if analyzed_at != report.rows_total:
        _analyze_loaded_tables()
    report.seconds = time.monotonic() - started
    return report


def _analyze_loaded_tables() -> None:
    analyze([*(entity_spec(entity).model for entity in ENTITY_ORDER), Member])


def _mark_departed_agents(organization: Organization, generator: DemoGenerator) -> None:
    """Agents the history says left stop counting in rankings. Only demo-created agents
    (their e-mail domain is the organization's demo domain) are ever switched off."""
    domain = f"@{organization.slug}.example.com"
    departed = [s.email for s in generator.skills if s.inactive and s.email.endswith(domain)]
    if departed:
        Member.objects.filter(organization=organization, email__in=departed).update(is_active_agent=False)


def _ingest(report: LoadReport, organization: Organization, entity: str, records: list[Record]) -> None:
    if not records:
        return
    result = ingest_records(organization=organization, entity=entity, records=records)
    count = report.counts[entity]
    count.total += result.rows_total
    count.stored += result.rows_stored
    count.rejected += result.rows_rejected
    for error in result.errors:
        if len(report.errors) >= ERROR_SAMPLE:
            break
        report.errors.append((entity, error))


def demo_experiment_quotes_load(
    *,
    organization: Organization,
    seed: int,
    scale: str,
    as_of: dt.datetime,
    product_external_id: str,
    start: dt.datetime,
    variants: list[tuple[str, str]],
    variant_of: Callable[[str], str],
) -> int:
    """Load the quotes of the demo's running price test (`PricingHistory.experiment_quote_records`)
    for a history generated with the same seed, scale and as_of; returns how many were stored.
    The agents are the organization's, in the order demo_load used."""
    agents = Member.objects.filter(organization=organization, role=Role.AGENT).order_by("pk")
    generator = DemoGenerator(
        DemoConfig(
            seed=seed,
            scale=scale,
            as_of=as_of,
            agent_emails=tuple(agent.email for agent in agents),
            timezone=organization.timezone,
            currency=organization.currency,
        )
    )
    records = generator.pricing.experiment_quote_records(
        product_external_id=product_external_id,
        start=start.timestamp(),
        variants=variants,
        variant_of=variant_of,
    )
    result = ingest_records(organization=organization, entity="quotes", records=records)
    if result.rows_rejected:
        raise RuntimeError(
            f"{result.rows_rejected} demo experiment quotes were rejected: {result.errors[:3]}"
        )
    return result.rows_stored
