"""The manager dashboard /dashboard/analytics: page, HTMX tab fragments, drill-down records,
CSV exports, organization goals and saved views (docs/dashboard.md). Thin: parse the query
(insights.tabs), read the cached tab payload, render."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.tenancy import get_for_org_or_404
from crm.models import Organization
from crm.views import MANAGER_ROLES, org_page
from insights import services, tabs
from insights.forms import GoalForm, SavedViewForm
from insights.models import SavedView
from insights.selectors import dashboard as page_reads
from insights.selectors import records as record_reads
from insights.tabs import DashboardQuery, TabInputError
from reports.render import csv_rows_stream

PAGE = "insights/dashboard.html"
RANGE_LABELS = {
    "24h": "24h",
    "7d": "7 days",
    "30d": "30 days",
    "90d": "90 days",
    "1y": "1 year",
    "custom": "Custom",
}
RECORDS_PER_PAGE = 50
# A CSV of records stops here: beyond it, narrow the range or filters (said on the page).
RECORDS_CSV_LIMIT = 100_000
KIND_TITLES = {"leads": "Leads", "calls": "Calls", "sales": "Sales"}


def _tab_name(request: HttpRequest) -> str:
    name = request.GET.get("tab") or "overview"
    if name not in tabs.TAB_NAMES:
        raise TabInputError("tab", f"Use one of {', '.join(tabs.TAB_NAMES)}.")
    return name


def _page_url(query: DashboardQuery | None, tab: str, **changes: str) -> str:
    params = dict(query.common_params()) if query else {}
    params.update(query.extra if query else {})
    params.update(changes)
    params["tab"] = tab
    if params.get("range") != "custom":
        params.pop("start", None), params.pop("end", None)
    clean = {k: str(v) for k, v in params.items() if v not in (None, "")}
    return f"{reverse('insights-dashboard')}?{urlencode(clean)}"


def _parse(request: HttpRequest, organization: Organization, tab: str) -> DashboardQuery:
    if tab in tabs.DATA_TABS:
        return tabs.parse_tab_query(
            tab=tab, organization=organization, params=request.GET, as_of=timezone.now()
        )
    return tabs.parse_dashboard_query(organization=organization, params=request.GET, as_of=timezone.now())


def _tab_context(request: HttpRequest, query: DashboardQuery, tab: str) -> dict:
    context = {
        "query": query,
        "tab": tab,
        "tab_url": reverse("insights-tab", kwargs={"name": tab}),
        "page_url": _page_url(query, tab),
        "currency": query.organization.currency,
        # The live socket sends the last 30 days without filters (insights.live): only that
        # view's tiles follow it.
        "live": query.range_name == "30d" and not query.filter_params,
    }
    if tab == "reports":
        context.update(_reports_context(query))
        return context
    module = tabs.get_tab(tab)
    payload = tabs.tab_payload(tab, query)
    context.update(payload=payload, charts=module.charts(payload, query))
    if tab == "overview":
        context["goal_form"] = GoalForm()
    page_context = getattr(module, "page_context", None)
    if page_context is not None:
        context.update(page_context(payload, query))
    context["exports"] = _exports_of(tab, payload, query)
    return context


def _exports_of(tab: str, payload: dict, query: DashboardQuery) -> list[dict]:
    qs = query.query_string(**query.extra)
    return [
        {
            "key": key,
            "title": table.title,
            "url": f"{reverse('insights-export', kwargs={'tab': tab, 'table': key})}?{qs}",
        }
        for key, table in tabs.get_tab(tab).csv_tables(payload).items()
    ]


def _reports_context(query: DashboardQuery) -> dict:
    sections = []
    for name in tabs.DATA_TABS:
        module = tabs.get_tab(name)
        view_query = query.with_extra({})
        payload = tabs.tab_payload(name, view_query)
        sections.append(
            {"name": name, "title": module.TITLE, "exports": _exports_of(name, payload, view_query)}
        )
    records = [
        {
            "kind": kind,
            "title": title,
            "url": f"{reverse('insights-records', kwargs={'kind': kind})}?{query.query_string(export='csv')}",
        }
        for kind, title in KIND_TITLES.items()
    ]
    return {
        "export_sections": sections,
        "record_exports": records,
        "saved_views": [
            {"view": v, "url": f"{reverse('insights-dashboard')}?{v.query}"}
            for v in page_reads.saved_views(query.organization)
        ],
        "records_csv_limit": RECORDS_CSV_LIMIT,
    }


def _page_context(
    request: HttpRequest, organization: Organization, query: DashboardQuery | None, tab: str
) -> dict:
    range_name = query.range_name if query else "30d"
    return {
        "tab": tab,
        "query": query,
        "tabs_nav": [
            {
                "name": name,
                "title": tabs.get_tab(name).TITLE if name in tabs.DATA_TABS else "Reports",
                "url": _page_url(query, name),
                "hx_url": f"{reverse('insights-tab', kwargs={'name': name})}?"
                f"{query.query_string() if query else ''}",
                "active": name == tab,
            }
            for name in tabs.TAB_NAMES
        ],
        "range_links": [
            {
                "label": RANGE_LABELS[name],
                "url": _page_url(query, tab, range=name),
                "active": name == range_name,
            }
            for name in tabs.RANGE_CHOICES
            if name != "custom"
        ],
        "range_label": RANGE_LABELS.get(range_name, range_name),
        "choices": page_reads.filter_choices(organization),
        "save_form": SavedViewForm(initial={"tab": tab}),
        "current_query": _page_url(query, tab).split("?", 1)[1],
    }


@require_GET
@org_page(roles=MANAGER_ROLES)
def dashboard(request: HttpRequest, organization: Organization) -> HttpResponse:
    try:
        tab = _tab_name(request)
        query = _parse(request, organization, tab)
    except TabInputError as exc:
        context = _page_context(request, organization, None, "overview")
        context["problem"] = {"field": exc.field, "message": str(exc)}
        return render(request, PAGE, context, status=400)
    context = _page_context(request, organization, query, tab)
    context.update(_tab_context(request, query, tab))
    return render(request, PAGE, context)


@require_GET
@org_page(roles=MANAGER_ROLES)
def tab_fragment(request: HttpRequest, organization: Organization, name: str) -> HttpResponse:
    """One tab's panel for HTMX; the address bar gets the page URL of the same view."""
    if name not in tabs.TAB_NAMES:
        return render(
            request,
            "insights/partials/problem.html",
            {"problem": {"field": "tab", "message": "No such tab."}},
            status=404,
        )
    try:
        query = _parse(request, organization, name)
    except TabInputError as exc:
        return render(
            request,
            "insights/partials/problem.html",
            {"problem": {"field": exc.field, "message": str(exc)}},
            status=400,
        )
    context = _page_context(request, organization, query, name)
    context.update(_tab_context(request, query, name))
    response = render(request, "insights/tab_response.html", context)
    response["HX-Push-Url"] = context["page_url"]
    return response


# --- drill-down records ---------------------------------------------------------------------------

RECORD_COLUMNS = {
    "leads": (
        "Lead",
        "Source",
        "Status",
        "Agent",
        "Score",
        "Estimated value",
        "Region",
        "Product line",
        "Created",
        "Converted",
    ),
    "calls": ("When", "Agent", "Lead", "Outcome", "Duration (s)", "Country", "Automated"),
    "sales": ("Closed", "Amount", "Currency", "Kind", "Product line", "Agent", "Lead"),
}


def _local(moment: object, tz: object) -> str:
    # Explicit zone: a streamed CSV is written after the view's timezone.override ended.
    return "" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _record_row(kind: str, r: object, tz: object) -> tuple:
    if kind == "leads":
        agent = r.assigned_agent.display_name if r.assigned_agent else ""
        return (
            r.name or r.external_id,
            r.source,
            r.get_status_display(),
            agent,
            r.score,
            r.estimated_value,
            r.region,
            r.product_line,
            _local(r.created_at, tz),
            _local(r.converted_at, tz),
        )
    if kind == "calls":
        country = r.lead.contact.country if r.lead and r.lead.contact else ""
        lead = (r.lead.name or r.lead.external_id) if r.lead else ""
        return (
            _local(r.occurred_at, tz),
            r.agent.display_name if r.agent else "",
            lead,
            r.outcome,
            r.duration_seconds,
            country,
            "yes" if r.automated else "no",
        )
    lead = (r.lead.name or r.lead.external_id) if r.lead else ""
    return (
        _local(r.closed_at, tz),
        r.amount,
        r.currency,
        r.get_kind_display(),
        r.product_line,
        r.agent.display_name if r.agent else "",
        lead,
    )


def _csv_response(filename: str, header: Iterable, rows: Iterable[Iterable]) -> StreamingHttpResponse:
    # The one CSV writer of the product (reports.render): formula-like text escaped, memory
    # flat; no byte order mark here, as these downloads always had none.
    response = StreamingHttpResponse(
        csv_rows_stream(header, rows, bom=False), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _describe(kind: str, params: dict[str, str], query: DashboardQuery) -> list[str]:
    """The drill-down in words, for the page heading."""
    words = [f"{k}: {v}" for k, v in params.items()]
    words += [f"{k}: {v}" for k, v in query.filter_params.items()]
    return words


def _back_tab(kind: str, params: dict[str, str]) -> str:
    # The Leads tab's source revenue links to sales "of leads created in W".
    if kind == "sales" and "leadCreated" in params:
        return "leads"
    return {"leads": "leads", "calls": "calls", "sales": "revenue"}[kind]


@require_GET
@org_page(roles=MANAGER_ROLES)
def records(request: HttpRequest, organization: Organization, kind: str) -> HttpResponse:
    if kind not in tabs.RECORD_KINDS:
        return render(
            request,
            "insights/partials/problem.html",
            {"problem": {"field": "kind", "message": "No such record kind."}},
            status=404,
        )
    try:
        query = tabs.parse_dashboard_query(
            organization=organization, params=request.GET, as_of=timezone.now()
        )
        params = record_reads.record_params(kind, request.GET)
        qs = record_reads.record_queryset(kind, query, params)
        page_number = request.GET.get("page") or "1"
        if not (page_number.isascii() and page_number.isdigit() and len(page_number) <= 6):
            raise TabInputError("page", "Use a page number.")
    except TabInputError as exc:
        return render(
            request,
            "insights/records.html",
            {
                "kind": kind,
                "title": KIND_TITLES[kind],
                "problem": {"field": exc.field, "message": str(exc)},
                "back_url": reverse("insights-dashboard"),
            },
            status=400,
        )
    base = query.query_string(**params)
    if request.GET.get("export") == "csv":
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        rows = (
            _record_row(kind, r, organization.tz) for r in qs[:RECORDS_CSV_LIMIT].iterator(chunk_size=2000)
        )
        return _csv_response(f"{organization.slug}-{kind}-{stamp}.csv", RECORD_COLUMNS[kind], rows)
    page = Paginator(qs, RECORDS_PER_PAGE).get_page(page_number)
    context = {
        "kind": kind,
        "title": KIND_TITLES[kind],
        "query": query,
        "description": _describe(kind, params, query),
        "range_label": RANGE_LABELS.get(query.range_name, query.range_name),
        "columns": RECORD_COLUMNS[kind],
        "rows": [_record_row(kind, r, organization.tz) for r in page.object_list],
        "page": page,
        "base_query": base,
        "csv_url": f"{request.path}?{base}&export=csv",
        "back_url": _page_url(query, _back_tab(kind, params)),
        "csv_limit": RECORDS_CSV_LIMIT,
    }
    return render(request, "insights/records.html", context)


# --- CSV of a tab's table ---------------------------------------------------------------------------


@require_GET
@org_page(roles=MANAGER_ROLES)
def export_table(request: HttpRequest, organization: Organization, tab: str, table: str) -> HttpResponse:
    if tab not in tabs.DATA_TABS:
        return HttpResponse("No such tab.", status=404, content_type="text/plain")
    try:
        query = tabs.parse_tab_query(
            tab=tab, organization=organization, params=request.GET, as_of=timezone.now()
        )
    except TabInputError as exc:
        return HttpResponse(f"{exc.field}: {exc}", status=400, content_type="text/plain")
    tables = tabs.get_tab(tab).csv_tables(tabs.tab_payload(tab, query))
    if table not in tables:
        return HttpResponse("No such table.", status=404, content_type="text/plain")
    chosen = tables[table]
    filename = f"{organization.slug}-{tab}-{table}-{query.range_key.replace('..', '_')}.csv"
    return _csv_response(filename, chosen.header, chosen.rows)


# --- goals and saved views -------------------------------------------------------------------------


@require_POST
@org_page(roles=MANAGER_ROLES)
def set_goal(request: HttpRequest, organization: Organization) -> HttpResponse:
    form = GoalForm(request.POST)
    back = QueryDict(request.POST.get("query", ""), mutable=False)
    if not form.is_valid():
        # HTMX swaps only 2xx answers: the form with its errors goes back in place as a 200.
        context = {"goal_form": form, "current_query": back.urlencode()}
        return render(
            request, "insights/partials/goal_form.html", context, status=200 if request.htmx else 400
        )
    today = timezone.now().astimezone(organization.tz).date()
    services.organization_goal_set(
        organization=organization,
        actor=request.user,
        month=form.month_start(today),
        metric=form.cleaned_data["metric"],
        target=form.cleaned_data["target"],
    )
    url = f"{reverse('insights-dashboard')}?{back.urlencode()}" if back else reverse("insights-dashboard")
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@require_POST
@org_page(roles=MANAGER_ROLES)
def save_view(request: HttpRequest, organization: Organization) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        if SavedView.objects.for_org(organization).filter(name=data["name"]).exists():
            form.add_error("name", "A saved view already has this name.")
        else:
            query = QueryDict(data["query"]).copy()
            query["tab"] = data["tab"]
            services.saved_view_create(
                organization=organization,
                actor=request.user,
                name=data["name"],
                tab=data["tab"],
                query=query.urlencode(),
            )
            return redirect(f"{reverse('insights-dashboard')}?{query.urlencode()}")
    return render(
        request,
        "insights/partials/problem.html",
        {
            "problem": {
                "field": next(iter(form.errors), "form"),
                "message": " ".join(e for errs in form.errors.values() for e in errs),
            }
        },
        status=400,
    )


@require_POST
@org_page(roles=MANAGER_ROLES)
def delete_view(request: HttpRequest, organization: Organization, view_id: int) -> HttpResponse:
    view = get_for_org_or_404(SavedView, organization, pk=view_id)
    services.saved_view_delete(view=view, actor=request.user)
    return redirect(f"{reverse('insights-dashboard')}?tab=reports")
