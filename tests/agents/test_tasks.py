"""Agent jobs: the refresh builds the daily rows, records goals achieved once, and the
ranking job caches rankings; the timeline shows the achievement."""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache

from agents import analytics, tasks
from agents.models import AgentDailyMetrics, AgentGoal
from agents.services import goals_record_achievements, goals_set
from core import tasks as core_tasks
from core.models import FillState
from core.timeranges import parse_range
from tests.agents.factories import AS_OF, build_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(org_a, agent_a):
    cache.clear()
    return build_history(org_a, agent_a)


def test_refresh_task_builds_rows_and_records_goals_once(history, org_a, agent_a, api_client_for):
    # given November goals: revenue 1,500 (1,760.50 reached) and conversions 4 (2 reached)
    goals_set(
        agent=agent_a,
        period="monthly",
        goals={"revenue": 1500, "conversions": 4},
        actor=agent_a,
        as_of=AS_OF,
        create=True,
    )
    # when the nightly refresh runs (twice)
    with time_machine.travel(AS_OF, tick=False):
        core_tasks.refresh_statistics(org_a.pk, "agents", AS_OF.isoformat())
        first_achieved = AgentGoal.objects.get(goal_type="revenue").achieved_at
        core_tasks.refresh_statistics(org_a.pk, "agents", AS_OF.isoformat())
    # then the daily rows reach yesterday (21 Nov local), and only revenue is achieved, once
    state = FillState.objects.for_org(org_a).filter(family="agents").get()
    assert state.filled_through.isoformat() == "2026-11-21"
    # agent_a's local days up to 21 Nov: leads on 10, 12, 16, 17, 20, 21 Nov; sales on 5 Oct,
    # 25 Oct, 1 Nov (S6), 9 Nov (S3), 18 Nov -> 11 rows (L7 and S2 are today, live only)
    assert AgentDailyMetrics.objects.for_org(org_a).filter(agent=agent_a).count() == 11
    assert first_achieved == AS_OF
    assert AgentGoal.objects.get(goal_type="revenue").achieved_at == first_achieved
    assert AgentGoal.objects.get(goal_type="conversions").achieved_at is None
    assert goals_record_achievements(organization=org_a, as_of=AS_OF) == 0
    # and the timeline shows it among the activities
    body = api_client_for(agent_a).get("/agent/analytics/activities?filter=conversions").json()
    assert body["activities"][0]["type"] == "goal_achieved"
    assert body["activities"][0]["description"] == "Monthly revenue goal of 1500 reached"


def test_ranking_job_caches_every_offered_range(history, org_a, agent_a):
    with time_machine.travel(AS_OF, tick=False):
        tasks.refresh_rankings(org_a.pk, AS_OF.isoformat())
        for label in tasks.RANKED_RANGES:
            window = parse_range(label, as_of=AS_OF)
            cached = cache.get(analytics._ranking_key(org_a, window))
            assert cached is not None, label
            assert cached.size == 2
        assert (
            cache.get(analytics._ranking_key(org_a, parse_range("7d", as_of=AS_OF))).position_of(agent_a.pk)
            == 2
        )
