"""The /insights page, its HTMX partials and the admin: what the manager, the agent and the
outsider see, empty states, bad input, resolving and moving without a reload, tenancy.

The world is tests/insights/bi/factories_ui.py build_bi_world (numbers in test_api.py).
"""

from __future__ import annotations

import re
from unittest import mock

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from kombu.exceptions import OperationalError as BrokerError

from crm.models import AuditLog, Role
from insights.bi.models import BusinessInsight, InsightSettings, Opportunity, OpportunityStatusChange
from insights.bi.views import evidence_rows
from tests.factories import MemberFactory, OrganizationFactory
from tests.insights.bi.factories_ui import AS_OF, InsightFactory, OpportunityFactory, ago, build_bi_world

pytestmark = pytest.mark.django_db

PAGE = "/insights"
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/insights"}


@pytest.fixture(autouse=True)
def frozen():
    cache.clear()
    with time_machine.travel(AS_OF, tick=False):
        yield
    cache.clear()


@pytest.fixture
def bi(org_a, manager_a, agent_a, outsider):
    return build_bi_world(org_a, manager_a, agent_a, outsider)


def signed_in(member) -> Client:
    client = Client()
    client.force_login(member)
    return client


def html(response) -> str:
    return response.content.decode()


def card_html(text: str, insight) -> str:
    match = re.search(
        rf'<article class="card bi-insight[^"]*" id="insight-{insight.pk}".*?</article>', text, re.S
    )
    assert match, f"no card of insight {insight.pk}"
    return match.group(0)


# --- the page -------------------------------------------------------------------------------


def test_manager_sees_the_whole_organization(bi):
    response = signed_in(bi.manager).get(PAGE)
    assert response.status_code == 200
    text = html(response)
    # summary cards with their trends, green for good news and red for bad
    assert 'data-metric="conversionRate"' in text
    assert re.search(
        r'data-metric="revenue".*?KES 1,500\.00.*?trend--good" data-sense="good"[^>]*>▲ \+100\.0%', text, re.S
    )
    assert re.search(r'data-metric="conversionRate".*?33\.3%.*?▲ \+33\.3 pts', text, re.S)
    # more open insights than 30 days ago is bad news
    assert re.search(r'data-metric="openInsights".*?trend--bad[^>]*>▲ \+300\.0%', text, re.S)
    assert "1 high · 1 medium · 2 low" in text
    # the open insights, high before medium before low
    order = [text.index(bi.insights[k].title) for k in ("lead", "bea", "perf", "org")]
    assert order == sorted(order)
    assert bi.insights["old"].title not in text  # resolved: not in the default (open) list
    assert (
        text.index('data-priority="high"')
        < text.index('data-priority="medium"')
        < text.index('data-priority="low"')
    )
    # an insight's explanation, evidence (readable) and action items, lead and agent links
    card = card_html(text, bi.insights["bea"])
    assert "Days idle</dt><dd>9</dd>" in card
    assert "Expected value</dt><dd>4,500</dd>" in card
    assert "<li>Call the lead today</li>" in card
    assert f'href="/agents/{bi.bea.pk}/"' in card
    assert f"lead={bi.leads['L3'].pk}" in card
    assert "Otieno Motors" in card
    # the pipeline board: each column's count, estimated and weighted values
    assert re.search(
        r'data-testid="column-identified".*?column-count">2<.*?KES 1,400\.00.*?KES 900\.00', text, re.S
    )
    assert re.search(r'data-testid="column-lost".*?column-count">1<.*?KES 300\.00.*?KES 60\.00', text, re.S)
    assert "→ In progress" in text
    # both charts, and the manager's controls
    assert 'class="chart chart--bar"' in text
    assert 'class="chart chart--donut"' in text
    assert 'data-testid="refresh-now"' in text
    assert f'<option value="{bi.bea.email}"' in text
    assert "ZZ-B" not in text


def test_agent_sees_only_their_own_leads(bi):
    response = signed_in(bi.alan).get(PAGE)
    assert response.status_code == 200
    text = html(response)
    for key in ("lead", "perf"):
        assert bi.insights[key].title in text
    for hidden in (
        bi.insights["bea"].title,
        bi.insights["org"].title,
        "Bea",
        bi.bea.email,
        "Otieno",
        f"/agents/{bi.bea.pk}/",
        "Renewal of Otieno",
    ):
        assert hidden not in text, hidden
    assert "Your leads and opportunities" in text
    assert 'data-testid="refresh-now"' not in text  # a manager's button
    assert 'name="agent"' not in text  # no agent filter
    assert re.search(r'data-testid="column-identified".*?column-count">2<', text, re.S)
    assert re.search(r'data-testid="column-in_progress".*?column-count">0<', text, re.S)


def test_manager_looks_at_one_agent_and_agents_cannot(bi):
    text = html(signed_in(bi.manager).get(f"{PAGE}?agent={bi.alan.email}"))
    assert "Alan Agent's leads and opportunities" in text
    assert bi.insights["bea"].title not in text
    assert bi.insights["lead"].title in text
    assert signed_in(bi.alan).get(f"{PAGE}?agent={bi.bea.email}").status_code == 403
    assert signed_in(bi.manager).get(f"{PAGE}?agent={bi.outsider.email}").status_code == 404


def test_outsider_sees_nothing_of_organization_a(bi):
    client = signed_in(bi.outsider)
    text = html(client.get(PAGE))
    assert "ZZ-B-INSIGHT" in text
    assert "ZZ-B-OPPORTUNITY" in text
    for marker in ("Wanjiru", "Kamau", "Otieno", "Alan", "Bea", "Mia Manager"):
        assert marker not in text
    post = client.post(f"/insights/{bi.insights['lead'].pk}/resolve", {"note": "x"}, headers=HTMX)
    missing = client.post("/insights/999999/resolve", {"note": "x"}, headers=HTMX)
    assert post.status_code == missing.status_code == 404
    moved = client.post(
        f"/insights/opportunities/{bi.opportunities['alan'].pk}/status", {"status": "in_progress"}
    )
    assert moved.status_code == 404
    assert BusinessInsight.objects.get(pk=bi.insights["lead"].pk).resolved_at is None
    assert Opportunity.objects.get(pk=bi.opportunities["alan"].pk).status == "identified"


def test_anonymous_is_sent_to_the_login(bi):
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/insights")


def test_navigation_has_insights_for_everyone(bi):
    for member in (bi.manager, bi.alan):
        assert 'href="/insights" class="is-active" aria-current="page">Insights</a>' in html(
            signed_in(member).get(PAGE)
        )


# --- filters and pagination ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("type=missed_opportunity", ["lead"], ["bea", "perf", "org", "old"]),
        ("priority=low", ["perf", "org"], ["lead", "bea"]),
        ("resolved=true", ["old"], ["lead", "bea"]),
        ("resolved=all", ["old", "lead", "bea", "perf", "org"], []),
        ("agent=agent@acme.test", ["lead", "perf"], ["bea", "org"]),
    ],
)
def test_filters_in_the_query_string(bi, query, shown, hidden):
    text = html(signed_in(bi.manager).get(f"{PAGE}?{query}"))
    listed = text[text.index('id="bi-insight-list"') :]
    for key in shown:
        assert bi.insights[key].title in listed
    for key in hidden:
        assert bi.insights[key].title not in listed


def test_a_lead_link_shows_that_leads_insights(bi):
    text = html(signed_in(bi.manager).get(f"{PAGE}?lead={bi.leads['L1'].pk}&resolved=all"))
    assert 'data-testid="lead-filter"' in text
    listed = text[text.index('id="bi-insight-list"') :]
    assert bi.insights["old"].title in listed
    assert bi.insights["lead"].title not in listed


@pytest.mark.parametrize(
    "query", ["type=bogus", "priority=%00", "resolved=maybe", "lead=abc", "page=0", "page=x"]
)
def test_a_bad_filter_shows_the_default_view_with_the_problem(bi, query):
    response = signed_in(bi.manager).get(f"{PAGE}?{query}")
    assert response.status_code == 400
    text = html(response)
    assert 'data-testid="query-problem"' in text
    assert bi.insights["lead"].title in text  # the default view
    partial = signed_in(bi.manager).get(f"/insights/list?{query}", headers=HTMX)
    assert partial.status_code == 400


def test_pagination_swaps_the_list_alone(bi):
    for n in range(25):
        InsightFactory(
            organization=bi.org, priority="low", title=f"Extra insight {n:02d}", created_at=ago(3 + n / 24)
        )
    client = signed_in(bi.manager)
    text = html(client.get(PAGE))
    assert "Page 1 of 2 · 29 insights" in text
    assert 'hx-get="/insights/list?page=2"' in text
    response = client.get("/insights/list?page=2", headers=HTMX)
    assert response.status_code == 200
    partial = html(response)
    assert partial.lstrip().startswith('<div id="bi-insight-list"')
    assert "<html" not in partial
    assert "Page 2 of 2" in partial
    assert partial.count('data-testid="insight-card"') == 9  # 29 - 20
    assert response["HX-Push-Url"] == "/insights?page=2"


# --- empty states ---------------------------------------------------------------------------


def test_empty_organization_says_what_to_do(db):
    org = OrganizationFactory(slug="newco", name="New Co")
    manager = MemberFactory(email="m@newco.test", organization=org, role=Role.MANAGER)
    agent = MemberFactory(email="a@newco.test", organization=org, role=Role.AGENT)
    text = html(signed_in(manager).get(PAGE))
    assert "No insights yet" in text
    assert "generated nightly from your CRM activity" in text
    assert "python manage.py refresh_insights newco" in text
    assert "No opportunities yet" in text
    assert "No calls, e-mails, meetings or messages" in text
    assert "No leads" in text
    agent_text = html(signed_in(agent).get(PAGE))
    assert "ask a manager to refresh them now" in agent_text


def test_empty_after_filters_and_after_everything_was_resolved(bi):
    client = signed_in(bi.manager)
    assert "No insights match these filters" in html(
        client.get(f"{PAGE}?type=upsell_potential&priority=high")
    )
    BusinessInsight.objects.filter(organization=bi.org).update(resolved_at=ago(0.1), resolved_by=bi.manager)
    text = html(client.get(PAGE))
    assert "Nothing open: every insight has been acted on" in text
    assert 'href="/insights?resolved=true"' in text


# --- resolving and moving with HTMX -------------------------------------------------------------


def test_resolve_with_htmx_swaps_the_card_and_the_summary(bi):
    insight = bi.insights["lead"]
    client = signed_in(bi.manager)
    response = client.post(
        f"/insights/{insight.pk}/resolve", {"note": "Called, visit on Friday"}, headers=HTMX
    )
    assert response.status_code == 200
    text = html(response)
    assert text.lstrip().startswith(
        f'<article class="card bi-insight bi-insight--high is-resolved" id="insight-{insight.pk}"'
    )
    assert "Resolved by Mia Manager at 2026-11-22 15:00" in text  # Nairobi time
    assert "Called, visit on Friday" in text
    assert 'id="bi-summary"' in text
    assert 'hx-swap-oob="true"' in text
    assert "0 high · 1 medium · 2 low" in text
    insight.refresh_from_db()
    assert (insight.resolved_by, insight.resolution_note) == (bi.manager, "Called, visit on Friday")
    assert AuditLog.objects.filter(action="insight.resolve", object_id=str(insight.pk)).count() == 1

    again = client.post(f"/insights/{insight.pk}/resolve", {"note": "again"}, headers=HTMX)
    assert again.status_code == 200  # HTMX swaps only 2xx: the card says what happened
    assert "This insight was already resolved by Mia Manager at 2026-11-22 15:00 (Africa/Nairobi)." in html(
        again
    )
    insight.refresh_from_db()
    assert insight.resolution_note == "Called, visit on Friday"
    assert AuditLog.objects.filter(action="insight.resolve").count() == 1


def test_bad_notes_and_addresses_are_refused_not_server_errors(bi):
    client = signed_in(bi.manager)
    insight = bi.insights["lead"]
    for note in ("a\x00b", "x" * 2001):
        response = client.post(f"/insights/{insight.pk}/resolve", {"note": note}, headers=HTMX)
        assert response.status_code == 200
        assert 'data-testid="insight-notice"' in html(response)
    moved = client.post(
        f"/insights/opportunities/{bi.opportunities['alan'].pk}/status",
        {"status": "in_progress", "note": "\x00"},
        headers=HTMX,
    )
    assert "A note cannot contain NUL characters." in html(moved)
    assert BusinessInsight.objects.get(pk=insight.pk).resolved_at is None
    assert Opportunity.objects.get(pk=bi.opportunities["alan"].pk).status == "identified"
    assert client.get(f"{PAGE}?agent=x%00@acme.test").status_code == 404
    assert signed_in(bi.alan).get(f"{PAGE}?agent=x%00@acme.test").status_code == 403


def test_resolve_without_javascript_goes_back_to_the_page(bi):
    client = signed_in(bi.alan)
    response = client.post(f"/insights/{bi.insights['perf'].pk}/resolve", {"note": ""})
    assert response.status_code == 302
    assert response["Location"] == "/insights"
    assert "Resolved." in html(client.get(PAGE))
    hidden = client.post(f"/insights/{bi.insights['bea'].pk}/resolve", {"note": ""})
    assert hidden.status_code == 404


def test_status_change_with_htmx_swaps_the_board(bi):
    opportunity = bi.opportunities["alan"]
    client = signed_in(bi.manager)
    url = f"/insights/opportunities/{opportunity.pk}/status"
    response = client.post(url, {"status": "in_progress"}, headers=HTMX)
    assert response.status_code == 200
    text = html(response)
    assert text.lstrip().startswith('<section class="card bi-pipeline" id="bi-pipeline"')
    column = re.search(r'data-testid="column-in_progress".*?</section>', text, re.S).group(0)
    assert f'data-opportunity="{opportunity.pk}"' in column
    assert 'column-count">2<' in column  # with "bea"
    assert "→ Converted" in column
    assert "→ Lost" in column
    assert "moved to In progress" in text
    assert 'hx-swap-oob="true"' in text
    opportunity.refresh_from_db()
    assert opportunity.status == "in_progress"
    assert OpportunityStatusChange.objects.get(opportunity=opportunity).actor == bi.manager

    refused = client.post(url, {"status": "identified"}, headers=HTMX)
    assert refused.status_code == 200
    assert "This opportunity is in progress: it can move only to converted or lost." in html(refused)
    assert OpportunityStatusChange.objects.filter(opportunity=opportunity).count() == 1


def test_agents_move_their_own_opportunities_only(bi):
    client = signed_in(bi.alan)
    mine = client.post(
        f"/insights/opportunities/{bi.opportunities['lead'].pk}/status", {"status": "in_progress"}
    )
    assert mine.status_code == 302
    theirs = client.post(
        f"/insights/opportunities/{bi.opportunities['bea'].pk}/status", {"status": "converted"}
    )
    assert theirs.status_code == 404
    assert Opportunity.objects.get(pk=bi.opportunities["bea"].pk).status == "in_progress"


def test_a_manager_acting_for_one_agent_keeps_that_scope(bi):
    response = signed_in(bi.manager).post(
        f"/insights/opportunities/{bi.opportunities['alan'].pk}/status",
        {"status": "in_progress", "agent": bi.alan.email},
        headers=HTMX,
    )
    text = html(response)
    assert "Renewal of Otieno Motors" not in text  # Bea's, outside Alan's part
    assert f'<input type="hidden" name="agent" value="{bi.alan.email}">' in text


# --- refresh now ----------------------------------------------------------------------------


def test_refresh_now_queues_the_task_after_commit(bi, django_capture_on_commit_callbacks):
    client = signed_in(bi.manager)
    with (
        mock.patch("insights.bi.tasks_hook.current_app.send_task") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/insights/refresh", headers=HTMX)
    send.assert_called_once_with("insights.bi_refresh", args=[bi.org.pk])
    assert response.status_code == 200
    assert "Refresh queued" in html(response)
    assert "A refresh is queued." in html(client.get(PAGE))


def test_refresh_now_with_the_broker_down_says_so(bi):
    client = signed_in(bi.manager)
    # outside a test's transaction on_commit runs at once, so the view learns the outcome
    with (
        mock.patch("insights.bi.tasks_hook.transaction.on_commit", side_effect=lambda callback: callback()),
        mock.patch("insights.bi.tasks_hook.current_app.send_task", side_effect=BrokerError("down")),
    ):
        response = client.post("/insights/refresh")
    assert response.status_code == 302
    assert "The task queue is not reachable right now" in html(client.get(PAGE))


def test_refresh_now_is_for_managers(bi):
    with mock.patch("insights.bi.tasks_hook.current_app.send_task") as send:
        assert signed_in(bi.alan).post("/insights/refresh").status_code == 403
    send.assert_not_called()


# --- display and speed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("evidence", "rows"),
    [
        ({"score": 82, "days_idle": 9}, [("Score", "82"), ("Days idle", "9")]),
        (
            {"expectedValue": 4500.0, "dropShare": 0.625},
            [("Expected value", "4,500"), ("Drop share", "62.5%")],
        ),
        ({"topShare": 0.2, "share": 40.0}, [("Top share", "20%"), ("Share", "40")]),
        (
            {"sources": ["Web", "Ads"], "flag": True, "none": None},
            [("Sources", "Web, Ads"), ("Flag", "yes"), ("None", "—")],
        ),
        ({"window": {"from": "2026-11-01", "days": 14}}, [("Window", "From: 2026-11-01; Days: 14")]),
        ([1, 2], [("Evidence", "1, 2")]),
        ({}, []),
    ],
)
def test_evidence_is_shown_readably(evidence, rows):
    assert evidence_rows(evidence) == rows


def test_page_query_count_does_not_grow_with_the_data(bi):
    client = signed_in(bi.manager)

    def count() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(PAGE).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for n in range(30):
        InsightFactory(organization=bi.org, lead=bi.leads["L2"], agent=bi.bea, title=f"More {n}")
        OpportunityFactory(organization=bi.org, owner=bi.alan, lead=bi.leads["L1"])
    assert count() == small
    assert small <= 25


# --- admin ----------------------------------------------------------------------------------


def test_admin_is_scoped_to_the_admins_organization(bi, admin_a):
    client = signed_in(admin_a)
    listed = html(client.get("/admin/insights/businessinsight/"))
    assert bi.insights["lead"].title in listed
    assert "ZZ-B-INSIGHT" not in listed
    assert client.get(f"/admin/insights/businessinsight/{bi.insight_b.pk}/change/").status_code == 302
    assert "ZZ-B-OPPORTUNITY" not in html(client.get("/admin/insights/opportunity/"))
    assert client.get("/admin/insights/performancemetric/").status_code == 200


def test_admin_shows_the_status_history_and_acts_through_the_audited_actions(bi, admin_a):
    client = signed_in(admin_a)
    opportunity = bi.opportunities["alan"]
    response = client.post(
        "/admin/insights/opportunity/",
        {"action": "move_to_in_progress", "_selected_action": [opportunity.pk]},
    )
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.status == "in_progress"
    page = html(client.get(f"/admin/insights/opportunity/{opportunity.pk}/change/"))
    assert "Opportunity status changes" in page or "opportunity status change" in page.lower()
    assert "Ada Admin" in page
    client.post(
        "/admin/insights/businessinsight/", {"action": "resolve", "_selected_action": [bi.insights["org"].pk]}
    )
    assert AuditLog.objects.filter(action="insight.resolve", actor=admin_a).count() == 1


def test_admin_edits_thresholds_with_help_texts_and_an_audit_row(bi, admin_a):
    client = signed_in(admin_a)
    form = html(client.get("/admin/insights/insightsettings/add/"))
    assert "an open lead counts when its score is at least this" in form
    data = {
        name: value
        for name, value in {
            "missed_min_score": 70,
            "missed_idle_days": 5,
            "upsell_top_share": "0.20",
            "upsell_engagement_days": 30,
            "upsell_quiet_days": 90,
            "risk_window_days": 14,
            "risk_drop_share": "0.50",
            "response_goal_hours": 24,
            "trend_history_weeks": 8,
            "trend_z": "2.0",
            "performance_history_weeks": 12,
            "performance_z": "2.0",
            "renewal_notice_days": 30,
        }.items()
    }
    assert client.post("/admin/insights/insightsettings/add/", data).status_code == 302
    settings_row = InsightSettings.objects.get(organization=bi.org)
    assert settings_row.missed_idle_days == 5
    created = AuditLog.objects.get(action="insight_settings.create")
    assert created.after["missed_idle_days"] == "5"
    # one row per organization: no second "add"
    assert client.get("/admin/insights/insightsettings/add/").status_code == 403
    data["missed_idle_days"] = 10
    client.post(f"/admin/insights/insightsettings/{settings_row.pk}/change/", data)
    updated = AuditLog.objects.get(action="insight_settings.update")
    assert (updated.before, updated.after) == ({"missed_idle_days": "5"}, {"missed_idle_days": "10"})
