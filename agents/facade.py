"""What other apps may use of the agent analytics (STYLE.md: PostHog's facades).

The business-intelligence run (insights.bi) computes agent figures with the agents' own
definitions, so they equal the agent pages: it reads through these names only, and
tests/test_boundaries.py keeps it that way. Everything else in agents/ may change freely.
"""

from __future__ import annotations

from agents.metrics import AgentTotals, agent_kpis, funnel_payload
from agents.models import AgentDailyMetrics
from agents.selectors import (
    AGENT_LEADS,
    AGENT_SALES,
    RESPONDED,
    RESPONSE,
    agent_leads,
    fill_state,
    handled_in,
    ranked_agents,
)

__all__ = [
    "AGENT_LEADS",
    "AGENT_SALES",
    "RESPONDED",
    "RESPONSE",
    "AgentDailyMetrics",
    "AgentTotals",
    "agent_kpis",
    "agent_leads",
    "fill_state",
    "funnel_payload",
    "handled_in",
    "ranked_agents",
]
