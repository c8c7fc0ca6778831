"""The agent analytics pages (docs/agents.md). The JSON API is agents/api_urls.py.

Every section of the agent page has an HTMX endpoint twice: under /agent/ for the signed-in
member and under /agents/<id>/ for managers (agents.views.agent_page picks the subject).
"""

from django.urls import path

from agents import views

urlpatterns = [
    path("agent/", views.dashboard, name="agent-page"),
    path("agent/revenue/", views.revenue, name="agent-revenue"),
    path("agent/timeline/", views.timeline, name="agent-timeline"),
    path("agent/goal-targets/", views.goals, name="agent-goals"),
    path("agents/team/", views.team_page, name="agent-team"),
    path("agents/team/table/", views.team_table, name="agent-team-table"),
    path("agents/<int:agent_id>/", views.dashboard, name="agent-detail-page"),
    path("agents/<int:agent_id>/revenue/", views.revenue, name="agent-detail-revenue"),
    path("agents/<int:agent_id>/timeline/", views.timeline, name="agent-detail-timeline"),
    path("agents/<int:agent_id>/goal-targets/", views.goals, name="agent-detail-goals"),
]
