"""Performance series: the nightly cost before and after the series became a family of the
statistics engine (issue 11; docs/metrics.md, "Performance metrics").

    createdb -h 127.0.0.1 -U postgres crm_perf_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_perf_bench .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_perf_bench \\
        .venv/bin/python bench/performance.py --org perfbench --contacts 20000 --repeat 3

Creates the organization and loads a generated 13-month history the first time (the demo
generator at a custom size: --contacts contacts, about 0.95 leads each; --agents agents),
fills the dashboard and agent rollups as the nightly statistics run leaves them, then, in
one run alternating A B C A B C ...:

  A  before: what the nightly business-intelligence run did every night, the rebuild of the
     last 400 days x 3 periods (day, ISO week, month) for the organization and every agent;
  B  after: the engine's nightly refresh of the `performance` family with its fill state
     filled through the day before yesterday (the seven trailing days and their periods);
  C  the rebuild of yesterday alone (what an import into one recent day costs).

Before timing it proves that B leaves exactly the rows of A (every column but the primary
key), so the short run is the same series. Prints medians and ratios, and a Markdown block
for docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

import bench.bootstrap  # noqa: E402, F401  (settings for benchmarks, then django.setup())
from bench.common import timed  # noqa: E402
from core.models import FillState  # noqa: E402
from core.stats.refresh import statistics_rebuild, statistics_refresh  # noqa: E402
from crm.demo import profiles  # noqa: E402
from crm.demo.loader import demo_load  # noqa: E402
from crm.models import Lead, Member, Organization, Role  # noqa: E402
from insights.bi.models import PerformanceMetric  # noqa: E402
from insights.statistics import PERFORMANCE_FAMILY, PERFORMANCE_FIRST_FILL_DAYS  # noqa: E402

FAMILY = PERFORMANCE_FAMILY.name
SCALE = "bench-performance"


def organization_ensure(slug: str, *, contacts: int, agents: int, as_of: dt.datetime) -> Organization:
    org = Organization.objects.filter(slug=slug).first()
    if org is not None:
        return org
    org = Organization.objects.create(slug=slug, name=f"Bench {slug}", timezone="America/New_York")
    profiles.SCALES[SCALE] = profiles.ScaleSpec(
        contacts=contacts, agents=agents, campaigns=20, inactive_agents=1, chunk_contacts=1000
    )
    report = demo_load(organization=org, seed=11, scale=SCALE, as_of=as_of)
    print(f"generated: {report.counts}", flush=True)
    return org


def rows(org: Organization) -> list[tuple]:
    return sorted(
        PerformanceMetric.objects.filter(organization=org).values_list(
            "agent_id", "metric", "period", "period_start", "value", "numerator", "denominator", "computed_at"
        ),
        key=lambda r: (r[0] or 0, r[1], r[2], r[3]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--org", default="perfbench")
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL (DATABASE_URL).")
    now = timezone.now()
    org = organization_ensure(args.org, contacts=args.contacts, agents=args.agents, as_of=now)
    yesterday = now.astimezone(org.tz).date() - dt.timedelta(days=1)
    # the dashboard and agent rollups as the nightly statistics run leaves them
    for name in ("insights", "agents"):
        statistics_refresh(organization=org, family=name, as_of=now)

    def before() -> None:
        statistics_rebuild(
            organization=org,
            family=FAMILY,
            first_day=yesterday - dt.timedelta(days=PERFORMANCE_FIRST_FILL_DAYS - 1),
            last_day=yesterday,
        )

    def after() -> None:
        # last night's run filled the series through the day before yesterday
        FillState.objects.update_or_create(
            organization=org,
            family=FAMILY,
            defaults={"filled_through": yesterday - dt.timedelta(days=1), "dirty_from": None},
        )
        statistics_refresh(organization=org, family=FAMILY, as_of=now)

    def one_day() -> None:
        statistics_rebuild(organization=org, family=FAMILY, first_day=yesterday, last_day=yesterday)

    # equality: the short nightly run leaves the rows of the 400-day rebuild
    FillState.objects.filter(organization=org, family=FAMILY).delete()
    PerformanceMetric.objects.filter(organization=org).delete()
    before()
    full = rows(org)
    after()
    same = rows(org) == full
    print(f"rows after the 400-day rebuild: {len(full):,}; after the nightly refresh: identical = {same}")
    if not same:
        sys.exit("the incremental refresh does not give the full rebuild's rows")

    times: dict[str, list[float]] = {"before": [], "after": [], "one_day": []}
    for run in range(args.repeat):
        times["before"].append(timed(before))
        times["after"].append(timed(after))
        times["one_day"].append(timed(one_day))
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.0f} ms" for k, v in times.items()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    leads = Lead.objects.filter(organization=org).count()
    agents = Member.objects.filter(organization=org, role=Role.AGENT).count()
    print()
    print("| nightly performance series | median ms | ratio to before |")
    print("|---|---|---|")
    print(f"| before: rebuild of 400 days x 3 periods | {med['before']:.0f} | 1 |")
    print(
        f"| after: engine refresh (7 trailing days and their periods) | {med['after']:.0f} "
        f"| 1/{med['before'] / med['after']:.0f} |"
    )
    print(f"| one day rebuilt (yesterday) | {med['one_day']:.0f} | 1/{med['before'] / med['one_day']:.0f} |")
    print()
    print(
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; nproc {os.cpu_count()}; "
        f"Python {platform.python_version()}; PostgreSQL {version} (shared_buffers {buffers})"
    )
    print(
        f"- data: organization `{org.slug}` ({org.timezone}): {leads:,} leads, {agents} agents; "
        f"{len(full):,} series rows; {args.repeat} runs alternating before / after / one day"
    )


if __name__ == "__main__":
    main()
