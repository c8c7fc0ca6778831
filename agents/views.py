"""The agent analytics pages and their HTMX partials (docs/agents.md). Thin: bind the query,
call agents.analytics (or agents.team), turn payloads into display records with
agents.charts, render the page or its named partial."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from agents import analytics, charts, team
from agents.forms import DashboardParams, DashboardQuery, GoalForm, TeamQuery
from core.tenancy import get_for_org_or_404
from crm.models import Member, Organization, Role
from crm.views import MANAGER_ROLES, org_page

PAGE = "agents/dashboard.html"


@dataclass(frozen=True)
class Subject:
    """Whose analytics a request is about, and the URLs of that agent's page and partials."""

    agent: Member
    own: bool  # /agent/ (the member themselves) rather than /agents/<id>/

    def url(self, name: str) -> str:
        if self.own:
            return reverse(f"agent-{name}")
        return reverse(f"agent-detail-{name}", args=[self.agent.pk])

    @property
    def urls(self) -> dict[str, str]:
        return {name: self.url(name) for name in ("page", "revenue", "timeline", "goals")}


AgentView = Callable[[HttpRequest, Organization, Subject], HttpResponse]


def agent_page(view: AgentView) -> Callable[..., HttpResponse]:
    """Serve `view` at /agent/... for the signed-in member (any role) and at
    /agents/<id>/... for managers and admins (agents get the 403 page), about an agent of
    their own organization only: another organization's id is a 404."""

    @org_page()
    def own(request: HttpRequest, organization: Organization) -> HttpResponse:
        return view(request, organization, Subject(agent=request.user, own=True))

    @org_page(roles=MANAGER_ROLES)
    def managed(request: HttpRequest, organization: Organization, agent_id: int) -> HttpResponse:
        agent = get_for_org_or_404(Member, organization, pk=agent_id, role=Role.AGENT)
        return view(request, organization, Subject(agent=agent, own=False))

    @wraps(view)
    def wrapper(request: HttpRequest, agent_id: int | None = None) -> HttpResponse:
        return own(request) if agent_id is None else managed(request, agent_id=agent_id)

    return wrapper


# --- context builders: payloads from agents.analytics, display records from agents.charts ---


def _revenue(organization: Organization, agent: Member, params: DashboardParams, now: dt.datetime) -> dict:
    payload = analytics.revenue_trend(
        organization=organization, agent=agent, period=params.period, range_value=params.range, as_of=now
    )
    return {
        "chart": charts.revenue_chart(payload, range_label=params.range_label),
        "insights": charts.revenue_insights(payload),
        "has_revenue": charts.has_revenue(payload),
        "period": payload["period"],
        "points": len(payload["data"]),
    }


def _timeline(organization: Organization, agent: Member, params: DashboardParams) -> dict:
    payload = analytics.activities(
        organization=organization,
        agent=agent,
        filter_name=params.filter,
        cursor=params.cursor or None,
        limit=analytics.TIMELINE_DEFAULT_LIMIT,
    )
    items = charts.timeline_items(payload, currency=organization.currency)
    cursor = payload["nextCursor"]
    return {
        "items": items,
        "next_cursor": cursor,
        "more_query": params.more_query(cursor) if cursor else "",
        "more_section_query": params.more_section_query(cursor) if cursor else "",
    }


def _goals(
    organization: Organization, agent: Member, now: dt.datetime, *, form: GoalForm | None, period: str
) -> dict:
    """The goals with progress bars, and the form: `form` when it has errors to show, else
    a fresh one showing `period`'s current targets."""
    payload = analytics.goals(organization=organization, agent=agent, as_of=now)
    return {
        "bars": charts.goal_bars(payload, currency=organization.currency),
        "form": form or GoalForm.prefilled(payload, period),
    }


def _dashboard(
    organization: Organization, subject: Subject, params: DashboardParams, goal_form: GoalForm | None = None
) -> dict:
    now, agent, currency = timezone.now(), subject.agent, organization.currency
    kpis = analytics.kpis(organization=organization, agent=agent, range_value=params.range, as_of=now)
    funnel = analytics.funnel(organization=organization, agent=agent, range_value=params.range, as_of=now)
    sources = analytics.lead_sources(
        organization=organization, agent=agent, range_value=params.range, as_of=now
    )
    return {
        "subject": subject,
        "params": params,
        "has_data": charts.has_window_data(kpis),
        "cards": charts.kpi_cards(kpis, currency=currency),
        "position": charts.team_position(kpis["kpis"]),
        "funnel_chart": charts.funnel_chart(funnel, range_label=params.range_label),
        "funnel_rates": funnel["conversionRates"],
        "sources": charts.source_rows(sources),
        "revenue": _revenue(organization, agent, params, now),
        "timeline": _timeline(organization, agent, params),
        "goals": _goals(organization, agent, now, form=goal_form, period="monthly"),
    }


# --- the agent page and its partials -----------------------------------------------------------


@require_GET
@agent_page
def dashboard(request: HttpRequest, organization: Organization, subject: Subject) -> HttpResponse:
    query = DashboardQuery(request.GET)
    context = {**_dashboard(organization, subject, query.params()), "problems": query.problems()}
    # A bad parameter still shows the page (with the defaults) and says what was wrong.
    return render(request, PAGE, context, status=400 if context["problems"] else 200)


def _section(request: HttpRequest, template: str, context: dict, *, push: bool) -> HttpResponse:
    """A re-rendered section; `push` puts the page's URL for the new state in the address bar
    (and the range links, sent out of band, follow it)."""
    response = render(request, template, {**context, "swap_extras": push})
    if push:
        response["HX-Push-Url"] = f"{context['subject'].url('page')}?{context['params'].query()}"
    return response


@require_GET
@agent_page
def revenue(request: HttpRequest, organization: Organization, subject: Subject) -> HttpResponse:
    """The revenue chart for ?period= (the daily / weekly / monthly toggle)."""
    query = DashboardQuery.for_section(request)
    if query.problems():
        return render(request, f"{PAGE}#problems", {"problems": query.problems()}, status=400)
    params = query.params()
    context = {"subject": subject, "params": params}
    context["revenue"] = _revenue(organization, subject.agent, params, timezone.now())
    return _section(request, f"{PAGE}#revenue", context, push=True)


@require_GET
@agent_page
def timeline(request: HttpRequest, organization: Organization, subject: Subject) -> HttpResponse:
    """A filter tab swaps the whole timeline; "load more" (?cursor=) only appends a page."""
    query = DashboardQuery.for_section(request)
    if query.problems():
        return render(request, f"{PAGE}#problems", {"problems": query.problems()}, status=400)
    params = query.params()
    context = {
        "subject": subject,
        "params": params,
        "timeline": _timeline(organization, subject.agent, params),
    }
    if params.cursor:
        return _section(request, f"{PAGE}#timeline-page", context, push=False)
    return _section(request, f"{PAGE}#timeline", context, push=True)


@require_http_methods(["GET", "POST"])
@agent_page
def goals(request: HttpRequest, organization: Organization, subject: Subject) -> HttpResponse:
    """GET ?period=: the goals and the form for that period. POST: set the targets, then
    the goals partial again (HTMX) or the page (a plain form post)."""
    now = timezone.now()
    form = GoalForm(request.POST) if request.method == "POST" else None
    saved = form is not None and form.save(agent=subject.agent, actor=request.user, as_of=now)
    failed = form is not None and not saved
    if not request.htmx and form is not None:
        if saved:
            return redirect(subject.url("page"))
        context = {**_dashboard(organization, subject, DashboardParams(), goal_form=form), "problems": []}
        return render(request, PAGE, context, status=400)
    period = form.cleaned_data["period"] if saved else request.GET.get("period", "monthly")
    context = {
        "subject": subject,
        "saved": saved,
        "goals": _goals(organization, subject.agent, now, form=form if failed else None, period=period),
    }
    return render(request, f"{PAGE}#goals", context)


# --- the team page -------------------------------------------------------------------------------


def _team(organization: Organization, request: HttpRequest) -> dict:
    query = TeamQuery(request.GET)
    params = query.params()
    rows = team.team_table(organization=organization, range_value=params.range, as_of=timezone.now())
    return {
        "params": params,
        "rows": team.sort_rows(rows, params.sort),
        "ranked": team.ranked_count(rows),
        "problems": query.problems(),
    }


@require_GET
@org_page(roles=MANAGER_ROLES)
def team_page(request: HttpRequest, organization: Organization) -> HttpResponse:
    context = _team(organization, request)
    return render(request, "agents/team.html", context, status=400 if context["problems"] else 200)


@require_GET
@org_page(roles=MANAGER_ROLES)
def team_table(request: HttpRequest, organization: Organization) -> HttpResponse:
    """The sortable table alone, swapped in by the header links."""
    context = _team(organization, request)
    return render(request, "agents/team.html#team-table", context, status=400 if context["problems"] else 200)
