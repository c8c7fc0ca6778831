"""The /insights page and its HTMX partials (docs/insights.md). Thin: bind the query, resolve
the scope (insights.bi.reads: agents see their own leads' insights and opportunities,
managers and admins the organization or one agent with ?agent=), call the reads or one
action, turn values into display records, render the page or a named partial."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.display import POINTS
from core.display import trend as display_trend
from crm.models import Organization
from crm.views import MANAGER_ROLES, org_page
from insights.bi import actions, reads, refresh, tasks_hook
from insights.bi.models import InsightType, OpportunityStatus, Priority
from reports.charts import BarChart, DonutChart, Point, Series, ValueFormat

PAGE = "insights/bi/insights.html"
INSIGHTS_PER_PAGE = 20
BOARD_PER_COLUMN = 12
RESOLVED_CHOICES = {"false": "Open", "true": "Resolved", "all": "All"}


# --- the query string -----------------------------------------------------------------------


@dataclass(frozen=True)
class PageQuery:
    """?type=&priority=&resolved=false|true|all&lead=&agent=&page=; the page shows open
    insights unless asked otherwise."""

    type: str = ""
    priority: str = ""
    resolved: str = "false"
    lead: str = ""
    agent: str = ""
    page: int = 1

    def filters(self) -> reads.InsightFilters:
        values = {
            "type": self.type,
            "priority": self.priority,
            "lead": self.lead,
            "resolved": "" if self.resolved == "all" else self.resolved,
        }
        return reads.parse_insight_filters(values)

    def query(self, **changes: object) -> str:
        chosen = replace(self, **changes)
        values = {
            "type": chosen.type,
            "priority": chosen.priority,
            "lead": chosen.lead,
            "agent": chosen.agent,
            "resolved": "" if chosen.resolved == "false" else chosen.resolved,
            "page": "" if chosen.page == 1 else chosen.page,
        }
        return urlencode({k: v for k, v in values.items() if v})

    @property
    def filtered(self) -> bool:
        return bool(self.type or self.priority or self.lead or self.resolved != "false")


def parse_page_query(params: QueryDict) -> tuple[PageQuery, dict | None]:
    """The valid query, or the defaults (keeping the scope's agent) and the problem."""
    agent = params.get("agent", "")
    query = PageQuery(
        type=params.get("type", ""),
        priority=params.get("priority", ""),
        resolved=params.get("resolved") or "false",
        lead=params.get("lead", ""),
        agent=agent,
    )
    page = params.get("page") or "1"
    try:
        if query.resolved not in RESOLVED_CHOICES:
            raise reads.FilterError("resolved", "Use false (open), true (resolved) or all.")
        if not (page.isascii() and page.isdigit() and len(page) <= 6 and int(page) >= 1):
            raise reads.FilterError("page", "Use a page number.")
        query.filters()
    except reads.FilterError as exc:
        return PageQuery(agent=agent), {"field": exc.field, "message": str(exc)}
    return replace(query, page=int(page)), None


# --- display records ------------------------------------------------------------------------


def summary_cards(summary: dict, currency: str) -> list[dict]:
    money = ValueFormat.money(currency)
    insights, pipeline = summary["openInsights"], summary["openPipeline"]
    by_priority = " · ".join(f"{insights['byPriority'][p]} {p}" for p in Priority.values)
    return [
        {
            "key": "conversionRate",
            "label": "Lead conversion",
            "value": summary["conversionRate"]["value"],
            "format": ValueFormat("percent"),
            "trend": display_trend(summary["conversionRate"]["change"], unit=POINTS),
            "note": "of the leads created in 30 days",
        },
        {
            "key": "revenue",
            "label": "Revenue",
            "value": summary["revenue"]["value"],
            "format": money,
            "trend": display_trend(summary["revenue"]["change"]),
            "note": "sales closed in 30 days",
        },
        {
            "key": "calls",
            "label": "Calls",
            "value": summary["calls"]["value"],
            "format": ValueFormat("integer"),
            "trend": display_trend(summary["calls"]["change"]),
            "note": "in 30 days",
        },
        {
            "key": "openInsights",
            "label": "Open insights",
            "value": insights["value"],
            "format": ValueFormat("integer"),
            "trend": display_trend(insights["change"], lower_is_better=True),
            "note": by_priority,
        },
        {
            "key": "openPipeline",
            "label": "Open opportunity pipeline",
            "value": pipeline["value"],
            "format": money,
            "trend": display_trend(pipeline["change"]),
            "note": f"{pipeline['count']} open · weighted {money.currency} {pipeline['weightedValue']:,.2f}",
        },
    ]


def _label(key: str) -> str:
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in str(key)).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{_label(k)}: {_text(v)}" for k, v in value.items())
    return "—" if value in (None, "") else str(value)


def evidence_rows(evidence: object) -> list[tuple[str, str]]:
    """The detector's numbers as (label, readable value), in the detector's order."""
    if not isinstance(evidence, dict):
        return [("Evidence", _text(evidence))] if evidence else []
    return [
        (_label(key), _share(value) if _is_share(key, value) else _text(value))
        for key, value in evidence.items()
    ]


def _is_share(key: object, value: object) -> bool:
    # The detectors' thresholds named "...Share" are fractions (0.2 = the top fifth).
    return (
        str(key).endswith(("Share", "_share"))
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    )


def _share(value: float) -> str:
    return f"{_text(round(value * 100, 1))}%"


def action_texts(items: object) -> list[str]:
    if not isinstance(items, list):
        return [_text(items)] if items else []
    return [
        str(i.get("text") or i.get("label") or _text(i)) if isinstance(i, dict) else _text(i) for i in items
    ]


@dataclass(frozen=True)
class InsightCard:
    insight: object
    evidence: list[tuple[str, str]]
    actions: list[str]
    agent_name: str | None
    agent_url: str | None
    resolved_by: str | None
    lead_url: str | None
    notice: dict | None = None


def _agent_url(member: object, scope: reads.Scope) -> str | None:
    if member is None or not scope.viewer_is_manager:
        return None
    return reverse("agent-detail-page", args=[member.pk]) if member.role == "agent" else None


def insight_card(
    insight: object, scope: reads.Scope, query: PageQuery, notice: dict | None = None
) -> InsightCard:
    page_url = reverse("bi-insights")
    shown = insight.agent if scope.shows_member(insight.agent) else None
    resolver = insight.resolved_by
    return InsightCard(
        insight=insight,
        evidence=evidence_rows(insight.evidence),
        actions=action_texts(insight.action_items),
        agent_name=shown.display_name if shown else None,
        agent_url=_agent_url(shown, scope),
        resolved_by=(resolver.display_name if scope.shows_member(resolver) else "a colleague")
        if resolver
        else ("the system" if insight.resolved_at else None),
        lead_url=f"{page_url}?{query.query(lead=insight.lead_id, page=1, resolved='all')}"
        if insight.lead_id
        else None,
        notice=notice,
    )


@dataclass(frozen=True)
class Column:
    status: str
    label: str
    count: int
    value: float
    weighted: float
    cards: list[dict] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


def board(scope: reads.Scope, columns: list[dict]) -> list[Column]:
    cards = reads.opportunities_board(scope=scope, per_column=BOARD_PER_COLUMN)
    return [
        Column(
            c["status"],
            c["label"],
            c["count"],
            c["estimatedValue"],
            c["weightedValue"],
            [
                {
                    "opportunity": o,
                    "owner": o.owner.display_name if scope.shows_member(o.owner) else None,
                    "next": [(s, OpportunityStatus(s).label) for s in actions.allowed_statuses(o.status)],
                }
                for o in cards[c["status"]]
            ],
        )
        for c in columns
    ]


def activity_chart(rows: list[dict]) -> BarChart:
    shown = [r for r in rows if r["count"] or r["previous"]]
    return BarChart(
        "Activities by type",
        (
            Series("Last 30 days", tuple(Point(r["label"], r["count"]) for r in shown)),
            Series("Previous 30 days", tuple(Point(r["label"], r["previous"]) for r in shown)),
        ),
        ValueFormat("integer"),
        category_label="Type",
        value_label="Activities",
    )


def lead_status_chart(rows: list[dict]) -> DonutChart:
    return DonutChart(
        "Leads by status", tuple(Point(r["label"], r["count"]) for r in rows), ValueFormat("integer")
    )


# --- context --------------------------------------------------------------------------------


def _list_context(scope: reads.Scope, query: PageQuery) -> dict:
    page = Paginator(
        reads.insights_by_priority(scope=scope, filters=query.filters()), INSIGHTS_PER_PAGE
    ).get_page(query.page)
    groups: dict[str, list[InsightCard]] = {}
    for insight in page.object_list:
        groups.setdefault(insight.priority, []).append(insight_card(insight, scope, query))
    return {
        "page_obj": page,
        "groups": [(p, Priority(p).label, groups[p]) for p in Priority.values if p in groups],
        "has_any": bool(groups) or reads.insights_visible(scope).exists(),
        "prev_query": query.query(page=page.previous_page_number()) if page.has_previous() else "",
        "next_query": query.query(page=page.next_page_number()) if page.has_next() else "",
        "resolved_query": query.query(resolved="true", page=1),
    }


def refresh_line(state: dict | None) -> str:
    """The last on-demand or nightly run, in words (insights.bi.refresh keeps its state)."""
    if not state:
        return ""
    name = state.get("state")
    if name == "queued":
        return "A refresh is queued."
    if name == "running":
        return f"Refreshing now ({state.get('step', 'starting')})…"
    if name == "failed":
        return "The last refresh failed; try again, or wait for the nightly run."
    finished = state.get("finished_at")
    try:
        when = timezone.localtime(dt.datetime.fromisoformat(finished)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return "Last refreshed recently."
    return f"Last refreshed {when}."


def _board_context(scope: reads.Scope, columns: list[dict]) -> dict:
    return {"columns": board(scope, columns), "has_opportunities": any(c["count"] for c in columns)}


def _summary_context(scope: reads.Scope, summary: dict) -> dict:
    return {"cards": summary_cards(summary, scope.organization.currency)}


def _page_context(request: HttpRequest, scope: reads.Scope, query: PageQuery) -> dict:
    organization = scope.organization
    data = reads.dashboard(scope=scope, as_of=timezone.now())
    return {
        "scope": scope,
        "query": query,
        "money_format": ValueFormat.money(organization.currency),
        **_summary_context(scope, data["summary"]),
        **_board_context(scope, data["pipeline"]),
        "activity_chart": activity_chart(data["activityBreakdown"]),
        "lead_chart": lead_status_chart(data["leadStatus"]),
        "has_activity": any(r["count"] or r["previous"] for r in data["activityBreakdown"]),
        "has_leads": any(r["count"] for r in data["leadStatus"]),
        **_list_context(scope, query),
        "type_choices": InsightType.choices,
        "priority_choices": Priority.choices,
        "resolved_choices": RESOLVED_CHOICES.items(),
        "agents": reads.agent_choices(organization) if request.user.is_manager else [],
        "refresh_line": refresh_line(refresh.refresh_status(organization.pk)),
    }


# --- views ----------------------------------------------------------------------------------

ScopedView = Callable[..., HttpResponse]


def scoped_page(view: ScopedView) -> Callable[..., HttpResponse]:
    """Any member; the scope comes from ?agent= (GET) or the form's agent field (POST)."""

    @org_page()
    @wraps(view)
    def wrapper(request: HttpRequest, organization: Organization, *args, **kwargs) -> HttpResponse:
        data = request.POST if request.method == "POST" else request.GET
        try:
            scope = reads.scope_for(member=request.user, agent_email=data.get("agent"))
        except reads.ScopeForbidden:
            return render(request, "crm/forbidden.html", status=403)
        return view(request, scope, *args, **kwargs)

    return wrapper


@require_GET
@scoped_page
def insights_page(request: HttpRequest, scope: reads.Scope) -> HttpResponse:
    query, problem = parse_page_query(request.GET)
    context = {**_page_context(request, scope, query), "problem": problem}
    return render(request, PAGE, context, status=400 if problem else 200)


@require_GET
@scoped_page
def insight_list(request: HttpRequest, scope: reads.Scope) -> HttpResponse:
    """The list alone (pagination and filters); the address bar gets the page's URL."""
    query, problem = parse_page_query(request.GET)
    if problem:
        return render(request, f"{PAGE}#problem", {"problem": problem}, status=400)
    response = render(
        request, f"{PAGE}#insight-list", {"scope": scope, "query": query, **_list_context(scope, query)}
    )
    response["HX-Push-Url"] = f"{reverse('bi-insights')}?{query.query()}".rstrip("?")
    return response


def _back(request: HttpRequest, level: int, text: str) -> HttpResponse:
    messages.add_message(request, level, text)
    agent = request.POST.get("agent")
    return redirect(
        f"{reverse('bi-insights')}?{urlencode({'agent': agent})}" if agent else reverse("bi-insights")
    )


def _oob_summary(scope: reads.Scope) -> dict:
    summary, columns = reads.summary(scope=scope, window=reads.summary_window(timezone.now()))
    return {**_summary_context(scope, summary), "columns_data": columns, "oob": True}


@require_POST
@scoped_page
def insight_resolve(request: HttpRequest, scope: reads.Scope, insight_id: int) -> HttpResponse:
    insight = reads.insight_get(scope=scope, insight_id=insight_id)
    try:
        actions.insight_resolve(insight=insight, actor=request.user, note=request.POST.get("note", ""))
        notice = {"level": "success", "text": "Resolved."}
    except (actions.AlreadyResolved, actions.InvalidNote) as exc:
        notice = {"level": "error", "text": str(exc)}
    if not request.htmx:
        return _back(
            request, messages.SUCCESS if notice["level"] == "success" else messages.ERROR, notice["text"]
        )
    query = PageQuery(agent=request.POST.get("agent", ""))
    card = insight_card(reads.insight_get(scope=scope, insight_id=insight_id), scope, query, notice)
    return render(
        request, f"{PAGE}#insight-card-response", {"card": card, "query": query, **_oob_summary(scope)}
    )


@require_POST
@scoped_page
def opportunity_status(request: HttpRequest, scope: reads.Scope, opportunity_id: int) -> HttpResponse:
    opportunity = reads.opportunity_get(scope=scope, opportunity_id=opportunity_id)
    status = request.POST.get("status", "")
    try:
        actions.opportunity_status_update(
            opportunity=opportunity, actor=request.user, status=status, note=request.POST.get("note", "")
        )
        notice = {
            "level": "success",
            "text": f"“{opportunity.title}” moved to {OpportunityStatus(status).label}.",
        }
    except (actions.InvalidTransition, actions.InvalidNote) as exc:
        notice = {"level": "error", "text": str(exc)}
    if not request.htmx:
        return _back(
            request, messages.SUCCESS if notice["level"] == "success" else messages.ERROR, notice["text"]
        )
    extra = _oob_summary(scope)
    context = {
        "scope": scope,
        "query": PageQuery(agent=request.POST.get("agent", "")),
        "board_notice": notice,
        "money_format": ValueFormat.money(scope.organization.currency),
        **_board_context(scope, extra.pop("columns_data")),
        **extra,
    }
    return render(request, f"{PAGE}#pipeline-response", context)


@require_POST
@org_page(roles=MANAGER_ROLES)
def refresh_now(request: HttpRequest, organization: Organization) -> HttpResponse:
    queued = tasks_hook.request_refresh(organization)
    text = (
        "Refresh queued: new insights and opportunities appear here in a few minutes (reload the page)."
        if queued
        else "The task queue is not reachable right now; the nightly run will still refresh the insights."
    )
    if not request.htmx:
        messages.add_message(request, messages.SUCCESS if queued else messages.ERROR, text)
        return redirect("bi-insights")
    return render(request, f"{PAGE}#refresh-status", {"refresh_notice": {"queued": queued, "text": text}})
