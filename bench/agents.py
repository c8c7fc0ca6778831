"""Agent analytics benchmark (B2, BENCHMARKS.md; issue "Agent personal analytics").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_large \\
        .venv/bin/python bench/agents.py --org bench --repeat 5

Needs an organization with generated data (`generate_demo_data <org> --scale large`). In one
run, alternating A B A B ...:

  A  GET /agent/analytics/kpis?range=R through the whole Django stack (JWT, cold cache:
     the cache is cleared before each call), for one agent;
  W  the same request with a warm cache;
  B  hand-written SQL over the raw tables computing the same numbers: per-agent handled-lead
     aggregates and sales sums for the window and the previous window, for every agent
     (the ranking needs them all), plus the agent's leads this week.

and for the ranking job:

  J  agents.analytics.compute_ranking for all agents (fill state + 3 queries + one pass),
  RS the same per-agent aggregates by raw SQL (what a ranking over raw tables must read).

Prints medians, ratios and the query counts, and a Markdown block for docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from agents import analytics  # noqa: E402
from agents.services import agent_metrics_refresh  # noqa: E402
from crm.models import Lead, Member, Organization, Role  # noqa: E402
from crm.timeranges import local_midnight, parse_range, week_start  # noqa: E402

RAW_SQL = """
WITH handled AS (
    SELECT assigned_agent_id AS agent_id,
           COUNT(*) FILTER (WHERE w = 'cur') AS assigned,
           COUNT(*) FILTER (WHERE w = 'cur' AND contacted_at IS NOT NULL) AS contacted,
           COUNT(*) FILTER (WHERE w = 'cur' AND interested_at IS NOT NULL) AS interested,
           COUNT(*) FILTER (WHERE w = 'cur' AND converted_at IS NOT NULL) AS converted,
           AVG(EXTRACT(EPOCH FROM contacted_at - assigned_at) / 3600)
               FILTER (WHERE w = 'cur' AND contacted_at IS NOT NULL AND assigned_at IS NOT NULL) AS response,
           AVG(satisfaction_rating) FILTER (WHERE w = 'cur') AS satisfaction,
           COUNT(satisfaction_rating) FILTER (WHERE w = 'cur') AS ratings,
           COUNT(*) FILTER (WHERE w = 'prev') AS p_assigned,
           COUNT(*) FILTER (WHERE w = 'prev' AND converted_at IS NOT NULL) AS p_converted,
           AVG(EXTRACT(EPOCH FROM contacted_at - assigned_at) / 3600)
               FILTER (WHERE w = 'prev' AND contacted_at IS NOT NULL AND assigned_at IS NOT NULL) AS p_response,
           AVG(satisfaction_rating) FILTER (WHERE w = 'prev') AS p_satisfaction
    FROM (
        SELECT l.*, CASE WHEN COALESCE(assigned_at, created_at) >= %(start)s THEN 'cur' ELSE 'prev' END AS w
        FROM crm_lead l
        WHERE organization_id = %(org)s AND assigned_agent_id IS NOT NULL
          AND ((assigned_at >= %(pstart)s AND assigned_at < %(end)s)
               OR (assigned_at IS NULL AND created_at >= %(pstart)s AND created_at < %(end)s))
    ) x
    GROUP BY assigned_agent_id
), revenue AS (
    SELECT agent_id,
           SUM(amount) FILTER (WHERE closed_at >= %(start)s) AS revenue,
           SUM(amount) FILTER (WHERE closed_at < %(start)s) AS p_revenue
    FROM crm_sale
    WHERE organization_id = %(org)s AND agent_id IS NOT NULL AND closed_at >= %(pstart)s AND closed_at < %(end)s
    GROUP BY agent_id
)
SELECT m.id, h.*, r.revenue, r.p_revenue
FROM crm_member m
LEFT JOIN handled h ON h.agent_id = m.id
LEFT JOIN revenue r ON r.agent_id = m.id
WHERE m.organization_id = %(org)s AND m.role = 'agent'
"""
WEEK_SQL = """
SELECT COUNT(*) FROM crm_lead
WHERE organization_id = %(org)s AND assigned_agent_id = %(agent)s
  AND ((assigned_at >= %(monday)s AND assigned_at < %(end)s)
       OR (assigned_at IS NULL AND created_at >= %(monday)s AND created_at < %(end)s))
"""


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--org", default="bench")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ranges", default="30d,1y")
    parser.add_argument("--skip-refresh", action="store_true", help="daily rows are already built")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL (DATABASE_URL).")
    org = Organization.objects.get(slug=args.org)
    agents = Member.objects.filter(organization=org, role=Role.AGENT).count()
    leads = Lead.objects.filter(organization=org).count()
    now = timezone.now()
    refresh_ms = None
    if not args.skip_refresh:
        refresh_ms = timed(lambda: agent_metrics_refresh(organization=org, as_of=now))
    # the busiest agent: the worst case for the per-agent parts
    agent = (
        Member.objects.filter(organization=org, role=Role.AGENT)
        .annotate(n=django.db.models.Count("leads"))
        .order_by("-n")
        .first()
    )
    client = Client()
    token = str(AccessToken.for_user(agent))
    lines = []
    for label in args.ranges.split(","):
        window = parse_range(label, as_of=timezone.now())
        params = {
            "org": org.pk,
            "start": window.start,
            "pstart": window.previous().start,
            "end": window.end,
            "agent": agent.pk,
            "monday": local_midnight(week_start(window.end.astimezone(org.tz).date()), org.tz),
        }
        cold, warm, raw, job, rank_raw = [], [], [], [], []

        def request(label: str = label) -> None:
            response = client.get(
                f"/agent/analytics/kpis?range={label}", HTTP_AUTHORIZATION=f"Bearer {token}"
            )
            assert response.status_code == 200, response.content

        def raw_sql(params: dict = params) -> None:
            with connection.cursor() as cursor:
                cursor.execute(RAW_SQL, params)
                cursor.fetchall()
                cursor.execute(WEEK_SQL, params)
                cursor.fetchall()

        def ranking_job(window=window) -> None:
            analytics.compute_ranking(organization=org, window=window)

        def ranking_raw(params: dict = params) -> None:
            with connection.cursor() as cursor:
                cursor.execute(RAW_SQL, params)
                cursor.fetchall()

        request()  # warm the connection and imports
        with CaptureQueriesContext(connection) as ctx:
            cache.clear()
            request()
        queries = len(ctx.captured_queries)
        for _ in range(args.repeat):
            cache.clear()
            cold.append(timed(request))
            warm.append(timed(request))
            raw.append(timed(raw_sql))
            job.append(timed(ranking_job))
            rank_raw.append(timed(ranking_raw))
        med = statistics.median
        lines.append(
            f"| {label} | {med(cold):.1f} | {med(warm):.2f} | {med(raw):.1f} | {med(cold) / med(raw):.2f} "
            f"| {med(job):.1f} | {med(rank_raw):.1f} | {med(job) / med(rank_raw):.2f} | {queries} |"
        )
        print(lines[-1], flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    print()
    print(
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; nproc {os.cpu_count()}; "
        f"Python {platform.python_version()}; PostgreSQL {version} (shared_buffers {buffers})"
    )
    print(
        f"- data: organization `{org.slug}`: {leads:,} leads, {agents:,} agents; cache {settings.CACHES['default']['BACKEND']}"
    )
    if refresh_ms is not None:
        print(
            f"- daily rows built from scratch (agent_metrics_refresh, full history): {refresh_ms / 1000:.1f} s"
        )
    print(
        f"- busiest agent: {agent.email} ({agent.n:,} leads); medians of {args.repeat} alternating runs, ms"
    )
    print()
    print(
        "| range | A cold kpis | W warm kpis | B raw SQL | A/B | J ranking | RS raw SQL | J/RS | queries (cold) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
