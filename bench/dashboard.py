"""Manager dashboard benchmark (B1, B4, B5, B14 of BENCHMARKS.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_m \\
        .venv/bin/python bench/dashboard.py --orgs bench,small --repeat 5

Needs organizations with generated data (`generate_demo_data <org> --scale large|medium`).
For each organization it first rebuilds the insights rollups over the whole history (B4,
timed against CREATE TABLE AS ... GROUP BY over the same raw rows, and one day's incremental
rebuild, B5), copies the organization's raw rows into an in-memory DuckDB (the "limit"
reference, bench/references.py), then, for each range, in one run alternating A W B D T ...:

  A  POST /api/analytics/overview {timeRange: R, all four metrics} through the whole Django
     stack (JWT), cold cache (cleared before each call);
  W  the same request with a warm cache;
  B  hand-written SQL over the raw tables (psycopg, same connection) computing the same
     numbers for the window and the previous one: call, lead and sale totals, pipeline value
     at both ends, campaign message counts per campaign, last-touch attributed revenue (a
     join, bench/references.py) and leads per campaign;
  D  the same SQL run by DuckDB over the same rows (checked equal to B first);
  T  GET /api/analytics/tabs/<tab> for every tab, cold (their sum), for the record.

It checks that A and B agree field by field, then prints medians, ratios and query counts,
and, given two organizations (large first), B14: p50 at the large one over p50 at the small
one for every range.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import sys
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

import bench.bootstrap  # noqa: E402, F401  (settings for benchmarks, then django.setup())
from bench.common import Bearer, timed  # noqa: E402
from bench.references import ATTRIBUTION_JOIN_SQL, DuckReference  # noqa: E402
from core.models import FillState  # noqa: E402
from core.stats.refresh import statistics_refresh  # noqa: E402
from core.timeranges import parse_range  # noqa: E402
from crm.models import Activity, Campaign, Lead, Member, Organization, Role  # noqa: E402
from crm.services import member_add  # noqa: E402
from insights import analytics, metrics, services  # noqa: E402
from insights.selectors import SPECS  # noqa: E402
from insights.tabs import DATA_TABS  # noqa: E402

CALLS_SQL = """
SELECT COUNT(*) FILTER (WHERE occurred_at >= %(cs)s),
       COUNT(*) FILTER (WHERE occurred_at >= %(cs)s AND outcome = 'success'),
       COALESCE(SUM(duration_seconds) FILTER (WHERE occurred_at >= %(cs)s), 0),
       COUNT(duration_seconds) FILTER (WHERE occurred_at >= %(cs)s),
       COUNT(*) FILTER (WHERE occurred_at < %(cs)s),
       COUNT(*) FILTER (WHERE occurred_at < %(cs)s AND outcome = 'success'),
       COALESCE(SUM(duration_seconds) FILTER (WHERE occurred_at < %(cs)s), 0),
       COUNT(duration_seconds) FILTER (WHERE occurred_at < %(cs)s)
FROM crm_activity
WHERE organization_id = %(org)s AND type = 'call' AND occurred_at >= %(ps)s AND occurred_at < %(ce)s
"""
LEADS_SQL = """
SELECT COUNT(*) FILTER (WHERE created_at >= %(cs)s),
       COUNT(interested_at) FILTER (WHERE created_at >= %(cs)s),
       COUNT(converted_at) FILTER (WHERE created_at >= %(cs)s),
       SUM(score) FILTER (WHERE created_at >= %(cs)s), COUNT(score) FILTER (WHERE created_at >= %(cs)s),
       COUNT(*) FILTER (WHERE created_at < %(cs)s),
       COUNT(interested_at) FILTER (WHERE created_at < %(cs)s),
       COUNT(converted_at) FILTER (WHERE created_at < %(cs)s),
       SUM(score) FILTER (WHERE created_at < %(cs)s), COUNT(score) FILTER (WHERE created_at < %(cs)s)
FROM crm_lead
WHERE organization_id = %(org)s AND created_at >= %(ps)s AND created_at < %(ce)s
"""
PIPELINE_SQL = """
SELECT SUM(estimated_value) FILTER (WHERE (converted_at IS NULL OR converted_at >= %(ce)s)
                                      AND (lost_at IS NULL OR lost_at >= %(ce)s)),
       SUM(estimated_value) FILTER (WHERE created_at < %(cs)s
                                      AND (converted_at IS NULL OR converted_at >= %(cs)s)
                                      AND (lost_at IS NULL OR lost_at >= %(cs)s))
FROM crm_lead
WHERE organization_id = %(org)s AND created_at < %(ce)s
"""
SALES_SQL = """
SELECT COALESCE(SUM(amount) FILTER (WHERE closed_at >= %(cs)s), 0), COUNT(*) FILTER (WHERE closed_at >= %(cs)s),
       COALESCE(SUM(amount) FILTER (WHERE closed_at < %(cs)s), 0), COUNT(*) FILTER (WHERE closed_at < %(cs)s),
       COALESCE(SUM(amount) FILTER (WHERE kind = 'recurring' AND closed_at >= %(mrr_c)s), 0),
       COALESCE(SUM(amount) FILTER (WHERE kind = 'recurring' AND closed_at >= %(mrr_p)s AND closed_at < %(cs)s), 0)
FROM crm_sale
WHERE organization_id = %(org)s AND currency IN (%(currency)s, '') AND closed_at >= %(ps)s AND closed_at < %(ce)s
"""
MESSAGES_SQL = """
SELECT campaign_id,
       COUNT(*) FILTER (WHERE sent_at >= %(cs)s), COUNT(delivered_at) FILTER (WHERE sent_at >= %(cs)s),
       COUNT(read_at) FILTER (WHERE sent_at >= %(cs)s), COUNT(replied_at) FILTER (WHERE sent_at >= %(cs)s),
       COUNT(*) FILTER (WHERE sent_at < %(cs)s), COUNT(delivered_at) FILTER (WHERE sent_at < %(cs)s),
       COUNT(read_at) FILTER (WHERE sent_at < %(cs)s), COUNT(replied_at) FILTER (WHERE sent_at < %(cs)s)
FROM crm_campaignmessage
WHERE organization_id = %(org)s AND sent_at >= %(ps)s AND sent_at < %(ce)s
GROUP BY campaign_id
"""
CAMPAIGN_LEADS_SQL = """
SELECT campaign_id, COUNT(DISTINCT lead_id) FROM crm_touchpoint
WHERE organization_id = %(org)s AND lead_id IS NOT NULL AND campaign_id IS NOT NULL
GROUP BY campaign_id
"""
RAW_QUERIES = (
    CALLS_SQL,
    LEADS_SQL,
    PIPELINE_SQL,
    SALES_SQL,
    MESSAGES_SQL,
    ATTRIBUTION_JOIN_SQL,
    CAMPAIGN_LEADS_SQL,
)

# B4's reference: the seven rollups, their hour levels and the campaigns' lead sets as plain
# GROUP BYs over all the organization's rows.
CTAS = (
    """CREATE TEMP TABLE ref_leads AS
       SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, COALESCE(region, '') r, COALESCE(product_line, '') p,
              COALESCE(source, '') s, assigned_agent_id a, COUNT(*) AS m1, COUNT(interested_at) AS m2, COUNT(converted_at) AS m3,
              SUM(score) AS m4, COUNT(score) AS m5,
              SUM(estimated_value) FILTER (WHERE (converted_at IS NULL OR converted_at >= created_at)
                                             AND (lost_at IS NULL OR lost_at >= created_at)) AS m21
       FROM crm_lead WHERE organization_id = %(org)s GROUP BY 1, 2, 3, 4, 5""",
    """CREATE TEMP TABLE ref_lead_closes AS
       SELECT (LEAST(COALESCE(converted_at, lost_at), COALESCE(lost_at, converted_at)) AT TIME ZONE %(tz)s)::date AS day,
              COALESCE(region, '') r, COALESCE(product_line, '') p, COALESCE(source, '') s, assigned_agent_id a,
              SUM(estimated_value) AS m22
       FROM crm_lead WHERE organization_id = %(org)s AND COALESCE(converted_at, lost_at) IS NOT NULL
         AND (converted_at IS NULL OR converted_at >= created_at) AND (lost_at IS NULL OR lost_at >= created_at)
       GROUP BY 1, 2, 3, 4, 5""",
    """CREATE TEMP TABLE ref_calls AS
       SELECT (c.occurred_at AT TIME ZONE %(tz)s)::date AS day, COALESCE(l.region, '') r,
              COALESCE(l.product_line, '') p, COALESCE(l.source, '') s, c.agent_id a, COUNT(*) AS m6,
              COUNT(*) FILTER (WHERE c.outcome = 'success') AS m7, SUM(c.duration_seconds) AS m8, COUNT(c.duration_seconds) AS m9,
              COUNT(*) FILTER (WHERE c.automated) AS m10
       FROM crm_activity c LEFT JOIN crm_lead l ON l.id = c.lead_id
       WHERE c.organization_id = %(org)s AND c.type = 'call' GROUP BY 1, 2, 3, 4, 5""",
    """CREATE TEMP TABLE ref_sales AS
       SELECT (s.closed_at AT TIME ZONE %(tz)s)::date AS day, COALESCE(l.region, '') r,
              COALESCE(s.product_line, '') p, COALESCE(l.source, '') src, s.agent_id a, s.kind, SUM(s.amount) AS m11,
              COUNT(*) AS m12
       FROM crm_sale s LEFT JOIN crm_lead l ON l.id = s.lead_id
       WHERE s.organization_id = %(org)s AND s.currency IN (%(currency)s, '') GROUP BY 1, 2, 3, 4, 5, 6""",
    """CREATE TEMP TABLE ref_messages AS
       SELECT (sent_at AT TIME ZONE %(tz)s)::date AS day, campaign_id, COALESCE(variant, '') v, COUNT(*) AS m13,
              COUNT(delivered_at) AS m14, COUNT(read_at) AS m15, COUNT(replied_at) AS m16, COUNT(failed_at) AS m17
       FROM crm_campaignmessage WHERE organization_id = %(org)s AND sent_at IS NOT NULL GROUP BY 1, 2, 3""",
    # The rebuild groups sales by their stored last-touch campaign (crm.last_touch), so does its
    # reference; B1's raw SQL above still finds each sale's last touch itself (the independent
    # check of the stored column).
    """CREATE TEMP TABLE ref_attribution AS
       SELECT (closed_at AT TIME ZONE %(tz)s)::date AS day, last_touch_campaign_id AS campaign, SUM(amount) AS m18,
              COUNT(*) AS m19
       FROM crm_sale
       WHERE organization_id = %(org)s AND currency IN (%(currency)s, '') AND last_touch_campaign_id IS NOT NULL
       GROUP BY 1, 2""",
    """CREATE TEMP TABLE ref_campaign_leads AS
       SELECT (first_at AT TIME ZONE %(tz)s)::date AS day, campaign_id, COUNT(*) AS m20
       FROM (SELECT campaign_id, lead_id, MIN(occurred_at) AS first_at FROM crm_touchpoint
             WHERE organization_id = %(org)s AND lead_id IS NOT NULL AND campaign_id IS NOT NULL
             GROUP BY campaign_id, lead_id) firsts
       GROUP BY 1, 2""",
    # The hour levels: the organization-wide tables again, by local day and UTC hour.
    """CREATE TEMP TABLE ref_lead_hours AS
       SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, date_trunc('hour', created_at AT TIME ZONE 'UTC') AS hour,
              COUNT(*) AS m1, COUNT(interested_at) AS m2, COUNT(converted_at) AS m3, SUM(score) AS m4, COUNT(score) AS m5,
              SUM(estimated_value) FILTER (WHERE (converted_at IS NULL OR converted_at >= created_at)
                                             AND (lost_at IS NULL OR lost_at >= created_at)) AS m21
       FROM crm_lead WHERE organization_id = %(org)s GROUP BY 1, 2""",
    """CREATE TEMP TABLE ref_lead_close_hours AS
       SELECT (closed AT TIME ZONE %(tz)s)::date AS day, date_trunc('hour', closed AT TIME ZONE 'UTC') AS hour,
              SUM(estimated_value) AS m22
       FROM (SELECT LEAST(COALESCE(converted_at, lost_at), COALESCE(lost_at, converted_at)) AS closed, estimated_value
             FROM crm_lead WHERE organization_id = %(org)s AND COALESCE(converted_at, lost_at) IS NOT NULL
               AND (converted_at IS NULL OR converted_at >= created_at) AND (lost_at IS NULL OR lost_at >= created_at)) c
       GROUP BY 1, 2""",
    """CREATE TEMP TABLE ref_call_hours AS
       SELECT (occurred_at AT TIME ZONE %(tz)s)::date AS day, date_trunc('hour', occurred_at AT TIME ZONE 'UTC') AS hour,
              COUNT(*) AS m6, COUNT(*) FILTER (WHERE outcome = 'success') AS m7, SUM(duration_seconds) AS m8,
              COUNT(duration_seconds) AS m9, COUNT(*) FILTER (WHERE automated) AS m10
       FROM crm_activity WHERE organization_id = %(org)s AND type = 'call' GROUP BY 1, 2""",
    """CREATE TEMP TABLE ref_sale_hours AS
       SELECT (closed_at AT TIME ZONE %(tz)s)::date AS day, date_trunc('hour', closed_at AT TIME ZONE 'UTC') AS hour,
              kind, SUM(amount) AS m11, COUNT(*) AS m12
       FROM crm_sale WHERE organization_id = %(org)s AND currency IN (%(currency)s, '') GROUP BY 1, 2, 3""",
    """CREATE TEMP TABLE ref_message_hours AS
       SELECT (sent_at AT TIME ZONE %(tz)s)::date AS day, date_trunc('hour', sent_at AT TIME ZONE 'UTC') AS hour,
              campaign_id, COUNT(*) AS m13, COUNT(delivered_at) AS m14, COUNT(read_at) AS m15, COUNT(replied_at) AS m16,
              COUNT(failed_at) AS m17
       FROM crm_campaignmessage WHERE organization_id = %(org)s AND sent_at IS NOT NULL GROUP BY 1, 2, 3""",
    """CREATE TEMP TABLE ref_attribution_hours AS
       SELECT (closed_at AT TIME ZONE %(tz)s)::date AS day, date_trunc('hour', closed_at AT TIME ZONE 'UTC') AS hour,
              last_touch_campaign_id AS campaign, SUM(amount) AS m18, COUNT(*) AS m19
       FROM crm_sale
       WHERE organization_id = %(org)s AND currency IN (%(currency)s, '') AND last_touch_campaign_id IS NOT NULL
       GROUP BY 1, 2, 3""",
    """CREATE TEMP TABLE ref_campaign_lead_hours AS
       SELECT (first_at AT TIME ZONE %(tz)s)::date AS day, date_trunc('hour', first_at AT TIME ZONE 'UTC') AS hour,
              campaign_id, COUNT(*) AS m20
       FROM (SELECT campaign_id, lead_id, MIN(occurred_at) AS first_at FROM crm_touchpoint
             WHERE organization_id = %(org)s AND lead_id IS NOT NULL AND campaign_id IS NOT NULL
             GROUP BY campaign_id, lead_id) firsts
       GROUP BY 1, 2, 3""",
    # The campaigns' lead sets, as arrays.
    """CREATE TEMP TABLE ref_campaign_lead_sets AS
       SELECT campaign_id, array_agg(DISTINCT lead_id ORDER BY lead_id) AS leads FROM crm_touchpoint
       WHERE organization_id = %(org)s AND lead_id IS NOT NULL AND campaign_id IS NOT NULL GROUP BY 1""",
)
REFERENCE_TABLES = (
    "ref_leads, ref_lead_closes, ref_calls, ref_sales, ref_messages, ref_attribution, ref_campaign_leads, "
    "ref_lead_hours, ref_lead_close_hours, ref_call_hours, ref_sale_hours, ref_message_hours, "
    "ref_attribution_hours, ref_campaign_lead_hours, ref_campaign_lead_sets"
)


def raw_sql(params: dict) -> dict:
    out = {}
    with connection.cursor() as cursor:
        for index, sql in enumerate(RAW_QUERIES):
            cursor.execute(sql, params)
            out[index] = cursor.fetchall()
    return out


def check_same_numbers(api: dict, raw: dict) -> list[str]:
    """Headline numbers of the API answer against the raw SQL's."""
    calls, leads, sales, messages = raw[0][0], raw[1][0], raw[3][0], raw[4]
    data = api["data"]
    pairs = {
        "calls.total": (data["calls"]["total"], calls[0]),
        "calls.successful": (data["calls"]["successful"], calls[1]),
        "leads.total": (data["leads"]["total"], leads[0]),
        "leads.qualified": (data["leads"]["qualified"], leads[1]),
        "revenue.total": (
            Decimal(str(data["revenue"]["total"])),
            Decimal(sales[0]).quantize(Decimal("0.01")),
        ),
        "revenue.deals": (data["revenue"]["deals"], sales[1]),
        "campaigns.sent": (data["campaigns"]["sent"], sum(row[1] for row in messages)),
        "campaigns.replied": (data["campaigns"]["replied"], sum(row[4] for row in messages)),
    }
    return [f"{name}: api {a} != raw {b}" for name, (a, b) in pairs.items() if a != b]


def expected_blocks(org: Organization, raw: dict) -> dict[str, tuple[dict, dict]]:
    """The overview blocks (current, previous) computed from the raw SQL's numbers with the
    product's pure arithmetic (insights.metrics), for a field-by-field comparison."""
    calls, leads, pipeline, sales = raw[0][0], raw[1][0], raw[2][0], raw[3][0]
    out = {}
    out["calls"] = tuple(
        metrics.calls_block(
            {
                "calls": calls[i],
                "successful": calls[i + 1],
                "duration_seconds_sum": calls[i + 2],
                "duration_count": calls[i + 3],
            }
        )
        for i in (0, 4)
    )
    out["leads"] = tuple(
        metrics.leads_block(
            {
                "created": leads[i],
                "qualified": leads[i + 1],
                "converted": leads[i + 2],
                "score_sum": leads[i + 3] or 0,
                "score_count": leads[i + 4],
            },
            pipeline_value=pipeline[j] or 0,
        )
        for i, j in ((0, 0), (5, 1))
    )
    out["revenue"] = (
        metrics.revenue_block(
            {"amount_sum": sales[0], "count": sales[1]}, recurring_last_30d=sales[4], previous_total=sales[2]
        ),
        metrics.revenue_block(
            {"amount_sum": sales[2], "count": sales[3]}, recurring_last_30d=sales[5], previous_total=0
        ),
    )
    info = {
        row["id"]: row
        for row in Campaign.objects.filter(organization=org).values("id", "external_id", "spend")
    }
    leads_of = dict(raw[6])
    revenue = {row[0]: (row[1], row[2]) for row in raw[5]}
    counts = {row[0]: row[1:] for row in raw[4]}
    blocks = []
    for i in (0, 1):
        rows = []
        listed = {c for c, n in counts.items() if n[4 * i]} | {c for c, r in revenue.items() if r[i]}
        for cid in listed:
            n = counts.get(cid, (0,) * 8)
            funnel = {
                "sent": n[4 * i],
                "delivered": n[4 * i + 1],
                "read": n[4 * i + 2],
                "replied": n[4 * i + 3],
            }
            rows.append(
                {
                    "id": info[cid]["external_id"],
                    **metrics.funnel_rates(funnel),
                    "spend": metrics.money(info[cid]["spend"]),
                    "attributedRevenue": metrics.money(revenue.get(cid, (0, 0))[i] or 0),
                    "leads": leads_of.get(cid, 0),
                }
            )
        totals = {m: sum(r[m] for r in rows) for m in ("sent", "delivered", "read", "replied")}
        block = {
            **metrics.funnel_rates(totals),
            "active": sum(1 for r in rows if r["sent"]),
            "attributedRevenue": metrics.money(
                sum((Decimal(str(r["attributedRevenue"])) for r in rows), Decimal(0))
            ),
            "totalSpend": metrics.money(sum((Decimal(str(r["spend"])) for r in rows), Decimal(0))),
            "campaigns": sorted(rows, key=lambda r: r["id"]),
        }
        blocks.append(block)
    out["campaigns"] = tuple(blocks)
    return out


def check_all_numbers(org: Organization, label: str, as_of: dt.datetime, currency: str) -> list[str]:
    """The overview computed at one fixed reference time (no cache) against RAW_QUERIES over
    the same windows, field by field, current and previous window."""
    request = analytics.parse_overview_request(
        organization=org,
        as_of=as_of,
        body={"timeRange": label, "metrics": ["calls", "leads", "revenue", "campaigns"]},
    )
    answer = analytics.compute_overview(organization=org, request=request)
    window = request.window
    previous = window.previous()
    thirty = dt.timedelta(days=30)
    params = {
        "org": org.pk,
        "cs": window.start,
        "ce": window.end,
        "ps": previous.start,
        "currency": currency,
        "mrr_c": max(window.start, window.end - thirty),
        "mrr_p": max(previous.start, previous.end - thirty),
    }
    expected = expected_blocks(org, raw_sql(params))
    problems = []
    for name, (exp_cur, exp_prev) in expected.items():
        got_cur = answer["data"][name]
        got_prev = answer["comparisons"][name]["previous"]
        for which, exp, got in (("current", exp_cur, got_cur), ("previous", exp_prev, got_prev)):
            for key, value in exp.items():
                if which == "previous" and key in ("campaigns", "growthRate"):
                    continue
                mine = got.get(key)
                if key == "campaigns":
                    mine = (
                        sorted(({k: c[k] for k in value[0]} for c in mine), key=lambda r: r["id"])
                        if value
                        else mine
                    )
                if mine != value:
                    problems.append(f"{which} {name}.{key}: api {str(mine)[:300]} != raw {str(value)[:300]}")
    return problems


def analyze_rollups() -> None:
    """The server may run with autovacuum off (this machine's CI config does): do what
    autovacuum would do in production after the rebuilds, which delete and rewrite every
    rollup row (without it a year's read scans several rebuilds' dead rows) and leave the
    planner without statistics."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) " + ", ".join(spec.model._meta.db_table for spec in SPECS))


def vacuum_raw_tables() -> None:
    """Once before timing: what autovacuum (off on this machine's server) does after a bulk
    load in production: planner statistics, and the visibility map that index-only scans need
    (the distinct leads touched by a set of campaigns are read from an index alone)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) crm_lead, crm_activity, crm_sale, crm_campaignmessage, crm_touchpoint"
        )


def rebuild_benchmarks(org: Organization, repeat: int) -> dict:
    first = min(
        spec.raw(org).order_by(spec.time_field).values_list(spec.time_field, flat=True).first()
        or timezone.now()
        for spec in SPECS
    )
    first_day = first.astimezone(org.tz).date()
    last_day = timezone.now().astimezone(org.tz).date() - dt.timedelta(days=1)
    full, ctas, day = [], [], []
    params = {"org": org.pk, "tz": org.timezone, "currency": org.currency}

    def reference() -> None:
        with connection.cursor() as cursor:
            for sql in CTAS:
                cursor.execute(sql, params)
            cursor.execute(f"DROP TABLE {REFERENCE_TABLES}")

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for run in range(repeat):
        full.append(
            timed(
                lambda: services.insights_rollups_rebuild(
                    organization=org, first_day=first_day, last_day=last_day
                )
            )
        )
        ctas.append(timed(reference))
        day.append(
            timed(
                lambda: services.insights_rollups_rebuild(
                    organization=org, first_day=last_day, last_day=last_day
                )
            )
        )
        print(
            f"B4/B5 run {run + 1}: full rebuild {full[-1] / 1000:.1f} s, CREATE TABLE AS {ctas[-1] / 1000:.1f} s, "
            f"one day {day[-1]:.0f} ms; peak RSS {rss_before // 1024} MiB before, "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB now",
            flush=True,
        )
    # The rows are those of a full rebuild through last_day: record it as the refresh would
    # (a refresh from an empty fill state would rebuild everything a third time).
    FillState.objects.update_or_create(
        family="insights",
        organization=org,
        defaults={"filled_through": last_day, "dirty_from": None, "updated_at": timezone.now()},
    )
    statistics_refresh(organization=org, family="insights", as_of=timezone.now())
    analyze_rollups()
    med = statistics.median
    rows = {spec.name: spec.model.objects.filter(organization=org).count() for spec in SPECS}
    return {
        "days": (last_day - first_day).days + 1,
        "full": med(full),
        "ctas": med(ctas),
        "day": med(day),
        "rows": rows,
        "rss": (rss_before // 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024),
    }


def params_for(org: Organization, label: str, now: dt.datetime) -> dict:
    window = parse_range(label, as_of=now)
    previous = window.previous()
    thirty = dt.timedelta(days=30)
    return {
        "org": org.pk,
        "cs": window.start,
        "ce": window.end,
        "ps": previous.start,
        "currency": org.currency,
        "mrr_c": max(window.start, window.end - thirty),
        "mrr_p": max(previous.start, previous.end - thirty),
    }


def bench_organization(org: Organization, args: argparse.Namespace) -> tuple[list[str], dict[str, dict]]:
    """B1 for one organization: the table's lines and, per range, the medians (ms) of the
    cold overview (A), the raw SQL (B), DuckDB (D) and the five tabs (T)."""
    rebuild = None if args.skip_rebuild else rebuild_benchmarks(org, args.rebuild_repeat)
    if rebuild:
        print(
            f"B4 rollup rows: {rebuild['rows']}; peak RSS {rebuild['rss'][0]} -> {rebuild['rss'][1]} MiB",
            flush=True,
        )
        print(
            f"- {org.slug}: B4 full rollup rebuild ({rebuild['days']} days): {rebuild['full'] / 1000:.1f} s against "
            f"{rebuild['ctas'] / 1000:.1f} s for CREATE TABLE AS ... GROUP BY ({rebuild['full'] / rebuild['ctas']:.2f}x); "
            f"B5 one day: {rebuild['day']:.0f} ms ({rebuild['day'] / rebuild['full']:.4f} of the full rebuild)",
            flush=True,
        )
    if args.rebuild_only:
        return [], {}
    if args.skip_rebuild:
        statistics_refresh(organization=org, family="insights", as_of=timezone.now())
        analyze_rollups()
    manager = Member.objects.filter(organization=org, role__in=(Role.MANAGER, Role.ADMIN)).first()
    if manager is None:
        # generated organizations have agents only: a manager to call the API as
        manager = member_add(
            organization=org,
            email=f"bench-manager@{org.slug}.test",
            role=Role.MANAGER,
            password=None,
            name="Bench Manager",
            team="",
        )
    duck = None if args.no_duckdb else DuckReference(org.pk)
    if duck:
        print(f"{org.slug}: DuckDB holds {duck.rows}", flush=True)
    client = Client()
    bearer = Bearer(manager)
    lines, medians = [], {}
    for label in [r for r in args.ranges.split(",") if r]:
        params = params_for(org, label, timezone.now())
        body = {"timeRange": label, "metrics": ["calls", "leads", "revenue", "campaigns"]}
        answers = {}

        def request(label: str = label, body: dict = body, answers: dict = answers) -> None:
            response = client.post(
                "/api/analytics/overview", body, content_type="application/json", **bearer.header()
            )
            assert response.status_code == 200, response.content
            answers["last"] = response.json()

        def tabs(label: str = label) -> None:
            for tab in DATA_TABS:
                cache.clear()
                response = client.get(f"/api/analytics/tabs/{tab}?range={label}", **bearer.header())
                assert response.status_code == 200, (tab, response.content[:300])

        request()
        with CaptureQueriesContext(connection) as ctx:
            cache.clear()
            request()
        queries = len(ctx.captured_queries)
        problems = check_same_numbers(answers["last"], raw_sql(params))
        if problems:
            print(f"{label}: the API and the raw SQL disagree (a window edge moved?): {problems}", flush=True)
        # The HTTP answer's window ends at its own "now", a few seconds after `params`': a
        # headline that differs by a row or two there is a window edge; the field-by-field
        # check at one fixed reference time is the one that decides "same numbers".
        problems = check_all_numbers(org, label, timezone.now(), org.currency)
        if problems:
            print(f"{label}: field by field at one reference time, {len(problems)} differences:", flush=True)
            for line in problems[:40]:
                print(f"  {line}", flush=True)
        if duck:
            pg = raw_sql(params)
            dk = dict(enumerate(duck.run(RAW_QUERIES, params)))
            if any(sorted(map(str, pg[i])) != sorted(map(str, dk[i])) for i in pg):
                problems.append("DuckDB and PostgreSQL disagree")
                print(f"{label}: DuckDB and PostgreSQL answer differently", flush=True)
        cold, warm, raw, limit, tab_times = [], [], [], [], []
        for _ in range(args.repeat):
            cache.clear()
            cold.append(timed(request))
            warm.append(timed(request))
            raw.append(timed(lambda params=params: raw_sql(params)))
            if duck:
                limit.append(timed(lambda params=params: duck.run(RAW_QUERIES, params)))
            tab_times.append(timed(tabs))
        med = statistics.median
        medians[label] = {
            "A": med(cold),
            "B": med(raw),
            "D": med(limit) if limit else None,
            "T": med(tab_times),
        }
        duck_cells = f"{med(limit):.1f} | {med(cold) / med(limit):.2f} |" if limit else "- | - |"
        lines.append(
            f"| {org.slug} | {label} | {med(cold):.1f} | {med(warm):.2f} | {med(raw):.1f} | {med(cold) / med(raw):.3f} "
            f"| {duck_cells} {med(tab_times):.0f} | {queries} | {'yes' if not problems else 'NO'} |"
        )
        print(lines[-1], flush=True)
    return lines, medians


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--orgs",
        default="bench",
        help="organizations, comma-separated; with two, the first is the large one and B14 compares them",
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ranges", default="24h,7d,30d,90d,1y")
    parser.add_argument("--rebuild-repeat", type=int, default=2)
    parser.add_argument("--skip-rebuild", action="store_true", help="rollups are already built")
    parser.add_argument("--rebuild-only", action="store_true", help="B4 and B5 only")
    parser.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB reference")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run against PostgreSQL (DATABASE_URL).")
    orgs = [Organization.objects.get(slug=slug) for slug in args.orgs.split(",")]
    vacuum_raw_tables()
    lines, medians = [], {}
    for org in orgs:
        org_lines, medians[org.slug] = bench_organization(org, args)
        lines += org_lines
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
    for org in orgs:
        leads = Lead.objects.filter(organization=org).count()
        activities = Activity.objects.filter(organization=org).count()
        print(f"- data: organization `{org.slug}`: {leads:,} leads, {activities:,} activities")
    print(
        f"- cache {settings.CACHES['default']['BACKEND']} {settings.CACHES['default'].get('LOCATION', '')}; "
        f"DEBUG {settings.DEBUG}; medians of {args.repeat} alternating runs, ms"
    )
    print()
    print(
        "| organization | range | A cold overview | W warm | B raw SQL | A/B | D DuckDB | A/D "
        "| T five tabs cold | queries (cold) | same numbers |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for line in lines:
        print(line)
    if len(orgs) == 2 and medians[orgs[0].slug]:
        large, small = (medians[org.slug] for org in orgs)
        print()
        print(f"B14 (p50 at `{orgs[0].slug}` / p50 at `{orgs[1].slug}`, target at most 2):")
        for label in large:
            print(
                f"- {label}: overview {large[label]['A'] / small[label]['A']:.2f}, "
                f"five tabs {large[label]['T'] / small[label]['T']:.2f}"
            )


if __name__ == "__main__":
    main()
