"""What other apps may use of the agent analytics (STYLE.md: PostHog's facades).

The business-intelligence run (insights.bi) computes agent figures with the agents' own
definitions, so they equal the agent pages: it reads through these names only, and
tests/test_boundaries.py keeps it that way. Everything else in agents/ may change freely.
"""

from __future__ import annotations

from agents.metrics import AgentTotals, agent_kpis, funnel_payload
from agents.models import AgentDailyMetrics
from agents.selectors import (
    RESPONDED,
    RESPONSE,
    agent_leads,
    agent_sales,
    fill_state,
    handled_in,
    lead_aggregates,
    micros,
    ranked_agents,
    sale_aggregates,
)

__all__ = [
    "RESPONDED",
    "RESPONSE",
    "AgentDailyMetrics",
    "AgentTotals",
    "agent_kpis",
    "agent_leads",
    "agent_sales",
    "fill_state",
    "funnel_payload",
    "handled_in",
    "lead_aggregates",
    "micros",
    "ranked_agents",
    "sale_aggregates",
]
