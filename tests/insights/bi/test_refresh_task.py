"""The business-intelligence run: the task (called directly, as STYLE.md says; a real worker
runs it in tests/system), its progress state, the command and the beat schedule."""

from __future__ import annotations

import io

import pytest
import time_machine
from django.core.management import CommandError, call_command

from insights import tasks
from insights.bi import refresh
from insights.bi.models import BusinessInsight, Opportunity, PerformanceMetric
from tests.factories import OrganizationFactory
from tests.insights.bi.factories import DETECTOR_AS_OF, detector_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org_a, agent_a):
    return detector_world(org_a, agent_a)


def _state(org):
    return {
        "insights": sorted(
            BusinessInsight.objects.for_org(org).values_list("type", "subject_key", "resolved_at")
        ),
        "opportunities": sorted(
            Opportunity.objects.for_org(org).values_list("type", "subject_key", "confidence")
        ),
        "metrics": PerformanceMetric.objects.for_org(org).count(),
    }


def test_run_fills_all_three_and_reports_done(world, org_a):
    # when the task runs for the organization
    reports = tasks.bi_refresh_task(org_a.pk, DETECTOR_AS_OF.isoformat())

    # then every generator ran, wrote rows, and the page can read that it is done
    assert list(reports) == ["performance", "insights", "opportunities"]
    assert PerformanceMetric.objects.for_org(org_a).exists()
    assert BusinessInsight.objects.for_org(org_a).filter(resolved_at__isnull=True).exists()
    status = refresh.refresh_status(org_a.pk)
    assert status["state"] == "done"
    assert status["finished_at"] == DETECTOR_AS_OF.isoformat()
    assert refresh.totals(reports["insights"])["created"] == BusinessInsight.objects.for_org(org_a).count()


def test_run_twice_changes_nothing(world, org_a):
    tasks.bi_refresh_task(org_a.pk, DETECTOR_AS_OF.isoformat())
    first = _state(org_a)

    second_reports = tasks.bi_refresh_task(org_a.pk, DETECTOR_AS_OF.isoformat())

    assert _state(org_a) == first
    assert refresh.totals(second_reports["insights"])["created"] == 0
    assert refresh.totals(second_reports["opportunities"])["created"] == 0


def test_other_organizations_are_untouched(world, org_a, org_b):
    tasks.bi_refresh_task(org_a.pk, DETECTOR_AS_OF.isoformat())

    assert not BusinessInsight.objects.for_org(org_b).exists()
    assert not Opportunity.objects.for_org(org_b).exists()
    assert refresh.refresh_status(org_b.pk) is None


def test_a_failing_step_is_recorded_for_the_page(world, org_a, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("detector bug")

    monkeypatch.setattr("insights.bi.services.insights_refresh", broken)

    with pytest.raises(RuntimeError):
        tasks.bi_refresh_task(org_a.pk, DETECTOR_AS_OF.isoformat())

    assert refresh.refresh_status(org_a.pk) == {"state": "failed", "error": "RuntimeError"}
    # the step before it (performance series) kept its rows: each step commits on its own
    assert PerformanceMetric.objects.for_org(org_a).exists()


def test_nightly_fan_out_queues_one_run_per_organization(org_a, org_b, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.bi_refresh_task, "delay", lambda org_id, as_of: queued.append((org_id, as_of)))

    count = tasks.bi_refresh_all("2026-03-18T02:15:00+00:00")

    assert count == 2
    assert sorted(queued) == sorted(
        [(org_a.pk, "2026-03-18T02:15:00+00:00"), (org_b.pk, "2026-03-18T02:15:00+00:00")]
    )


def test_command_runs_now_and_says_what_it_did(world, org_a):
    out = io.StringIO()
    with time_machine.travel(DETECTOR_AS_OF, tick=False):
        call_command("refresh_insights", org_a.slug, stdout=out)

    text = out.getvalue()
    assert "insights: created" in text
    assert "opportunities:" in text
    assert "up to date" in text
    assert BusinessInsight.objects.for_org(org_a).exists()


def test_command_refuses_an_unknown_organization():
    OrganizationFactory(slug="known")
    with pytest.raises(CommandError, match="No organization with slug 'nope'"):
        call_command("refresh_insights", "nope")
