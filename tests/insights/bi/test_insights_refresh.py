"""insights_refresh on hand-built histories (tests/insights/bi/factories.py, "detector world"):
the selectors' SQL, deduplication, re-raising, auto-resolution, settings, tenancy, time zones
and the query count. Organization A is in Africa/Nairobi (UTC+3), B in UTC.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import ActivityType, AuditLog, Direction
from insights.bi.models import BusinessInsight, InsightSettings, InsightType
from insights.bi.services import AUTO_RESOLUTION_NOTE, insight_settings_for, insights_refresh
from tests.factories import ActivityFactory, OrganizationFactory
from tests.insights.bi.factories import DETECTOR_AS_OF as AS_OF
from tests.insights.bi.factories import detector_world

T = InsightType
ONE_WORLD = {
    T.MISSED_OPPORTUNITY: 1,
    T.UPSELL_POTENTIAL: 1,
    T.CONVERSION_RISK: 2,
    T.ENGAGEMENT_TREND: 1,
    T.PERFORMANCE: 2,
}
# 12 reads (settings + 11 for the detectors) and, in the transaction, the savepoint, the
# organization lock, the open insights, the latest resolutions, the update, the insert, the
# auto-resolution, its audit rows and the release: 21 at most (measured 18 on a first run).
MAX_QUERIES = 21


def subjects(org, **filters) -> dict[tuple[str, str], BusinessInsight]:
    rows = BusinessInsight.objects.for_org(org).filter(**filters)
    return {(i.type, i.subject_key): i for i in rows}


@pytest.fixture
def world(org_a, agent_a):
    return detector_world(org_a, agent_a)


def test_one_world_gives_each_detector_its_findings(org_a, agent_a, world):
    # when
    report = insights_refresh(organization=org_a, as_of=AS_OF)
    # then
    assert report.created == ONE_WORLD
    leads, perf = world.leads, world.perf_agent
    found = subjects(org_a, resolved_at__isnull=True)
    assert set(found) == {
        (T.MISSED_OPPORTUNITY, f"lead:{leads['M1'].pk}"),
        (T.UPSELL_POTENTIAL, f"contact:{world.contacts['C1'].pk}"),
        (T.CONVERSION_RISK, f"lead:{leads['R1'].pk}"),
        (T.CONVERSION_RISK, f"lead:{leads['R3'].pk}"),
        (T.ENGAGEMENT_TREND, "source:Events:channel:email"),
        (T.PERFORMANCE, f"agent:{perf.pk}:conversion"),
        (T.PERFORMANCE, "source:Partners:conversion"),
    }


def test_missed_opportunity_row(org_a, agent_a, world):
    insights_refresh(organization=org_a, as_of=AS_OF)
    insight = BusinessInsight.objects.for_org(org_a).get(type=T.MISSED_OPPORTUNITY)
    assert insight.lead_id == world.leads["M1"].pk
    assert insight.agent_id == agent_a.pk
    # 1000 x 80 / 100
    assert insight.impact == Decimal("800.00")
    assert insight.evidence["idleDays"] == 10
    assert insight.condition_since == AS_OF - dt.timedelta(days=3)  # the call 10 days ago + 7
    assert (insight.created_at, insight.last_seen_at, insight.resolved_at) == (AS_OF, AS_OF, None)
    assert "KES 800.00" in insight.explanation


def test_upsell_risk_and_performance_rows(org_a, agent_a, world):
    insights_refresh(organization=org_a, as_of=AS_OF)
    upsell = BusinessInsight.objects.for_org(org_a).get(type=T.UPSELL_POTENTIAL)
    # 3 answered calls x 1 + 1 reply x 2; five customers (org B's never count)
    assert (upsell.evidence["engagementScore"], upsell.evidence["customers"]) == (5, 5)
    assert (upsell.contact_id, upsell.agent_id) == (world.contacts["C1"].pk, agent_a.pk)
    assert upsell.condition_since == AS_OF - dt.timedelta(days=20)  # the first call counted
    risks = {i.lead_id: i for i in BusinessInsight.objects.for_org(org_a).filter(type=T.CONVERSION_RISK)}
    r1, r3 = risks[world.leads["R1"].pk], risks[world.leads["R3"].pk]
    assert (r1.evidence["activitiesPrevious"], r1.evidence["activitiesCurrent"], r1.evidence["declined"]) == (
        4,
        0,
        True,
    )
    assert r1.condition_since == AS_OF - dt.timedelta(days=16)  # its last call
    assert (r3.evidence["waiting"], r3.evidence["waitedHours"]) == (True, 30.0)
    agent_perf = BusinessInsight.objects.for_org(org_a).get(
        subject_key=f"agent:{world.perf_agent.pk}:conversion"
    )
    # 0 of 14 in the last 30 days against 6 of 15 (40%) in every earlier window
    assert (agent_perf.evidence["current"], agent_perf.evidence["usualMean"]) == (0.0, 40.0)
    assert agent_perf.evidence["handledLeads"] == 14
    assert agent_perf.agent_id == world.perf_agent.pk
    assert agent_perf.priority == "high"


def test_trend_weeks_follow_the_organization_time_zone(org_a, agent_a, org_b, outsider, world):
    # given the same world in a UTC organization
    detector_world(org_b, outsider, copy=1)
    # when
    insights_refresh(organization=org_a, as_of=AS_OF)
    insights_refresh(organization=org_b, as_of=AS_OF)
    # then the 20 e-mails of Sun 8 Mar 21:30 UTC are Monday 9 Mar in Nairobi, Sunday in UTC
    nairobi = BusinessInsight.objects.for_org(org_a).get(type=T.ENGAGEMENT_TREND)
    utc = BusinessInsight.objects.for_org(org_b).get(type=T.ENGAGEMENT_TREND)
    assert nairobi.evidence["weeklyCounts"]["2026-03-09"] == 30
    assert nairobi.evidence["weeklyCounts"]["2026-03-02"] == 10
    assert "rose 200%" in nairobi.title
    assert nairobi.condition_since == dt.datetime(2026, 3, 15, 21, 0, tzinfo=dt.UTC)  # Mon 16 Mar 00:00 local
    assert utc.evidence["weeklyCounts"]["2026-03-09"] == 10
    assert utc.evidence["weeklyCounts"]["2026-03-02"] == 30
    # UTC: changes -20 | 20, 0 x 7: mean 2.5, sd sqrt(50) = 7.07, z = -22.5 / 7.07 = -3.18
    assert (utc.evidence["z"], utc.priority) == (-3.18, "medium")
    assert "fell 66.7%" in utc.title


def test_a_second_run_updates_never_duplicates(org_a, agent_a, world):
    first = insights_refresh(organization=org_a, as_of=AS_OF)
    before = subjects(org_a)
    # when: one day later, same data
    later = AS_OF + dt.timedelta(days=1)
    second = insights_refresh(organization=org_a, as_of=later)
    # then
    after = subjects(org_a)
    assert sum(second.created.values()) == 0
    assert second.updated[T.MISSED_OPPORTUNITY] == 1
    assert {k: v.pk for k, v in after.items()} == {k: v.pk for k, v in before.items()}
    missed = after[(T.MISSED_OPPORTUNITY, f"lead:{world.leads['M1'].pk}")]
    assert missed.evidence["idleDays"] == 11
    assert "11 days" in missed.title
    assert (missed.created_at, missed.updated_at, missed.last_seen_at) == (AS_OF, later, later)
    assert sum(first.created.values()) == BusinessInsight.objects.for_org(org_a).count() == 7


def test_resolved_is_raised_again_only_when_the_condition_reappears(org_a, agent_a, manager_a, world):
    # given M1's insight resolved by a manager an hour after the run
    insights_refresh(organization=org_a, as_of=AS_OF)
    key = f"lead:{world.leads['M1'].pk}"
    resolved_at = AS_OF + dt.timedelta(hours=1)
    BusinessInsight.objects.for_org(org_a).filter(subject_key=key, type=T.MISSED_OPPORTUNITY).update(
        resolved_at=resolved_at, resolved_by=manager_a, resolution_note="Called, no answer"
    )
    # when the lead is still idle the next day: its condition (since AS_OF - 3 days) is older
    report = insights_refresh(organization=org_a, as_of=AS_OF + dt.timedelta(days=1))
    # then it stays resolved, nothing new
    assert report.kept_resolved[T.MISSED_OPPORTUNITY] == 1
    assert report.created[T.MISSED_OPPORTUNITY] == report.reraised[T.MISSED_OPPORTUNITY] == 0
    rows = BusinessInsight.objects.for_org(org_a).filter(subject_key=key, type=T.MISSED_OPPORTUNITY)
    assert [(r.resolved_by_id, r.resolution_note) for r in rows] == [(manager_a.pk, "Called, no answer")]
    # when an agent calls two days later and the lead is idle again for 8 days
    ActivityFactory(
        organization=org_a,
        lead=world.leads["M1"],
        agent=agent_a,
        type=ActivityType.CALL,
        direction=Direction.OUTBOUND,
        occurred_at=AS_OF + dt.timedelta(days=2),
    )
    report = insights_refresh(organization=org_a, as_of=AS_OF + dt.timedelta(days=10))
    # then a new insight is raised (since the call + 7 days = AS_OF + 9 days > the resolution)
    assert report.reraised[T.MISSED_OPPORTUNITY] == 1
    rows = list(BusinessInsight.objects.for_org(org_a).filter(subject_key=key, type=T.MISSED_OPPORTUNITY))
    assert len(rows) == 2
    new = next(r for r in rows if r.resolved_at is None)
    assert new.condition_since == AS_OF + dt.timedelta(days=9)
    assert new.created_at == AS_OF + dt.timedelta(days=10)


def test_a_condition_gone_is_resolved_by_the_system_and_audited(org_a, agent_a, world):
    insights_refresh(organization=org_a, as_of=AS_OF)
    insight = BusinessInsight.objects.for_org(org_a).get(type=T.MISSED_OPPORTUNITY)
    # given the lead is called
    ActivityFactory(
        organization=org_a,
        lead=world.leads["M1"],
        agent=agent_a,
        type=ActivityType.CALL,
        direction=Direction.OUTBOUND,
        occurred_at=AS_OF + dt.timedelta(minutes=30),
    )
    # when
    report = insights_refresh(organization=org_a, as_of=AS_OF + dt.timedelta(hours=1))
    # then
    assert report.auto_resolved == {**dict.fromkeys(T.values, 0), T.MISSED_OPPORTUNITY: 1}
    insight.refresh_from_db()
    assert insight.resolved_at == AS_OF + dt.timedelta(hours=1)
    assert insight.resolved_by_id is None
    assert insight.resolution_note == AUTO_RESOLUTION_NOTE
    audit = AuditLog.objects.for_org(org_a).get(action="insight.auto_resolve")
    assert (audit.object_type, audit.object_id, audit.actor_id, audit.actor_label) == (
        "BusinessInsight",
        str(insight.pk),
        None,
        "system",
    )
    assert audit.before["resolved_at"] is None
    assert audit.after["resolution_note"] == AUTO_RESOLUTION_NOTE
    # the others are still open
    assert BusinessInsight.objects.for_org(org_a).filter(resolved_at__isnull=True).count() == 6


def test_the_organization_settings_change_the_outcome(org_a, agent_a, world):
    # M1 is idle 10 days with score 80; the trend's z is 20
    InsightSettings.objects.create(organization=org_a, missed_idle_days=14, trend_z=Decimal("25"))
    report = insights_refresh(organization=org_a, as_of=AS_OF)
    assert report.created == {**ONE_WORLD, T.MISSED_OPPORTUNITY: 0, T.ENGAGEMENT_TREND: 0}
    InsightSettings.objects.for_org(org_a).update(missed_idle_days=7, missed_min_score=85)
    assert insights_refresh(organization=org_a, as_of=AS_OF).created[T.MISSED_OPPORTUNITY] == 0
    InsightSettings.objects.for_org(org_a).update(missed_min_score=80)
    assert insights_refresh(organization=org_a, as_of=AS_OF).created[T.MISSED_OPPORTUNITY] == 1


def test_settings_default_to_an_unsaved_row(org_a):
    settings = insight_settings_for(org_a)
    assert settings.pk is None
    assert (settings.missed_idle_days, settings.organization_id) == (7, org_a.pk)
    saved = InsightSettings.objects.create(organization=org_a, missed_idle_days=3)
    assert insight_settings_for(org_a).pk == saved.pk


def test_another_organizations_data_never_produces_or_touches_insights(
    org_a, agent_a, org_b, outsider, world
):
    # given org A's insights, and org B with its own data
    insights_refresh(organization=org_a, as_of=AS_OF)
    a_rows = {i.pk: (i.updated_at, i.resolved_at) for i in BusinessInsight.objects.for_org(org_a)}
    detector_world(org_b, outsider, copy=1)
    # when org B runs (one day later), and org A again
    report_b = insights_refresh(organization=org_b, as_of=AS_OF + dt.timedelta(days=1))
    # then org A's insights are untouched and org B's are about org B's rows only
    assert {i.pk: (i.updated_at, i.resolved_at) for i in BusinessInsight.objects.for_org(org_a)} == a_rows
    assert sum(report_b.auto_resolved.values()) == 0
    b_leads = {i.lead_id for i in BusinessInsight.objects.for_org(org_b) if i.lead_id}
    assert b_leads
    assert all(lead_id not in {lead.pk for lead in world.leads.values()} for lead_id in b_leads)
    report_a = insights_refresh(organization=org_a, as_of=AS_OF)
    assert sum(report_a.created.values()) == 0
    assert BusinessInsight.objects.for_org(org_a).count() == 7


def test_an_organization_without_data_gets_nothing(org_a):
    report = insights_refresh(organization=org_a, as_of=AS_OF)
    assert report.open_total == 0
    assert not BusinessInsight.objects.for_org(org_a).exists()


def _count_queries(org) -> int:
    with CaptureQueriesContext(connection) as captured:
        insights_refresh(organization=org, as_of=AS_OF)
    return len(captured.captured_queries)


def test_query_count_does_not_grow_with_the_data(org_a, agent_a, world, django_assert_max_num_queries):
    # given one world in A and two in another Nairobi organization
    single = _count_queries(org_a)
    org_c = OrganizationFactory(slug="initech", timezone="Africa/Nairobi", currency="KES")
    from tests.factories import MemberFactory

    agent_c = MemberFactory(email="agent@initech.test", organization=org_c)
    detector_world(org_c, agent_c, copy=1)
    detector_world(org_c, agent_c, copy=2)
    # then the first run of each makes the same number of queries
    with django_assert_max_num_queries(single):
        insights_refresh(organization=org_c, as_of=AS_OF)
    # both copies share the Partners source and the Events series: 2 x 7 - 2
    assert BusinessInsight.objects.for_org(org_c).count() == 12
    assert single <= MAX_QUERIES
    # and a re-run (updates instead of inserts) too
    with django_assert_max_num_queries(single):
        insights_refresh(organization=org_c, as_of=AS_OF)
