"""The insights rollups give exactly the raw-table answers, and rebuilding is idempotent."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Q, Sum
from django.test.utils import CaptureQueriesContext

from core.models import FillState
from core.stats import rollups
from core.stats.idsets import idset_unpack
from core.stats.refresh import statistics_mark_stale, statistics_refresh, statistics_refresh_hours
from core.timeranges import Window, day_window, parse_range, whole_hour_offsets
from crm.events import Ingested
from crm.ingestion import ingest_records
from crm.models import Campaign, Lead, Member, Role, Sale, SaleKind, Touchpoint
from insights import selectors
from insights.models import CampaignLeadSet
from insights.selectors import (
    ATTRIBUTION,
    CALLS,
    CAMPAIGN_LEADS,
    CAMPAIGNS,
    LEADS,
    SALES,
    SPECS,
    Filters,
    Part,
)
from insights.selectors.calls import calls_by_local_hour
from insights.selectors.campaigns import send_time_counts
from insights.services import insights_rollups_rebuild
from tests.conftest import require_service
from tests.factories import ActivityFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

AS_OF = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)
RANGES = ("24h", "7d", "30d", "90d", "1y")


@pytest.fixture(params=["America/Los_Angeles", "Asia/Kolkata"])
def generated_org(request):
    org = OrganizationFactory(slug=f"ins-{request.param.split('/')[1].lower()}", timezone=request.param)
    call_command("generate_demo_data", org.slug, seed=7, scale="small", as_of=AS_OF.isoformat(), verbosity=0)
    return org


def some_filters(org) -> list[Filters]:
    lead = Lead.objects.for_org(org).exclude(region="").exclude(product_line="").exclude(source="").first()
    agent = Member.objects.for_org(org).filter(role=Role.AGENT).order_by("email").first()
    return [
        Filters(),
        Filters(region=lead.region),
        Filters(product_line=lead.product_line, source=lead.source),
        Filters(agent_id=agent.pk),
        Filters(region=lead.region, agent_id=agent.pk),
    ]


def rolled(org, spec, window, filters, *, where=None, group_by=None):
    trusted, hours = selectors.trust(org)
    out = selectors.window_totals(
        organization=org,
        spec=spec,
        parts={"w": Part(window, where)},
        filters=filters,
        trusted_last_day=trusted,
        group_by=group_by,
        hours_until=hours,
    )
    return out["w"]


def normal(grouped: dict) -> dict:
    """Drop zero measures so a rollup answer and a raw answer compare equal."""
    return {k: {m: v for m, v in t.items() if v} for k, t in grouped.items() if any(t.values())}


def test_rollups_equal_raw_tables(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    assert selectors.fill_state(org).filled_through == AS_OF.astimezone(org.tz).date() - dt.timedelta(days=1)
    counted = 0
    for label in RANGES:
        for window in (parse_range(label, as_of=AS_OF), parse_range(label, as_of=AS_OF).previous()):
            for filters in some_filters(org):
                for spec in (LEADS, CALLS, SALES):
                    raw = selectors.raw_totals(organization=org, spec=spec, window=window, filters=filters)
                    assert normal(rolled(org, spec, window, filters)) == normal(raw), (
                        label,
                        spec.name,
                        filters,
                    )
                    counted += sum(raw.get(None, {}).values()) if spec is not SALES else 0
            recurring = Q(kind=SaleKind.RECURRING)
            raw = selectors.raw_totals(
                organization=org, spec=SALES, window=window, filters=Filters(), where=recurring
            )
            assert normal(rolled(org, SALES, window, Filters(), where=recurring)) == normal(raw)
            raw = selectors.raw_totals(
                organization=org, spec=CAMPAIGNS, window=window, filters=Filters(), group_by="campaign_id"
            )
            assert normal(rolled(org, CAMPAIGNS, window, Filters(), group_by="campaign_id")) == normal(raw)
            for spec in (ATTRIBUTION, CAMPAIGN_LEADS):
                raw = selectors.raw_totals(
                    organization=org, spec=spec, window=window, filters=Filters(), group_by="campaign_id"
                )
                assert normal(rolled(org, spec, window, Filters(), group_by="campaign_id")) == normal(raw), (
                    label,
                    spec.name,
                )
    assert counted > 1000


def test_campaign_rollups_equal_their_direct_definitions(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    trusted = selectors.trusted_through(selectors.fill_state(org))
    # leads touched per campaign (at any time): each lead once, however many touchpoints
    direct = dict(
        Touchpoint.objects.for_org(org)
        .filter(lead__isnull=False, campaign__isnull=False)
        .values_list("campaign_id")
        .annotate(n=Count("lead_id", distinct=True))
    )
    assert (
        selectors.campaign_leads_touched(organization=org, campaign_ids=direct, trusted_last_day=trusted)
        == direct
    )
    # the first-touch rollup counts the same leads, each on the day of its first touch
    rolled_leads = rolled(org, CAMPAIGN_LEADS, selectors.ALL_TIME, Filters(), group_by="campaign_id")
    assert {cid: t["leads"] for cid, t in rolled_leads.items()} == direct
    assert sum(direct.values()) > 50
    # last-touch revenue of a year: each sale for the campaign of the last touchpoint before it
    window = parse_range("1y", as_of=AS_OF)
    expected: dict[int, Decimal] = {}
    for sale in Sale.objects.for_org(org).filter(closed_at__gte=window.start, closed_at__lt=window.end):
        contact_id = sale.contact_id or (sale.lead.contact_id if sale.lead_id else None)
        last = (
            Touchpoint.objects.for_org(org)
            .filter(Q(lead_id=sale.lead_id) | Q(contact_id=contact_id), occurred_at__lt=sale.closed_at)
            .order_by("-occurred_at", "-id")
            .first()
        )
        if last is not None and last.campaign_id is not None:
            expected[last.campaign_id] = expected.get(last.campaign_id, 0) + sale.amount
    got = rolled(org, ATTRIBUTION, window, Filters(), group_by="campaign_id")
    assert {cid: t["amount_sum"] for cid, t in got.items() if t.get("amount_sum")} == expected
    assert expected


def test_late_touchpoint_moves_attribution_before_any_rebuild(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    window = parse_range("30d", as_of=AS_OF)
    # a sale with no later sale of its lead or contact, so the new last touch is its alone
    sale = next(
        s
        for s in Sale.objects.for_org(org)
        .filter(closed_at__gte=window.start + dt.timedelta(days=3), lead__isnull=False)
        .order_by("closed_at")
        if not Sale.objects.for_org(org)
        .filter(
            Q(lead_id=s.lead_id) | Q(contact_id=s.contact_id or s.lead.contact_id), closed_at__gt=s.closed_at
        )
        .exists()
    )
    other = Campaign.objects.for_org(org).order_by("-id").first()
    before = rolled(org, ATTRIBUTION, window, Filters(), group_by="campaign_id")
    # given a touchpoint of another campaign, a minute before the sale, arrives late
    touched_at = sale.closed_at - dt.timedelta(minutes=1)
    stored = ingest_records(
        organization=org,
        entity="touchpoints",
        records=[
            {
                "external_id": "late-touch",
                "lead_external_id": sale.lead.external_id,
                "campaign_external_id": other.external_id,
                "occurred_at": touched_at.isoformat(),
            }
        ],
    )
    assert stored.rows_stored == 1
    assert selectors.fill_state(org).dirty_from <= touched_at.astimezone(org.tz).date()
    # then the sale's revenue already counts for that campaign
    after = rolled(org, ATTRIBUTION, window, Filters(), group_by="campaign_id")
    raw = selectors.raw_totals(
        organization=org, spec=ATTRIBUTION, window=window, filters=Filters(), group_by="campaign_id"
    )
    assert normal(after) == normal(raw)
    gained = after[other.pk]["amount_sum"] - before.get(other.pk, {}).get("amount_sum", 0)
    assert gained == sale.amount


def test_rollups_are_used_for_whole_days(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    plan = selectors.window_plan(
        parse_range("90d", as_of=AS_OF),
        tz=org.tz,
        trusted_last_day=selectors.trusted_through(selectors.fill_state(org)),
    )
    # 89 whole local days from rollups; the partial first day and today live
    assert plan.rollup_days[1] - plan.rollup_days[0] == dt.timedelta(days=88)
    assert len(plan.live_ranges) == 2


def test_custom_local_day_window_is_all_rollup(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    window = day_window(dt.date(2026, 10, 1), dt.date(2026, 10, 31), org.tz)
    plan = selectors.window_plan(window, tz=org.tz, trusted_last_day=selectors.fill_state(org).filled_through)
    assert plan.live_ranges == ()
    raw = selectors.raw_totals(organization=org, spec=LEADS, window=window, filters=Filters())
    assert normal(rolled(org, LEADS, window, Filters())) == normal(raw)


def snapshot(org) -> list:
    rows = []
    for spec in SPECS:
        values = spec.model.objects.for_org(org).order_by("day", *spec.keys).values()
        rows += [(spec.name, {k: v for k, v in row.items() if k != "id"}) for row in values]
    return rows


def test_rebuild_is_idempotent_and_repairs_a_half_done_run(generated_org):
    org = generated_org
    first, last = dt.date(2026, 6, 1), dt.date(2026, 11, 21)
    insights_rollups_rebuild(organization=org, first_day=first, last_day=last)
    once = snapshot(org)
    insights_rollups_rebuild(organization=org, first_day=first, last_day=last)
    assert snapshot(org) == once
    # a crash halfway: half the rows gone; the next run restores them all
    for spec in SPECS:
        spec.model.objects.for_org(org).filter(day__gte=dt.date(2026, 9, 1)).delete()
    insights_rollups_rebuild(organization=org, first_day=first, last_day=last)
    assert snapshot(org) == once
    assert len(once) > 200


def test_stale_mark_keeps_answers_exact_until_rebuilt(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    window = parse_range("30d", as_of=AS_OF)
    # given a lead of a day already rolled up converts now (its creation day's cohort changes)
    lead = (
        Lead.objects.for_org(org)
        .filter(created_at__gte=window.start + dt.timedelta(days=2), converted_at__isnull=True)
        .first()
    )
    before = normal(rolled(org, LEADS, window, Filters()))
    lead.converted_at = AS_OF - dt.timedelta(hours=1)
    lead.save()
    # when ingestion reports it
    assert "insights" in statistics_mark_stale(Ingested(org.pk, "leads", lead.created_at, lead.created_at, 1))
    state = selectors.fill_state(org)
    assert state.dirty_from == lead.created_at.astimezone(org.tz).date()
    # then the answer already counts the conversion, before any rebuild
    raw = selectors.raw_totals(organization=org, spec=LEADS, window=window, filters=Filters())
    after = normal(rolled(org, LEADS, window, Filters()))
    assert after == normal(raw)
    assert after[None]["converted"] == before[None]["converted"] + 1
    # and a refresh clears the mark and keeps the equality
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    assert selectors.fill_state(org).dirty_from is None
    assert normal(rolled(org, LEADS, window, Filters())) == normal(raw)


def test_refresh_twice_gives_identical_rows_and_keeps_version(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    once = snapshot(org)
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    assert snapshot(org) == once
    assert FillState.objects.for_org(org).filter(family="insights").get().version == 0


def test_other_entities_do_not_mark_stale(org_a):
    FillState.objects.create(family="insights", organization=org_a, filled_through=dt.date(2026, 1, 1))
    assert "insights" not in statistics_mark_stale(Ingested(org_a.pk, "contacts", AS_OF, AS_OF, 1))
    assert "insights" not in statistics_mark_stale(Ingested(org_a.pk, "leads", None, None, 1))
    assert FillState.objects.for_org(org_a).filter(family="insights").get().dirty_from is None


def test_rebuild_command(generated_org, capsys):
    call_command("rebuild_statistics", generated_org.slug, family=["insights"], days=3)
    out = capsys.readouterr().out
    assert "insights: " in out
    assert "rows rewritten for the last 3 days" in out
    assert FillState.objects.for_org(generated_org).filter(family="insights").get().filled_through is not None


def test_a_large_rebuild_refreshes_the_planner_statistics(generated_org, monkeypatch):
    org = generated_org
    analyzed = []
    real = rollups._analyze_rollups
    monkeypatch.setattr(rollups, "_analyze_rollups", lambda specs: analyzed.append(1) or real(specs))
    # given a rebuild below the threshold leaves the statistics alone
    first, last = dt.date(2026, 11, 20), dt.date(2026, 11, 21)
    written = insights_rollups_rebuild(organization=org, first_day=first, last_day=last)
    assert 0 < written < rollups.ANALYZE_AFTER_ROWS
    assert analyzed == []
    # when one writes at least ANALYZE_AFTER_ROWS rows, the rollup tables are analyzed
    monkeypatch.setattr(rollups, "ANALYZE_AFTER_ROWS", written)
    insights_rollups_rebuild(organization=org, first_day=dt.date(2026, 1, 1), last_day=last)
    assert analyzed == [1]
    require_service("PostgreSQL", connection.vendor == "postgresql")
    # then PostgreSQL knows each table's size (small tables are read whole: exact counts)
    with connection.cursor() as cursor:
        for spec in SPECS:
            table = spec.model._meta.db_table
            cursor.execute(
                f"SELECT reltuples::bigint, (SELECT COUNT(*) FROM {table}) FROM pg_class WHERE relname = %s",
                [table],
            )
            estimated, actual = cursor.fetchone()
            assert estimated == actual, table


def test_deleting_an_organization_deletes_its_rollups(generated_org):
    # the rollups have no database constraint (docs/performance.md, B4): Django's cascade
    statistics_refresh(organization=generated_org, family="insights", as_of=AS_OF)
    assert all(spec.model.objects.filter(organization_id=generated_org.pk).exists() for spec in SPECS)
    generated_org.delete()
    assert not any(spec.model.objects.filter(organization_id=generated_org.pk).exists() for spec in SPECS)


def test_day_totals_are_the_sums_of_the_finer_rollups(generated_org):
    """The organization x day level holds, per day (and kind), exactly the finer rows' sums."""
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    for spec in (LEADS, CALLS, SALES):
        (level,) = (level for level in spec.coarser if level.period == rollups.DAY)
        keys = ["day", *level.keys]
        finer = {
            tuple(row[k] for k in keys): {m: row[m] for m in spec.measures}
            for row in spec.model.objects.for_org(org)
            .values(*keys)
            .annotate(**{m: Sum(m) for m in spec.measures})
        }
        totals = {
            tuple(row[k] for k in keys): {m: row[m] for m in spec.measures}
            for row in level.model.objects.for_org(org).values(*keys, *spec.measures)
        }
        assert totals == finer, spec.name
        assert len(totals) > 100, spec.name


@pytest.mark.parametrize(
    ("filters", "group_by", "where", "table"),
    [
        (Filters(), None, None, "insights_saledailytotal"),
        (Filters(), None, Q(kind=SaleKind.RECURRING), "insights_saledailytotal"),
        (Filters(), "kind", None, "insights_saledailytotal"),
        (Filters(region="North"), None, None, "insights_saledailyrollup"),
        (Filters(agent_id=1), None, None, "insights_saledailyrollup"),
        (Filters(), "agent_id", None, "insights_saledailyrollup"),
    ],
)
def test_a_read_takes_the_coarsest_level_that_has_its_keys(org_a, filters, group_by, where, table):
    FillState.objects.create(family="insights", organization=org_a, filled_through=dt.date(2026, 11, 21))
    with CaptureQueriesContext(connection) as captured:
        selectors.window_totals(
            organization=org_a,
            spec=SALES,
            parts={"w": Part(parse_range("30d", as_of=AS_OF), where)},
            filters=filters,
            trusted_last_day=dt.date(2026, 11, 21),
            group_by=group_by,
        )
    rollup_reads = [
        q["sql"] for q in captured.captured_queries if "rollup" in q["sql"] or "total" in q["sql"]
    ]
    assert len(rollup_reads) == 1
    assert f'"{table}"' in rollup_reads[0]


def test_pipeline_from_flows_equals_the_open_leads(generated_org):
    org = generated_org
    leads = Lead.objects.for_org(org)
    # given a lead lost before it was created (never open) and one converted later the same day
    first = leads.order_by("created_at").first()
    leads.filter(pk=first.pk).update(lost_at=first.created_at - dt.timedelta(days=1), converted_at=None)
    moments = {
        label: moment
        for label, moment in (
            ("now", AS_OF),
            ("7d ago", AS_OF - dt.timedelta(days=7)),
            ("200d ago", AS_OF - dt.timedelta(days=200)),
            ("first", first.created_at + dt.timedelta(hours=1)),
        )
    }
    for refreshed in (False, True):
        if refreshed:
            statistics_refresh(organization=org, family="insights", as_of=AS_OF)
        trusted = selectors.trusted_through(selectors.fill_state(org))
        for filters in some_filters(org):
            got = selectors.pipeline_values(
                organization=org, filters=filters, moments=moments, trusted_last_day=trusted
            )
            # the definition: estimated value of the leads open at the moment
            expected = {
                label: leads.filter(filters.raw_q(LEADS))
                .filter(selectors._open_at(moment))
                .aggregate(v=Sum("estimated_value"))["v"]
                or Decimal(0)
                for label, moment in moments.items()
            }
            assert got == expected, (refreshed, filters)
            if filters == Filters():
                # not a vacuous comparison
                assert expected["now"] > 0
                assert expected["200d ago"] > 0
    assert selectors.trusted_through(selectors.fill_state(org)) is not None


def hour_level_of(spec):
    (level,) = (level for level in spec.coarser if level.period == rollups.HOUR)
    return level


def by_day(model, org, measures, **lookups) -> dict:
    rows = (
        model.objects.for_org(org).filter(**lookups).values("day").annotate(**{m: Sum(m) for m in measures})
    )
    return {row["day"]: {m: row[m] for m in measures if row[m]} for row in rows}


def test_hour_levels_add_up_to_the_days_and_stop_at_the_last_whole_hour(generated_org):
    org = generated_org
    # two calls ten minutes either side of a local midnight (18:30 UTC in Kolkata)
    midnight = day_window(dt.date(2026, 11, 10), dt.date(2026, 11, 10), org.tz).start
    for minutes in (-10, 10):
        ActivityFactory(organization=org, occurred_at=midnight + dt.timedelta(minutes=minutes))
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    today = AS_OF.astimezone(org.tz).date()
    last_hour = AS_OF.replace(minute=0)
    with_hours = [spec for spec in SPECS if any(level.period == rollups.HOUR for level in spec.coarser)]
    assert [spec.name for spec in SPECS if spec not in with_hours] == ["campaign_leads"]
    for spec in with_hours:
        hours = hour_level_of(spec)
        measures = tuple(hours.all_measures())
        # every finished day: its hour rows sum to its day rows (whatever the keys)
        days = by_day(spec.model, org, measures, day__lt=today)
        assert by_day(hours.model, org, measures, day__lt=today) == days, spec.name
        assert len(days) > 10, spec.name
        # today: up to the last whole hour before the refresh, exactly the raw rows
        rows = hours.model.objects.for_org(org)
        assert not rows.filter(hour__gte=last_hour).exists(), spec.name
        today_window = Window(day_window(today, today, org.tz).start, last_hour)
        raw = selectors.raw_totals(organization=org, spec=spec, window=today_window, filters=Filters())
        assert by_day(hours.model, org, measures, day=today).get(today, {}) == normal(raw).get(None, {}), (
            spec.name
        )
    calls = hour_level_of(CALLS).model.objects.for_org(org)
    assert all(moment.minute == 0 for moment in calls.values_list("hour", flat=True))
    if org.timezone == "Asia/Kolkata":
        # local midnight is 18:30 UTC: the hour holding it has a row for each local day
        split = calls.filter(hour=midnight - dt.timedelta(minutes=30))
        assert sorted(split.values_list("day", flat=True)) == [dt.date(2026, 11, 9), dt.date(2026, 11, 10)]


def test_a_window_s_edges_are_read_from_whole_hours(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    window = parse_range("30d", as_of=AS_OF)
    with CaptureQueriesContext(connection) as queries:
        answer = rolled(org, CALLS, window, Filters())
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "insights_callhourlytotal" in sql
    raw = selectors.raw_totals(organization=org, spec=CALLS, window=window, filters=Filters())
    assert normal(answer) == normal(raw)
    # a filter the hour level has no column for reads the edges live, with the same answer
    region = some_filters(org)[1]
    with CaptureQueriesContext(connection) as queries:
        answer = rolled(org, CALLS, window, region)
    assert "hourly" not in " ".join(q["sql"] for q in queries.captured_queries)
    raw = selectors.raw_totals(organization=org, spec=CALLS, window=window, filters=region)
    assert normal(answer) == normal(raw)


def test_the_intraday_refresh_moves_the_trusted_hours_and_waits_out_a_stale_mark(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    state = selectors.fill_state(org)
    assert state.hours_through == AS_OF.replace(minute=0)
    assert selectors.trust(org)[1] == AS_OF.replace(minute=0)
    # when a call of 10:15 arrives, today is stale: the hours are trusted up to local midnight
    # only, and answers count the call at once
    at = AS_OF + dt.timedelta(minutes=45)
    lead = Lead.objects.for_org(org).first()
    ActivityFactory(organization=org, lead=lead, occurred_at=at, outcome="success", duration_seconds=60)
    statistics_mark_stale(Ingested(org.pk, "activities", at, at, 1))
    today = AS_OF.astimezone(org.tz).date()
    assert selectors.trust(org)[1] == day_window(today, today, org.tz).start
    window = Window(parse_range("7d", as_of=AS_OF).start, at + dt.timedelta(minutes=5))
    raw = selectors.raw_totals(organization=org, spec=CALLS, window=window, filters=Filters())
    assert normal(rolled(org, CALLS, window, Filters())) == normal(raw)
    # the intraday refresh leaves a stale family to the full refresh
    assert statistics_refresh_hours(organization=org, family="insights", as_of=at) is None
    # the full refresh rebuilds today's hours too, and trusts them again
    statistics_refresh(organization=org, family="insights", as_of=at + dt.timedelta(minutes=50))
    assert selectors.trust(org)[1] == AS_OF.replace(hour=11, minute=0)
    hours = hour_level_of(CALLS).model.objects.for_org(org)
    assert hours.filter(hour=AS_OF.replace(hour=10, minute=0)).get().calls >= 1
    assert normal(rolled(org, CALLS, window, Filters())) == normal(raw)
    # with nothing stale, the intraday refresh moves the hours to the last whole one
    moved = statistics_refresh_hours(
        organization=org, family="insights", as_of=AS_OF.replace(hour=13, minute=7)
    )
    assert moved == AS_OF.replace(hour=13, minute=0) == selectors.fill_state(org).hours_through
    window = parse_range("30d", as_of=AS_OF.replace(hour=13, minute=7))
    raw = selectors.raw_totals(organization=org, spec=CALLS, window=window, filters=Filters())
    assert normal(rolled(org, CALLS, window, Filters())) == normal(raw)


def test_the_intraday_refresh_waits_for_a_first_fill(org_a):
    assert statistics_refresh_hours(organization=org_a, family="insights", as_of=AS_OF) is None
    assert selectors.trust(org_a) == (None, None)


def direct_distinct(org, campaigns: set[int]) -> int:
    return (
        Touchpoint.objects.for_org(org)
        .filter(campaign_id__in=campaigns, lead__isnull=False)
        .aggregate(n=Count("lead_id", distinct=True))["n"]
    )


def test_distinct_leads_of_campaign_sets_from_stored_sets(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    trusted = selectors.trusted_through(selectors.fill_state(org))
    ids = sorted(Campaign.objects.for_org(org).values_list("id", flat=True))
    sets = {"all": set(ids), "odd": set(ids[1::2]), "one": {ids[0]}, "none": {-1}}
    expected = {name: direct_distinct(org, campaigns) for name, campaigns in sets.items()}
    assert expected["all"] > expected["odd"] > 0
    # every campaign's set is stored through the last filled day
    stored = CampaignLeadSet.objects.for_org(org)
    assert set(stored.values_list("through_day", flat=True)) == {trusted}
    with CaptureQueriesContext(connection) as queries:
        assert (
            selectors.distinct_leads_touched(organization=org, sets=sets, trusted_last_day=trusted)
            == expected
        )
    # the stored sets and the touchpoints since the last trusted day
    assert len(queries.captured_queries) == 2
    # without a trusted day: all live, the same numbers
    assert selectors.distinct_leads_touched(organization=org, sets=sets) == expected


def test_distinct_leads_stay_exact_when_touchpoints_change_before_a_rebuild(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    campaign = Campaign.objects.for_org(org).order_by("id").first()
    sets = {"one": {campaign.pk}}
    touches = Touchpoint.objects.for_org(org).filter(campaign=campaign, lead__isnull=False)
    before = direct_distinct(org, {campaign.pk})
    # a lead's only touch with the campaign goes (the admin delete marks its day stale)
    lead_id = (
        touches.values("lead_id").annotate(n=Count("id")).filter(n=1).values_list("lead_id", flat=True)[0]
    )
    gone = touches.get(lead_id=lead_id)
    gone.delete()
    statistics_mark_stale(Ingested(org.pk, "touchpoints", gone.occurred_at, gone.occurred_at, 1))
    # and a new lead is touched today
    fresh = Lead.objects.for_org(org).exclude(touchpoint__campaign=campaign).first()
    Touchpoint.objects.create(
        organization=org, external_id="fresh", lead=fresh, campaign=campaign, channel="sms", occurred_at=AS_OF
    )
    trusted = selectors.trusted_through(selectors.fill_state(org))
    got = selectors.distinct_leads_touched(organization=org, sets=sets, trusted_last_day=trusted)
    assert got == {"one": before} == {"one": direct_distinct(org, {campaign.pk})}
    # the refresh rewrites the campaign's set; the answer stays the same
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    trusted = selectors.trusted_through(selectors.fill_state(org))
    stored = CampaignLeadSet.objects.for_org(org).get(campaign=campaign)
    assert lead_id not in idset_unpack(stored.leads)
    assert fresh.pk not in idset_unpack(stored.leads)  # touched today: after the set's last day
    assert selectors.distinct_leads_touched(organization=org, sets=sets, trusted_last_day=trusted) == got


def test_the_send_time_grid_reads_whole_hours_where_a_utc_hour_is_one_local_hour(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    hours = selectors.trust(org)[1]
    for label in ("7d", "1y"):
        window = parse_range(label, as_of=AS_OF)
        live = send_time_counts(organization=org, window=window)
        with CaptureQueriesContext(connection) as queries:
            assert send_time_counts(organization=org, window=window, hours_until=hours) == live
        read_hours = any("insights_campaignhourlyrollup" in q["sql"] for q in queries.captured_queries)
        # Los Angeles is whole hours from UTC; Kolkata's UTC hours straddle two local hours
        assert read_hours is (org.timezone == "America/Los_Angeles")
    assert sum(cell["sent"] for cell in live.values()) > 100  # the year's


def test_whole_hour_offsets():
    window = parse_range("1y", as_of=AS_OF)
    assert whole_hour_offsets(zoneinfo.ZoneInfo("America/Los_Angeles"), window)
    assert not whole_hour_offsets(zoneinfo.ZoneInfo("Asia/Kolkata"), window)
    # Lord Howe Island: +10:30 in winter, +11 in summer
    assert not whole_hour_offsets(zoneinfo.ZoneInfo("Australia/Lord_Howe"), window)
    assert whole_hour_offsets(
        zoneinfo.ZoneInfo("Australia/Lord_Howe"), Window(AS_OF, AS_OF + dt.timedelta(days=7))
    )


def test_the_calls_by_local_hour_read_whole_hours_without_filters(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    hours = selectors.trust(org)[1]
    window = parse_range("90d", as_of=AS_OF)
    for filters in some_filters(org)[:2]:
        live = calls_by_local_hour(organization=org, window=window, filters=filters)
        with CaptureQueriesContext(connection) as queries:
            assert (
                calls_by_local_hour(organization=org, window=window, filters=filters, hours_until=hours)
                == live
            )
        read_hours = any("insights_callhourlytotal" in q["sql"] for q in queries.captured_queries)
        # the hour level has no region: a filtered read is all live
        assert read_hours is (org.timezone == "America/Los_Angeles" and filters == Filters())
        if filters == Filters():
            assert sum(cell["calls"] for cell in live.values()) > 100


def test_a_part_may_ask_for_some_measures_only(generated_org):
    org = generated_org
    statistics_refresh(organization=org, family="insights", as_of=AS_OF)
    trusted, hours = selectors.trust(org)
    year, month = parse_range("1y", as_of=AS_OF), parse_range("30d", as_of=AS_OF)
    with CaptureQueriesContext(connection) as queries:
        out = selectors.window_totals(
            organization=org,
            spec=LEADS,
            # overlapping parts: one filtered aggregate per part and measure it needs
            parts={"year": Part(year), "month": Part(month, measures=frozenset({"created"}))},
            filters=Filters(),
            trusted_last_day=trusted,
            hours_until=hours,
        )
    raw = {
        name: selectors.raw_totals(organization=org, spec=LEADS, window=w, filters=Filters())[None]
        for name, w in (("year", year), ("month", month))
    }
    assert normal({None: out["year"][None]}) == normal({None: raw["year"]})
    assert out["month"][None] == {"created": raw["month"]["created"]}
    assert raw["month"]["created"] > 0
    assert all(sql.count("p1_") == 1 for sql in (q["sql"] for q in queries.captured_queries) if "p1_" in sql)
