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
     (the ranking needs them all), plus the agent's leads this week. Like the product, it
     sums only the sales in the organization's currency and counts the others.

and for the ranking job:

  J  agents.analytics.compute_ranking for all agents (fill state, the agents, the daily and
     monthly rows, the live leads and sales; one pass),
  RS the same per-agent aggregates by raw SQL (what a ranking over raw tables must read).

Before timing, at one fixed reference time, it checks the product against RAW_SQL: every
agent's totals (current and previous window), the whole ranking, and the agent's KPI answer.
Prints medians, ratios and the query counts, and a Markdown block for docs/performance.md.

The cache is cleared before every cold call: with REDIS_URL, give the benchmark a Redis
database of its own (e.g. redis://127.0.0.1:6379/7), since django-redis clears with FLUSHDB.
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
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

import bench.bootstrap  # noqa: E402, F401  (settings for benchmarks, then django.setup())
from agents import analytics, metrics, selectors  # noqa: E402
from agents.models import AgentDailyMetrics  # noqa: E402
from agents.ranking import AgentScoreInput, team_ranking  # noqa: E402
from bench.common import Bearer, timed  # noqa: E402
from core.metrics import counted_currencies  # noqa: E402
from core.stats.refresh import statistics_refresh  # noqa: E402
from core.timeranges import local_midnight, parse_range, week_start  # noqa: E402
from crm.models import Lead, Member, Organization, Role  # noqa: E402

RAW_SQL = """
WITH handled AS (
    SELECT assigned_agent_id AS agent_id,
           COUNT(*) FILTER (WHERE w = 'cur') AS assigned,
           COUNT(*) FILTER (WHERE w = 'cur' AND contacted_at IS NOT NULL) AS contacted,
           COUNT(*) FILTER (WHERE w = 'cur' AND interested_at IS NOT NULL) AS interested,
           COUNT(*) FILTER (WHERE w = 'cur' AND converted_at IS NOT NULL) AS converted,
           SUM(EXTRACT(EPOCH FROM contacted_at - assigned_at) * 1000000)
               FILTER (WHERE w = 'cur' AND contacted_at IS NOT NULL AND assigned_at IS NOT NULL) AS response_us,
           COUNT(*) FILTER (WHERE w = 'cur' AND contacted_at IS NOT NULL AND assigned_at IS NOT NULL) AS responses,
           SUM(satisfaction_rating) FILTER (WHERE w = 'cur') AS satisfaction,
           COUNT(satisfaction_rating) FILTER (WHERE w = 'cur') AS ratings,
           COUNT(*) FILTER (WHERE w = 'prev') AS p_assigned,
           COUNT(*) FILTER (WHERE w = 'prev' AND contacted_at IS NOT NULL) AS p_contacted,
           COUNT(*) FILTER (WHERE w = 'prev' AND interested_at IS NOT NULL) AS p_interested,
           COUNT(*) FILTER (WHERE w = 'prev' AND converted_at IS NOT NULL) AS p_converted,
           SUM(EXTRACT(EPOCH FROM contacted_at - assigned_at) * 1000000)
               FILTER (WHERE w = 'prev' AND contacted_at IS NOT NULL AND assigned_at IS NOT NULL) AS p_response_us,
           COUNT(*) FILTER (WHERE w = 'prev' AND contacted_at IS NOT NULL AND assigned_at IS NOT NULL) AS p_responses,
           SUM(satisfaction_rating) FILTER (WHERE w = 'prev') AS p_satisfaction,
           COUNT(satisfaction_rating) FILTER (WHERE w = 'prev') AS p_ratings
    FROM (
        SELECT l.*, CASE WHEN COALESCE(assigned_at, created_at) >= %(start)s THEN 'cur' ELSE 'prev' END AS w
        FROM crm_lead l
        WHERE organization_id = %(org)s AND assigned_agent_id IS NOT NULL
          AND ((assigned_at >= %(pstart)s AND assigned_at < %(end)s)
               OR (assigned_at IS NULL AND created_at >= %(pstart)s AND created_at < %(end)s))
    ) x
    GROUP BY assigned_agent_id
), revenue AS (
    -- the currency rule of the product (core.metrics.counted_currencies): amounts summed only
    -- in the organization's currency (or none); sales in another one only counted
    SELECT agent_id,
           SUM(amount) FILTER (WHERE closed_at >= %(start)s AND counted) AS revenue,
           COUNT(*) FILTER (WHERE closed_at >= %(start)s AND counted) AS sales,
           COUNT(*) FILTER (WHERE closed_at >= %(start)s AND NOT counted) AS excluded,
           SUM(amount) FILTER (WHERE closed_at < %(start)s AND counted) AS p_revenue,
           COUNT(*) FILTER (WHERE closed_at < %(start)s AND counted) AS p_sales,
           COUNT(*) FILTER (WHERE closed_at < %(start)s AND NOT counted) AS p_excluded
    FROM (
        SELECT agent_id, amount, closed_at, currency = ANY(%(currencies)s) AS counted
        FROM crm_sale
        WHERE organization_id = %(org)s AND agent_id IS NOT NULL
          AND closed_at >= %(pstart)s AND closed_at < %(end)s
    ) s
    GROUP BY agent_id
)
SELECT m.id, h.*, r.revenue, r.sales, r.excluded, r.p_revenue, r.p_sales, r.p_excluded
FROM crm_member m
LEFT JOIN handled h ON h.agent_id = m.id
LEFT JOIN revenue r ON r.agent_id = m.id
WHERE m.organization_id = %(org)s AND m.role = 'agent'
"""
ROLLUP_TABLES = ("agents_agentdailymetrics", "agents_agentmonthlymetrics")
WEEK_SQL = """
SELECT COUNT(*) FROM crm_lead
WHERE organization_id = %(org)s AND assigned_agent_id = %(agent)s
  AND ((assigned_at >= %(monday)s AND assigned_at < %(end)s)
       OR (assigned_at IS NULL AND created_at >= %(monday)s AND created_at < %(end)s))
"""


FIELDS = (
    "assigned",
    "contacted",
    "interested",
    "converted",
    "revenue",
    "sales_count",
    "excluded_sales",
    "response_microseconds",
    "response_count",
    "satisfaction_sum",
    "satisfaction_count",
)
RAW_COLUMNS = {  # AgentTotals field -> (current column, previous column) of RAW_SQL
    "assigned": ("assigned", "p_assigned"),
    "contacted": ("contacted", "p_contacted"),
    "interested": ("interested", "p_interested"),
    "converted": ("converted", "p_converted"),
    "revenue": ("revenue", "p_revenue"),
    "sales_count": ("sales", "p_sales"),
    "excluded_sales": ("excluded", "p_excluded"),
    "response_microseconds": ("response_us", "p_response_us"),
    "response_count": ("responses", "p_responses"),
    "satisfaction_sum": ("satisfaction", "p_satisfaction"),
    "satisfaction_count": ("ratings", "p_ratings"),
}


def raw_totals(params: dict) -> tuple[dict[int, metrics.AgentTotals], dict[int, metrics.AgentTotals]]:
    """RAW_SQL's rows as AgentTotals per agent: (current window, previous window)."""
    with connection.cursor() as cursor:
        cursor.execute(RAW_SQL, params)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    out: tuple[dict, dict] = ({}, {})
    for row in rows:
        for index in (0, 1):
            mapped = {field: row[columns[index]] for field, columns in RAW_COLUMNS.items()}
            if mapped["response_microseconds"] is not None:
                mapped["response_microseconds"] = int(mapped["response_microseconds"])
            out[index][row["id"]] = metrics.AgentTotals.from_mapping(mapped)
    return out


def check_same_numbers(*, org: Organization, agent: Member, label: str, as_of: dt.datetime) -> list[str]:
    """The product against RAW_SQL at one fixed reference time: every agent's totals of the
    window and the previous one (what the ranking reads), the whole team ranking, and the
    KPI answer of `agent` (cache cleared, so computed)."""
    window = parse_range(label, as_of=as_of)
    monday = local_midnight(week_start(as_of.astimezone(org.tz).date()), org.tz)
    params = {
        "org": org.pk,
        "currencies": list(counted_currencies(org.currency)),
        "start": window.start,
        "pstart": window.previous().start,
        "end": window.end,
        "agent": agent.pk,
        "monday": monday,
    }
    raw_now, raw_before = raw_totals(params)
    with connection.cursor() as cursor:
        cursor.execute(WEEK_SQL, {**params, "end": as_of})
        week = cursor.fetchone()[0]
    state = selectors.fill_state(org)
    problems = []
    for name, w, raw in (("current", window, raw_now), ("previous", window.previous(), raw_before)):
        product = selectors.agent_window_totals(organization=org, window=w, state=state)
        zero = metrics.AgentTotals()
        for agent_id in sorted(set(product) | set(raw)):
            a, b = product.get(agent_id, zero), raw.get(agent_id, zero)
            for field in FIELDS:
                if getattr(a, field) != getattr(b, field):
                    problems.append(
                        f"{name} agent {agent_id} {field}: product {getattr(a, field)} != raw {getattr(b, field)}"
                    )
    ranked = selectors.ranked_agents(org)

    def ranking_from(totals: dict) -> list[tuple[int, int]]:
        inputs = []
        for member in ranked:
            kpis = metrics.agent_kpis(totals.get(member.pk, metrics.AgentTotals()))
            inputs.append(
                AgentScoreInput(
                    agent_id=member.pk,
                    email=member.email,
                    conversion_rate=kpis.conversion_rate,
                    satisfaction=kpis.satisfaction_score,
                    response_hours=kpis.response_time_hours,
                )
            )
        return [(r.agent_id, r.rank) for r in team_ranking(inputs)]

    job = [(r.agent_id, r.rank) for r in analytics.compute_ranking(organization=org, window=window).ranked]
    expected_ranking = ranking_from(raw_now)
    if job != expected_ranking:
        moved = sum(1 for x, y in zip(job, expected_ranking, strict=False) if x != y)
        problems.append(f"ranking: {moved} of {len(job)} positions differ from the raw-SQL ranking")
    cache.clear()
    answer = analytics.kpis(organization=org, agent=agent, range_value=label, as_of=as_of)
    now_kpis = metrics.agent_kpis(raw_now.get(agent.pk, metrics.AgentTotals()))
    before_kpis = metrics.agent_kpis(raw_before.get(agent.pk, metrics.AgentTotals()))
    position = dict(expected_ranking).get(agent.pk)
    expected = {
        **now_kpis.payload(),
        "leadsThisWeek": week,
        "teamRanking": position,
        "totalAgents": len(expected_ranking),
    }
    for key, value in expected.items():
        if answer["kpis"].get(key) != value:
            problems.append(f"kpis.{key}: api {answer['kpis'].get(key)} != raw {value}")
    trends = metrics.kpi_trends(
        now_kpis, before_kpis, rank_now=position, rank_before=dict(ranking_from(raw_before)).get(agent.pk)
    )
    for key, value in trends.items():
        if answer["trends"].get(key) != value:
            problems.append(f"trends.{key}: api {answer['trends'].get(key)} != raw {value}")
    return problems


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
        rebuilt = {}
        refresh_ms = timed(
            lambda: rebuilt.update(days=statistics_refresh(organization=org, family="agents", as_of=now))
        )
    # The server may run with autovacuum off (this machine's CI config does): do what
    # autovacuum would do in production (dead rows of the rebuilt days, planner statistics).
    # (the month table exists from agents migration 0006 on: the bench also runs on older code)
    rollups = [t for t in ROLLUP_TABLES if t in connection.introspection.table_names()]
    with connection.cursor() as cursor:
        for table in rollups:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    # the busiest agent: the worst case for the per-agent parts
    agent = (
        Member.objects.filter(organization=org, role=Role.AGENT)
        .annotate(n=Count("leads"))
        .order_by("-n")
        .first()
    )
    client = Client()
    bearer = Bearer(agent)
    lines = []
    for label in args.ranges.split(","):
        window = parse_range(label, as_of=timezone.now())
        params = {
            "org": org.pk,
            "currencies": list(counted_currencies(org.currency)),
            "start": window.start,
            "pstart": window.previous().start,
            "end": window.end,
            "agent": agent.pk,
            "monday": local_midnight(week_start(window.end.astimezone(org.tz).date()), org.tz),
        }
        cold, warm, raw, job, rank_raw = [], [], [], [], []

        def request(label: str = label) -> None:
            response = client.get(f"/agent/analytics/kpis?range={label}", **bearer.header())
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
        with CaptureQueriesContext(connection) as ctx:
            ranking_job()
        job_queries = len(ctx.captured_queries)
        problems = check_same_numbers(org=org, agent=agent, label=label, as_of=timezone.now())
        if problems:
            print(f"{label}: the product and the raw SQL disagree ({len(problems)}):", flush=True)
            for problem in problems[:40]:
                print(f"  {problem}", flush=True)
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
            f"| {med(job):.1f} | {med(rank_raw):.1f} | {med(job) / med(rank_raw):.2f} | {queries} | {job_queries} "
            f"| {'yes' if not problems else 'NO'} |"
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
        f"- data: organization `{org.slug}`: {leads:,} leads, {agents:,} agents; cache {settings.CACHES['default']['BACKEND']} {settings.CACHES['default'].get('LOCATION', '')}; DEBUG {settings.DEBUG}"
    )
    if refresh_ms is not None:
        print(
            f"- the agents family refresh rebuilt the daily rows of "
            f"{' to '.join(d.isoformat() for d in rebuilt.get('days') or ())}: {refresh_ms / 1000:.1f} s "
            f"({AgentDailyMetrics.objects.filter(organization=org).count():,} daily rows in all; "
            f"tables {', '.join(rollups)})"
        )
    print(
        f"- busiest agent: {agent.email} ({agent.n:,} leads); medians of {args.repeat} alternating runs, ms"
    )
    print()
    print(
        "| range | A cold kpis | W warm kpis | B raw SQL | A/B | J ranking | RS raw SQL | J/RS | queries (cold) "
        "| queries (J) | same numbers |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
