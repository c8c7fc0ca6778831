"""Team ranking, table-driven with hand-computed scores (no database)."""

import pytest

from agents.ranking import AgentScoreInput, team_ranking


def agent(agent_id, email, conversion, satisfaction, response):
    return AgentScoreInput(agent_id, email, conversion, satisfaction, response)


def test_weighted_min_max_scores():
    # conversion 20/50/80 -> 0, .5, 1; satisfaction 3/4/5 -> 0, .5, 1; response 1h/2h/3h -> 1, .5, 0
    ranked = team_ranking(
        [
            agent(1, "a@x", 20.0, 5.0, 3.0),  # .40*0 + .35*1 + .25*0 = 0.35
            agent(2, "b@x", 50.0, 4.0, 2.0),  # .40*.5 + .35*.5 + .25*.5 = 0.5
            agent(3, "c@x", 80.0, 3.0, 1.0),  # .40*1 + .35*0 + .25*1 = 0.65
        ]
    )
    assert [(r.agent_id, r.rank, r.score) for r in ranked] == [(3, 1, 0.65), (2, 2, 0.5), (1, 3, 0.35)]


def test_missing_satisfaction_counts_zero():
    ranked = team_ranking(
        [
            agent(1, "a@x", 50.0, None, 2.0),  # .40*1 + 0 + .25*1 = 0.65 (others: equal values -> 1)
            agent(2, "b@x", 50.0, 4.0, 2.0),  # .40*1 + .35*1 + .25*1 = 1.0
        ]
    )
    assert [(r.agent_id, r.score) for r in ranked] == [(2, 1.0), (1, 0.65)]


def test_identical_agents_are_ordered_by_email():
    ranked = team_ranking(
        [
            agent(1, "zed@x", 10.0, 5.0, 4.0),  # .40*0 + .35*1 + .25*0 = .35
            agent(2, "amy@x", 10.0, 5.0, 4.0),  # identical to zed: .35, same conversion
            agent(3, "bob@x", 50.0, 3.0, 1.0),  # .40*1 + .35*0 + .25*1 = .65
        ]
    )
    assert [r.email for r in ranked] == ["bob@x", "amy@x", "zed@x"]
    assert [r.rank for r in ranked] == [1, 2, 3]


def test_equal_score_higher_conversion_wins():
    ranked = team_ranking(
        [
            agent(1, "a@x", 0.0, 5.0, None),  # conv 0 -> 0, sat 1 -> .35
            agent(2, "b@x", 87.5, 3.0, None),  # conv 87.5/100 = .875 -> .40*.875 = .35, sat 0
            agent(3, "c@x", 100.0, None, None),  # conv 1 -> .40
        ]
    )
    # a and b tie at .35; b has the higher conversion rate, so it ranks first despite the e-mail
    assert [(r.agent_id, r.rank, r.score) for r in ranked] == [(3, 1, 0.4), (2, 2, 0.35), (1, 3, 0.35)]


@pytest.mark.parametrize("agents", [[], [agent(1, "solo@x", None, None, None)]])
def test_degenerate_teams(agents):
    ranked = team_ranking(agents)
    assert [r.rank for r in ranked] == list(range(1, len(agents) + 1))
    assert all(r.score == 0.0 for r in ranked)


def test_single_agent_with_data_scores_full():
    assert team_ranking([agent(1, "solo@x", 12.0, 4.0, 1.5)])[0].score == 1.0
