"""Ingestion benchmarks B6 (REST bulk) and B7 (CSV import), BENCHMARKS.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench .venv/bin/python bench/ingest.py --rows 1000000

Migrates the database if needed, creates the organization `bench-ingest` with 100 agents
and 50,000 leads, writes a deterministic activities CSV of N rows (and of N/4), then, for
each size and alternating A B C A B C ... (--repeat):

  A  our import: the import_crm command (ingest_csv) in a child process, whose peak RSS is
     read with wait4(), so the N/4 and N figures show whether memory stays flat;
  B  the brief's reference: a plain COPY of the same file into a bare table (the same
     column types, no index, no constraint);
  C  PostgreSQL's own floor for this schema: a COPY of the same rows, references already
     resolved to ids, into crm_activity itself (all its indexes and foreign keys, commit
     included), i.e. "COPY into the same indexed table".

The organization's activities are deleted and the table vacuumed before each A and C, so
every run starts from the same table. With --rest, B6 posts the rows as JSON batches of
1,000 and 10,000 records to POST /api/v1/ingest/activities/ (in-process test client, API
key) and compares with C and with a naive ORM save() per row on a sample.

Prints rows/s, the ratios and peak RSS, and a Markdown block for docs/performance.md. Not
part of the test suite. Needs PostgreSQL; the bench organization's rows are its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

ORG_SLUG = "bench-ingest"
AGENTS = 100
LEADS = 50_000
SEED = 20260105
HEADER = (
    "external_id,lead_external_id,agent,type,direction,channel,occurred_at,duration_seconds,outcome,"
    "automated,title,description,metadata"
)
TYPES = ("call", "call", "call", "email", "email", "message", "meeting", "note", "status_change")
OUTCOMES = ("success", "failed", "no_answer", "voicemail", "")
CHANNELS = ("phone", "email", "whatsapp", "sms", "web")
BARE_TABLE = "bench_ingest_bare"
# The bare table of reference B: the activity columns with the types they are stored in,
# no index, no constraint.
BARE_COLUMNS = (
    "external_id varchar(100), lead_external_id varchar(100), agent varchar(254), type varchar(16), "
    "direction varchar(8), channel varchar(50), occurred_at timestamptz, duration_seconds integer, "
    "outcome varchar(32), automated boolean, title varchar(200), description text, metadata jsonb"
)
ACTIVITY_COLUMNS = (
    "organization_id, external_id, lead_id, agent_id, type, direction, channel, occurred_at, duration_seconds, "
    "outcome, automated, title, description, metadata"
)


def agent_email(number: int) -> str:
    return f"agent{number:03d}@bench-ingest.test"


def write_activities_csv(path: Path, rows: int, *, seed: int = SEED) -> None:
    """N activity rows, the same for the same (rows, seed): a year of varied, valid data."""
    rng = random.Random(seed)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp()
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "\n")
        for number in range(rows):
            kind = rng.choice(TYPES)
            when = dt.datetime.fromtimestamp(start + rng.randrange(365 * 86400), dt.UTC)
            stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ") if number % 3 else when.strftime("%Y-%m-%d %H:%M:%S")
            duration = str(rng.randrange(20, 1800)) if kind == "call" else ""
            outcome = rng.choice(OUTCOMES) if kind == "call" else ""
            automated = "true" if rng.random() < 0.15 else "false"
            description = (
                '"Discussed pricing, next steps; said ""call me Friday"""' if number % 7 == 0 else "Follow-up"
            )
            metadata = '"{""campaign"": ""spring"", ""score"": 3}"' if number % 11 == 0 else ""
            out.write(
                f"act-{number:08d},lead-{rng.randrange(LEADS):05d},{agent_email(rng.randrange(AGENTS))},{kind},"
                f"{rng.choice(('inbound', 'outbound'))},{rng.choice(CHANNELS)},{stamp},{duration},{outcome},"
                f"{automated},{kind.title()} {number % 97},{description},{metadata}\n"
            )


def records_from_csv(path: Path, limit: int) -> list[dict[str, str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        return [row for _, row in zip(range(limit), reader, strict=False)]


# --- the child process of run A ----------------------------------------------------------


def child_import(path: str) -> None:
    """Run the import_crm command on `path` and print its timing as JSON (run A)."""
    import io

    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    out = io.StringIO()
    call_command(
        "import_crm", ORG_SLUG, "activities", path, "--no-progress", stdout=out, stderr=io.StringIO()
    )
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "summary": out.getvalue().splitlines()[0]}))


# --- set-up and references -------------------------------------------------------------------


def setup_organization():
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from crm.ingestion import ingest_csv
    from crm.models import Lead, Member, Organization, Role

    if connection.vendor != "postgresql":
        raise SystemExit("bench/ingest.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", interactive=False, verbosity=0)
    organization, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench ingest"})
    existing = set(Member.objects.filter(organization=organization).values_list("email", flat=True))
    Member.objects.bulk_create(
        Member(email=agent_email(n), organization=organization, role=Role.AGENT)
        for n in range(AGENTS)
        if agent_email(n) not in existing
    )
    if Lead.objects.for_org(organization).count() < LEADS:
        import io

        text = "external_id,name,created_at\n" + "".join(
            f"lead-{n:05d},Lead {n},2024-12-01T00:00:00Z\n" for n in range(LEADS)
        )
        ingest_csv(organization=organization, entity="leads", stream=io.BytesIO(text.encode()))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_lead; ANALYZE crm_member")
    return organization


def reset_activities(organization_id: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM crm_activity WHERE organization_id = %s", [organization_id])
        cursor.execute("VACUUM ANALYZE crm_activity")


def copy_file(path: Path, sql: str) -> float:
    """Stream a file into COPY ... FROM STDIN; seconds including the commit."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(sql) as copy,
        path.open("rb") as f,
    ):
        while chunk := f.read(1 << 20):
            copy.write(chunk)
    return time.perf_counter() - started


def run_bare_copy(path: Path) -> float:
    """Reference B: the file into a bare table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
        cursor.execute(f"CREATE TABLE {BARE_TABLE} ({BARE_COLUMNS})")
    seconds = copy_file(path, f"COPY {BARE_TABLE} FROM STDIN (FORMAT csv, HEADER true)")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {BARE_TABLE}")
    return seconds


def resolved_rows_file(path: Path, organization_id: int, target: Path) -> None:
    """The file's rows with their references as ids, as COPY text, for reference C (untimed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}")
        cursor.execute(f"CREATE TABLE {BARE_TABLE} ({BARE_COLUMNS})")
    copy_file(path, f"COPY {BARE_TABLE} FROM STDIN (FORMAT csv, HEADER true)")
    select = (
        f"SELECT {organization_id}, b.external_id, l.id, m.id, b.type, coalesce(b.direction, ''), "
        "coalesce(b.channel, ''), b.occurred_at, b.duration_seconds, coalesce(b.outcome, ''), b.automated, "
        "coalesce(b.title, ''), coalesce(b.description, ''), coalesce(b.metadata, '{}'::jsonb) "
        f"FROM {BARE_TABLE} b "
        f"LEFT JOIN crm_lead l ON l.organization_id = {organization_id} AND l.external_id = b.lead_external_id "
        f"LEFT JOIN crm_member m ON m.organization_id = {organization_id} AND m.email = b.agent"
    )
    with connection.cursor() as cursor, target.open("wb") as out:
        with cursor.cursor.copy(f"COPY ({select}) TO STDOUT") as copy:
            for data in copy:
                out.write(data)
        cursor.execute(f"DROP TABLE {BARE_TABLE}")


def run_indexed_copy(resolved: Path, organization_id: int) -> float:
    """Reference C: the resolved rows into crm_activity, indexes and foreign keys included."""
    reset_activities(organization_id)
    seconds = copy_file(resolved, f"COPY crm_activity ({ACTIVITY_COLUMNS}) FROM STDIN")
    reset_activities(organization_id)
    return seconds


def run_import(path: Path, organization_id: int) -> tuple[float, float]:
    """Run A in a child process: (seconds, peak RSS in MiB)."""
    reset_activities(organization_id)
    child = subprocess.Popen(
        [sys.executable, __file__, "--child-import", str(path)], stdout=subprocess.PIPE, env=os.environ.copy()
    )
    output = child.stdout.read() if child.stdout else b""
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit(f"the import child failed with status {status}")
    report = json.loads(output.decode().strip().splitlines()[-1])
    if "0 rejected" not in report["summary"]:
        raise SystemExit(f"the import rejected rows: {report['summary']}")
    reset_activities(organization_id)
    # ru_maxrss is in KiB on Linux.
    return report["seconds"], usage.ru_maxrss / 1024


# --- B6: the REST door ----------------------------------------------------------------------


def run_rest(path: Path, organization, *, total: int, batch: int) -> float:
    """Seconds to post `total` rows as JSON batches of `batch` records (in-process client)."""
    from rest_framework.test import APIClient

    from crm.services import api_key_create

    records = records_from_csv(path, total)
    _, raw = api_key_create(organization=organization, name="bench", actor=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    reset_activities(organization.pk)
    started = time.perf_counter()
    for start in range(0, total, batch):
        body = json.dumps(records[start : start + batch])
        response = client.post("/api/v1/ingest/activities/", body, content_type="application/json")
        if response.status_code != 200:
            raise SystemExit(f"REST batch failed: {response.status_code} {response.content[:300]!r}")
    seconds = time.perf_counter() - started
    reset_activities(organization.pk)
    return seconds


def run_naive(path: Path, organization, *, total: int) -> float:
    """The naive door: a serializer-free ORM save() per row, references looked up per row."""
    from crm.models import Activity, Lead, Member

    records = records_from_csv(path, total)
    reset_activities(organization.pk)
    started = time.perf_counter()
    for record in records:
        Activity(
            organization=organization,
            external_id=record["external_id"],
            lead=Lead.objects.for_org(organization).filter(external_id=record["lead_external_id"]).first(),
            agent=Member.objects.filter(organization=organization, email=record["agent"]).first(),
            type=record["type"],
            direction=record["direction"],
            channel=record["channel"],
            occurred_at=dt.datetime.fromisoformat(record["occurred_at"]).replace(tzinfo=dt.UTC),
            duration_seconds=int(record["duration_seconds"]) if record["duration_seconds"] else None,
            outcome=record["outcome"],
            automated=record["automated"] == "true",
            title=record["title"],
            description=record["description"],
            metadata=json.loads(record["metadata"]) if record["metadata"] else {},
        ).save()
    seconds = time.perf_counter() - started
    reset_activities(organization.pk)
    return seconds


# --- reporting -----------------------------------------------------------------------------


@dataclass
class Series:
    seconds: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)

    def rate(self, rows: int) -> float:
        return rows / statistics.median(self.seconds)


def machine() -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        settings = {}
        for name in ("shared_buffers", "synchronous_commit", "max_wal_size", "work_mem"):
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "memory": f"{memory_kib / 1024 / 1024:.0f} GiB",
        "postgresql": f"{version} ({', '.join(f'{k}={v}' for k, v in settings.items())})",
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="alternate A B C this many times per size")
    parser.add_argument("--rest", action="store_true", help="also measure B6, the REST bulk door")
    parser.add_argument("--rest-rows", type=int, default=50_000)
    parser.add_argument("--child-import", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        child_import(args.child_import)
        return

    organization = setup_organization()
    info = machine()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    sizes = sorted({max(args.rows // 4, 1), args.rows})
    results: dict[int, dict[str, Series]] = {}
    for rows in sizes:
        path = work / f"activities-{rows}.csv"
        write_activities_csv(path, rows)
        resolved = work / f"activities-{rows}.tsv"
        resolved_rows_file(path, organization.pk, resolved)
        series = {"A": Series(), "B": Series(), "C": Series()}
        for _ in range(args.repeat):
            seconds, rss = run_import(path, organization.pk)
            series["A"].seconds.append(seconds)
            series["A"].rss_mib.append(rss)
            series["B"].seconds.append(run_bare_copy(path))
            series["C"].seconds.append(run_indexed_copy(resolved, organization.pk))
            print(
                f"{rows:>9,} rows  A {seconds:7.2f}s  B {series['B'].seconds[-1]:6.2f}s  "
                f"C {series['C'].seconds[-1]:7.2f}s  A peak RSS {rss:6.1f} MiB",
                flush=True,
            )
        results[rows] = series
        print(f"{rows:>9,} rows: file {path.stat().st_size / 1e6:.0f} MB", flush=True)

    rest: dict[str, float] = {}
    if args.rest:
        path = work / f"activities-{args.rows}.csv"
        resolved = work / f"activities-{args.rows}.tsv"
        rest_rows = min(args.rest_rows, args.rows)
        for batch in (1_000, 10_000):
            rest[f"rest {batch}"] = rest_rows / run_rest(path, organization, total=rest_rows, batch=batch)
        sample = work / "rest-sample.tsv"
        with resolved.open("rb") as source, sample.open("wb") as target:
            for _, line in zip(range(rest_rows), source, strict=False):
                target.write(line)
        rest["copy"] = rest_rows / run_indexed_copy(sample, organization.pk)
        naive_rows = min(2_000, rest_rows)
        rest["naive"] = naive_rows / run_naive(path, organization, total=naive_rows)

    report(args, info, results, rest)


def report(
    args: argparse.Namespace,
    info: dict[str, str],
    results: dict[int, dict[str, Series]],
    rest: dict[str, float],
) -> None:
    lines = [
        f"- date: {info['date']}; nproc {info['nproc']}; memory {info['memory']}; Python {info['python']}",
        f"- PostgreSQL {info['postgresql']}",
        f"- command: `DATABASE_URL=postgres://... .venv/bin/python bench/ingest.py --rows {args.rows} "
        f"--repeat {args.repeat}{' --rest' if args.rest else ''}` (medians of {args.repeat})",
        "",
        "| rows | A: import_crm rows/s | B: COPY into a bare table rows/s | C: COPY into crm_activity rows/s "
        "| A/B | A/C | A peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, series in results.items():
        a, b, c = (series[key].rate(rows) for key in "ABC")
        lines.append(
            f"| {rows:,} | {a:,.0f} | {b:,.0f} | {c:,.0f} | {a / b:.2f} | {a / c:.2f} "
            f"| {max(series['A'].rss_mib):.0f} MiB |"
        )
    if rest:
        lines += [
            "",
            "| B6: REST, 1k-record batches | REST, 10k-record batches | COPY into crm_activity | naive save() per row "
            "| 1k/COPY | 10k/COPY | 10k/naive |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {rest['rest 1000']:,.0f} rows/s | {rest['rest 10000']:,.0f} rows/s | {rest['copy']:,.0f} rows/s "
            f"| {rest['naive']:,.0f} rows/s | {rest['rest 1000'] / rest['copy']:.2f} "
            f"| {rest['rest 10000'] / rest['copy']:.2f} | {rest['rest 10000'] / rest['naive']:.1f} |",
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
