"""The agent analytics pages on the hand-built history of tests/agents/factories.py.

Personas: agent_a (Alan, the history's agent), Bea (a second agent of org A, from the
history), manager_a and admin_a of org A, outsider (admin of org B).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents import analytics
from agents.models import AgentGoal
from agents.team import sort_rows, team_table
from core.stats.refresh import statistics_refresh
from crm.models import Role
from tests.agents.factories import AS_OF, at, build_history
from tests.factories import ActivityFactory, LeadFactory, MemberFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("agent-page")
TEAM = reverse("agent-team")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def history(org_a, agent_a):
    return build_history(org_a, agent_a)


@pytest.fixture
def bea(history):
    return history[0]


@pytest.fixture
def frozen():
    with time_machine.travel(AS_OF, tick=False):
        yield


def card(html: str, key: str) -> str:
    """The markup of one KPI card."""
    match = re.search(rf'<article[^>]*data-metric="{key}".*?</article>', html, re.S)
    assert match, f"no {key} card"
    return match.group(0)


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def get(client, member, url: str, data: dict | None = None, **headers):
    client.force_login(member)
    return client.get(url, data or {}, **headers)


# --- the agent page ---------------------------------------------------------------------------


def test_agent_page_shows_the_hand_computed_numbers(client, agent_a, history, frozen):
    # when
    response = get(client, agent_a, PAGE, {"range": "7d"})

    # then the cards show analytics.kpis for 7d (numbers worked out in tests/agents/test_api.py)
    assert response.status_code == 200
    html = response.content.decode()
    assert text_of(card(html, "leads")).startswith("Leads handled 5 ▲ +150.0% 5 this week")
    assert "20.0%" in card(html, "conversion")  # L1 of L1, L2, L3, L4, L7
    assert "KES 1,250.50" in card(html, "revenue")  # S1 1000.00 + S2 250.50
    assert "2.33 h" in card(html, "response")  # (2h + 4h + 1h) / 3
    assert "4.00 / 5" in card(html, "satisfaction")  # (5 + 3) / 2
    assert "2 ratings" in card(html, "satisfaction")
    assert "2nd of 2" in card(html, "ranking")  # Bea 0.65 > Alan 0.35
    assert re.search(r'data-testid="team-position">2nd of 2<', html)


@pytest.mark.parametrize(
    ("key", "arrow_and_text", "sense"),
    [
        ("leads", "▲ +150.0%", "good"),  # 5 against 2
        ("conversion", "▼ -30.0 pts", "bad"),  # a rate: 20% against 50% is 30 points down
        ("revenue", "▲ +150.1%", "good"),  # 1250.50 against 500
        # (2.33 - 3) / 3: faster than before, so the downward arrow is green
        ("response", "▼ -22.2%", "good"),
        ("satisfaction", "0.0%", "flat"),  # 4 against 4
        ("ranking", "▼ 1 place down", "bad"),  # 1st of 2 before, 2nd now
    ],
)
def test_trend_arrows_and_their_colours(client, agent_a, history, frozen, key, arrow_and_text, sense):
    html = get(client, agent_a, PAGE, {"range": "7d"}).content.decode()
    trend = re.search(
        r'<span class="trend trend--(\w+)" data-sense="\w+"[^>]*>([^<]*)</span>', card(html, key)
    )
    assert trend, card(html, key)
    assert (trend.group(1), trend.group(2).strip()) == (sense, arrow_and_text)


def test_agent_page_sections(client, agent_a, history, frozen):
    html = get(client, agent_a, PAGE, {"range": "7d"}).content.decode()
    # funnel chart from analytics.funnel: 5 -> 4 -> 2 -> 1
    assert '<figure class="chart chart--funnel">' in html
    assert re.search(r"Contact rate</dt><dd>80.0%", html)
    # lead sources with bars: Referrals has the most leads (2) and revenue (1000 of 1000)
    referrals = re.search(r'<tr data-source="Referrals">.*?</tr>', html, re.S).group(0)
    assert 'width="100.0%"' in referrals
    assert "50.0%" in referrals
    assert "1,000.00" in referrals
    assert "Revenue (KES)" in html
    assert 'data-source="Unknown"' in html  # S2 has no lead
    # revenue chart: local days 15..22 Nov, daily
    assert re.search(r'id="agent-revenue"[^>]*data-period="daily" data-points="8"', html)
    assert "Revenue per day, last 7 days" in html
    assert "18 Nov 2026: KES 1,000.00" in html  # best day
    # every section is there, and the stylesheet
    for marker in ('id="agent-timeline"', 'id="agent-goals"', "css/agents.css"):
        assert marker in html


def test_new_agent_sees_what_will_appear_and_why(client, org_a):
    newcomer = MemberFactory(email="new@acme.test", organization=org_a, role=Role.AGENT)

    response = get(client, newcomer, PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="agent-empty"' in html
    assert "No numbers for the last 30 days yet" in html
    assert "appear here as soon as" in html
    assert "Show the last 12 months" in html
    assert "No activity yet" in html
    assert "No goals for this month, quarter or year yet" in html
    assert 'data-metric="leads"' not in html  # no cards of dashes


def test_manager_on_own_page_sees_own_empty_numbers(client, manager_a, history):
    response = get(client, manager_a, PAGE)
    assert response.status_code == 200
    assert "My analytics" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"range": "2w"}, "Unknown time range “2w”"),
        ({"period": "hourly"}, "Unknown revenue period “hourly”"),
        ({"filter": "sms"}, "Unknown activity filter “sms”"),
        ({"cursor": "garbage"}, "“load more” link is broken"),
    ],
)
def test_bad_query_shows_the_page_with_a_message(client, agent_a, history, frozen, query, message):
    response = get(client, agent_a, PAGE, query)

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'data-testid="query-problems"' in html
    assert 'id="agent-revenue"' in html  # the page itself, with the defaults


# --- who may see what ---------------------------------------------------------------------------


def test_agent_cannot_open_another_agents_page(client, agent_a, bea):
    response = get(client, agent_a, reverse("agent-detail-page", args=[bea.pk]))
    assert response.status_code == 403
    assert "This page is not available to you" in response.content.decode()


@pytest.mark.parametrize("name", ["agent-detail-revenue", "agent-detail-timeline", "agent-detail-goals"])
def test_agent_cannot_use_another_agents_partials(client, agent_a, bea, name):
    assert get(client, agent_a, reverse(name, args=[bea.pk]), **HTMX).status_code == 403


def test_manager_opens_an_agent_of_own_org(client, manager_a, agent_a, history, frozen):
    response = get(client, manager_a, reverse("agent-detail-page", args=[agent_a.pk]), {"range": "7d"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Alan Agent" in html
    assert "KES 1,250.50" in card(html, "revenue")
    # the partials of that page are the agent's, not the manager's
    assert reverse("agent-detail-revenue", args=[agent_a.pk]) in html


def test_admin_opens_an_agent_of_own_org(client, admin_a, agent_a):
    assert get(client, admin_a, reverse("agent-detail-page", args=[agent_a.pk])).status_code == 200


def test_manager_gets_404_for_other_org_and_non_agents(client, manager_a, admin_a, outsider, org_b):
    other_agent = MemberFactory(email="agent@globex.test", organization=org_b, role=Role.AGENT)
    for member_id in (other_agent.pk, outsider.pk, admin_a.pk, 999_999):
        response = get(client, manager_a, reverse("agent-detail-page", args=[member_id]))
        assert response.status_code == 404, member_id
    assert get(client, outsider, reverse("agent-detail-page", args=[manager_a.pk])).status_code == 404


def test_anonymous_goes_to_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_nav_entries_by_role(client, agent_a, manager_a):
    agent_html = get(client, agent_a, PAGE).content.decode()
    assert f'href="{PAGE}" class="is-active" aria-current="page">My analytics' in agent_html
    assert f'href="{TEAM}"' not in agent_html
    manager_html = get(client, manager_a, PAGE).content.decode()
    assert f'href="{TEAM}"' in manager_html


# --- HTMX partials -------------------------------------------------------------------------------


def test_revenue_toggle_returns_only_the_chart(client, agent_a, history, frozen):
    # given a page loaded at ?range=30d&filter=calls, when "Weekly" is clicked
    response = get(
        client,
        agent_a,
        reverse("agent-revenue"),
        {"range": "30d", "period": "weekly"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{PAGE}?range=30d&period=daily&filter=calls",
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<section class="card agent-revenue" id="agent-revenue"')
    # 30d before 22 Nov 15:00 local: ISO weeks of 19 Oct, 26 Oct, 2 Nov, 9 Nov, 16 Nov
    assert 'data-period="weekly" data-points="5"' in html
    assert "Revenue per week, last 30 days" in html
    # the address bar keeps the timeline's filter; the range links follow out of band
    pushed = urlsplit(response["HX-Push-Url"])
    assert pushed.path == PAGE
    assert parse_qs(pushed.query) == {"range": ["30d"], "period": ["weekly"], "filter": ["calls"]}
    assert 'id="agent-ranges" aria-label="Time range" hx-swap-oob="true"' in html
    assert "range=7d&amp;period=weekly&amp;filter=calls" in html


def test_revenue_toggle_with_a_bad_period_is_a_400_fragment(client, agent_a):
    response = get(client, agent_a, reverse("agent-revenue"), {"period": "hourly"}, **HTMX)
    assert response.status_code == 400
    assert "Unknown revenue period" in response.content.decode()
    assert "<html" not in response.content.decode()


@pytest.fixture
def activities(org_a, agent_a):
    """25 calls and 3 e-mails, one a day from 1 Nov (newest last)."""
    for day in range(25):
        ActivityFactory(
            organization=org_a,
            agent=agent_a,
            external_id=f"C{day:02}",
            type="call",
            occurred_at=at(11, 1 + day % 20, 9, day),
            title=f"Call {day:02}",
        )
    for day in range(3):
        ActivityFactory(
            organization=org_a,
            agent=agent_a,
            external_id=f"E{day}",
            type="email",
            occurred_at=at(10, 1 + day, 9),
            title=f"E-mail {day}",
        )


def activity_ids(html: str) -> list[str]:
    return re.findall(r'data-activity="([^"]+)"', html)


def test_timeline_filter_tab_and_load_more(client, agent_a, activities):
    # the page shows the first 20 of 28, newest first, with "load more"
    page = get(client, agent_a, PAGE).content.decode()
    first = activity_ids(page)
    assert len(first) == analytics.TIMELINE_DEFAULT_LIMIT == 20
    more = re.search(r'hx-get="([^"]+cursor=[^"]+)"', page).group(1).replace("&amp;", "&")

    # when "load more" is clicked: only the next items and (none left) no button
    response = client.get(more, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith("<li")
    rest = activity_ids(html)
    assert len(rest) == 8
    assert not set(rest) & set(first)
    assert rest[-3:] == ["E2", "E1", "E0"]
    assert "Load more" not in html
    assert "HX-Push-Url" not in response

    # when the "Emails" tab is clicked: the whole timeline, e-mails only
    tab = client.get(reverse("agent-timeline"), {"filter": "emails"}, **HTMX)
    assert tab.status_code == 200
    assert "<html" not in tab.content.decode()
    assert activity_ids(tab.content.decode()) == ["E2", "E1", "E0"]
    assert 'data-filter="emails"' in tab.content.decode()
    assert parse_qs(urlsplit(tab["HX-Push-Url"]).query)["filter"] == ["emails"]


def test_timeline_load_more_pages_match_the_api(client, agent_a, activities):
    client.force_login(agent_a)
    api_first = client.get("/agent/analytics/activities?filter=calls").json()
    page = client.get(PAGE, {"filter": "calls"}).content.decode()
    assert activity_ids(page) == [a["id"] for a in api_first["activities"]]
    api_next = client.get(f"/agent/analytics/activities?filter=calls&cursor={api_first['nextCursor']}").json()
    more = client.get(
        reverse("agent-timeline"), {"filter": "calls", "cursor": api_first["nextCursor"]}, **HTMX
    ).content.decode()
    assert activity_ids(more) == [a["id"] for a in api_next["activities"]]


# --- goals --------------------------------------------------------------------------------------


def test_goal_form_creates_then_updates_a_goal(client, agent_a, history, frozen):
    client.force_login(agent_a)
    url = reverse("agent-goals")

    # when a first target is set
    created = client.post(url, {"period": "monthly", "conversions": "4"}, **HTMX)

    # then the goals partial comes back with its progress bar: 2 of 4 conversions in November
    assert created.status_code == 200
    html = created.content.decode()
    assert "<html" not in html
    assert "Goals saved." in html
    goal = re.search(r'<li class="goal" data-goal="monthly-conversions">.*?</li>', html, re.S).group(0)
    assert "50.0%" in goal
    assert 'width="50.0%"' in goal
    assert "2 of 4" in text_of(goal)
    assert AgentGoal.objects.get(agent=agent_a, goal_type="conversions").target == 4

    # when it is changed and a revenue target added (one goal exists, one does not)
    updated = client.post(url, {"period": "monthly", "conversions": "2", "revenue": "1500"}, **HTMX)

    # then both are saved: 2 of 2 conversions is achieved, revenue 1760.50 of 1500 is 117.4%
    html = updated.content.decode()
    assert updated.status_code == 200
    assert '<li class="goal goal--achieved" data-goal="monthly-conversions">' in html
    revenue = re.search(r'data-goal="monthly-revenue">.*?</li>', html, re.S).group(0)
    assert "117.4%" in revenue
    assert 'width="100.0%"' in revenue  # the bar stops at 100
    assert AgentGoal.objects.filter(agent=agent_a).count() == 2
    assert AgentGoal.objects.get(agent=agent_a, goal_type="conversions").target == 2
    # the form shows the period's current targets
    assert re.search(r'name="conversions" value="2"', html)


def test_goal_form_shows_service_errors_on_the_field(client, agent_a):
    client.force_login(agent_a)

    response = client.post(reverse("agent-goals"), {"period": "monthly", "revenue": "-5"}, **HTMX)

    assert response.status_code == 200  # HTMX swaps 2xx only: the form comes back with its errors
    html = response.content.decode()
    assert re.search(r'field--invalid">\s*<label for="id_revenue"', html)
    assert "The target must be zero or more." in html
    assert not AgentGoal.objects.exists()


def test_goal_form_needs_a_target(client, agent_a):
    client.force_login(agent_a)
    response = client.post(reverse("agent-goals"), {"period": "monthly"}, **HTMX)
    assert "Enter at least one target." in response.content.decode()


def test_goal_form_without_javascript(client, agent_a):
    client.force_login(agent_a)
    url = reverse("agent-goals")
    ok = client.post(url, {"period": "yearly", "revenue": "100"})
    assert ok.status_code == 302
    assert ok["Location"] == PAGE
    bad = client.post(url, {"period": "yearly", "revenue": "lots"})
    assert bad.status_code == 400
    assert "<html" in bad.content.decode()
    assert "Enter a number." in bad.content.decode()


def test_goal_period_switch_prefills_that_periods_targets(client, agent_a, frozen):
    client.force_login(agent_a)
    client.post(reverse("agent-goals"), {"period": "quarterly", "revenue": "9000"}, **HTMX)
    html = client.get(reverse("agent-goals"), {"period": "quarterly"}, **HTMX).content.decode()
    assert '<option value="quarterly" selected>' in html
    assert 'name="revenue" value="9000"' in html


def test_manager_sets_an_agents_goal(client, manager_a, agent_a):
    client.force_login(manager_a)
    url = reverse("agent-detail-goals", args=[agent_a.pk])
    assert client.post(url, {"period": "monthly", "conversions": "3"}, **HTMX).status_code == 200
    assert AgentGoal.objects.get().agent == agent_a


# --- query counts --------------------------------------------------------------------------------


def page_queries(client, url: str) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_agent_page_query_count_is_bounded_and_flat(
    client, org_a, agent_a, history, frozen, django_assert_max_num_queries
):
    client.force_login(agent_a)
    statistics_refresh(organization=org_a, family="agents", as_of=AS_OF)
    with django_assert_max_num_queries(30):
        client.get(PAGE, {"range": "30d"})
    small = page_queries(client, f"{PAGE}?range=30d")

    # given 30 more agents with leads, and more leads and activities for this one
    for i in range(30):
        other = MemberFactory(organization=org_a, role=Role.AGENT, email=f"extra{i}@acme.test")
        for j in range(3):
            LeadFactory(
                organization=org_a,
                assigned_agent=other,
                created_at=at(11, 10 + j),
                assigned_at=at(11, 10 + j),
                contacted_at=at(11, 11 + j),
            )
    for j in range(10):
        LeadFactory(
            organization=org_a,
            assigned_agent=agent_a,
            created_at=at(11, 5 + j),
            source=f"S{j}",
            assigned_at=at(11, 5 + j),
        )
        ActivityFactory(organization=org_a, agent=agent_a, occurred_at=at(11, 5 + j))
    statistics_refresh(organization=org_a, family="agents", as_of=AS_OF)

    # then the page needs no more queries
    assert page_queries(client, f"{PAGE}?range=30d") == small


def test_team_page_query_count_does_not_grow_with_agents(client, org_a, manager_a, history, frozen):
    client.force_login(manager_a)
    small = page_queries(client, TEAM)
    for i in range(20):
        MemberFactory(organization=org_a, role=Role.AGENT, email=f"more{i}@acme.test")
    assert page_queries(client, TEAM) == small


# --- the team page -------------------------------------------------------------------------------


def test_team_table_hand_computed(org_a, agent_a, manager_a, history):
    # when
    rows = {row.email: row for row in team_table(organization=org_a, range_value="7d", as_of=AS_OF)}

    # then one row per agent (not the manager), with the analytics.kpis numbers for 7d
    assert set(rows) == {"agent@acme.test", "bea@acme.test"}
    alan, bea = rows["agent@acme.test"], rows["bea@acme.test"]
    # Alan: L1, L2, L3, L4, L7; L1 converted; S1 + S2; (2 + 4 + 1) / 3 h; (5 + 3) / 2
    assert (alan.leads_handled, alan.conversion_rate, alan.total_revenue) == (5, 20.0, 1250.5)
    assert (alan.response_time_hours, alan.satisfaction_score, alan.rank) == (2.33, 4.0, 2)
    # Bea: L8 converted (contacted 1 h after assignment), S7 5000.00, no rating
    assert (bea.leads_handled, bea.conversion_rate, bea.total_revenue) == (1, 100.0, 5000.0)
    assert (bea.response_time_hours, bea.satisfaction_score, bea.rank) == (1.0, None, 1)


def test_team_table_agrees_with_the_agent_kpis(org_a, agent_a, history):
    rows = {row.agent_id: row for row in team_table(organization=org_a, range_value="30d", as_of=AS_OF)}
    kpis = analytics.kpis(organization=org_a, agent=agent_a, range_value="30d", as_of=AS_OF)["kpis"]
    row = rows[agent_a.pk]
    assert (row.leads_handled, row.conversion_rate, row.total_revenue, row.response_time_hours) == (
        kpis["leadsHandled"],
        kpis["conversionRate"],
        kpis["totalRevenue"],
        kpis["responseTimeHours"],
    )
    assert (row.satisfaction_score, row.rank) == (kpis["satisfactionScore"], kpis["teamRanking"])


def test_inactive_agents_are_listed_unranked(org_a, agent_a, history):
    MemberFactory(
        email="gone@acme.test", name="Gone Agent", organization=org_a, role=Role.AGENT, is_active_agent=False
    )
    rows = {row.email: row for row in team_table(organization=org_a, range_value="7d", as_of=AS_OF)}
    assert rows["gone@acme.test"].rank is None
    assert not rows["gone@acme.test"].ranked
    assert sort_rows(rows.values(), "rank")[-1].email == "gone@acme.test"
    assert sort_rows(rows.values(), "-rank")[-1].email == "gone@acme.test"


def team_order(html: str) -> list[str]:
    return re.findall(r'<tr data-agent="([^"]+)">', html)


ALAN, BEA = "agent@acme.test", "bea@acme.test"


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("rank", [BEA, ALAN]),
        ("-rank", [ALAN, BEA]),
        ("name", [ALAN, BEA]),  # Alan Agent, Bea Agent
        ("-name", [BEA, ALAN]),
        ("-leads", [ALAN, BEA]),  # 5, 1
        ("leads", [BEA, ALAN]),
        ("-conversion", [BEA, ALAN]),  # 100.0, 20.0
        ("-revenue", [BEA, ALAN]),  # 5000.00, 1250.50
        ("revenue", [ALAN, BEA]),
        ("response", [BEA, ALAN]),  # 1.0 h, 2.33 h
        ("-response", [ALAN, BEA]),
        ("-satisfaction", [ALAN, BEA]),  # 4.0, none (last either way)
        ("satisfaction", [ALAN, BEA]),
    ],
)
def test_team_page_sorts_by_each_column(client, manager_a, history, frozen, sort, order):
    response = get(client, manager_a, TEAM, {"range": "7d", "sort": sort})
    assert response.status_code == 200
    assert team_order(response.content.decode()) == order


def test_team_page_shows_numbers_rank_and_sort_links(client, manager_a, history, frozen):
    html = get(client, manager_a, TEAM, {"range": "7d"}).content.decode()
    alan = re.search(rf'<tr data-agent="{ALAN}">.*?</tr>', html, re.S).group(0)
    assert re.search(r'data-column="rank">2 <span class="muted small">of 2', alan)
    for value in ('data-column="leads">5<', "20.0%", "1,250.50", "2.33 h", "4.00"):
        assert value in alan
    # sorted by rank: its header says so, and a click on it reverses it
    assert re.search(r'aria-sort="ascending" class="num" data-column="rank"', html)
    assert "range=7d&amp;sort=-rank" in html
    # a first click on revenue sorts the best first
    assert "range=7d&amp;sort=-revenue" in html
    assert reverse("agent-detail-page", args=[history[0].pk]) in html


def test_team_table_partial_is_a_fragment(client, manager_a, history, frozen):
    response = get(
        client, manager_a, reverse("agent-team-table"), {"range": "7d", "sort": "-revenue"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="team-table"')
    assert team_order(html) == [BEA, ALAN]


def test_team_page_bad_sort_says_so(client, manager_a, history):
    response = get(client, manager_a, TEAM, {"sort": "height"})
    assert response.status_code == 400
    assert "Unknown sort column “height”" in response.content.decode()
    assert team_order(response.content.decode())  # the table, sorted by rank


def test_team_page_is_for_managers_and_admins(client, agent_a, manager_a, admin_a, outsider, history):
    assert get(client, agent_a, TEAM).status_code == 403
    assert get(client, agent_a, reverse("agent-team-table")).status_code == 403
    assert get(client, manager_a, TEAM).status_code == 200
    assert get(client, admin_a, TEAM).status_code == 200
    # another organization's admin sees their own (empty) team, nothing of org A
    html = get(client, outsider, TEAM).content.decode()
    assert "No agents yet" in html
    assert ALAN not in html


def test_team_page_of_an_organization_without_agents(client, db):
    org = OrganizationFactory(slug="empty", name="Empty Co")
    boss = MemberFactory(email="boss@empty.test", organization=org, role=Role.MANAGER)
    html = get(client, boss, TEAM).content.decode()
    assert "No agents yet" in html
