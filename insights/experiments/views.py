"""The experiment pages for managers (docs/experiments.md, "Pages"): the list, a new template
or price test, one from a pricing suggestion, an experiment's page with its results (an HTMX
region that refreshes itself while it runs) and its start, stop and decide buttons.

Thin: bind the input, fetch through page_reads/selectors (another organization's experiment is
a 404), call one service, render; the numbers are worded in insights.experiments.display.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError, NotInOrganization
from crm.models import Organization
from crm.views import MANAGER_ROLES, org_page
from insights.experiments import display, page_reads, services
from insights.experiments.forms import ExperimentForm, NoteForm, SubjectQuery
from insights.experiments.models import Experiment, ExperimentStatus

LIST = "insights/experiments/list.html"
NEW = "insights/experiments/new.html"
DETAIL = "insights/experiments/detail.html"
PER_PAGE = 20
# How often a running experiment's results region asks for new numbers (hx-trigger).
REFRESH_SECONDS = 30


@require_GET
@org_page(roles=MANAGER_ROLES)
def experiments_list(request: HttpRequest, organization: Organization) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in ExperimentStatus.values else ""
    rows = page_reads.experiments_listed(organization, status=status)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    counts = page_reads.observed_counts(organization, list(page.object_list), as_of=timezone.now())
    context = {
        "page": page,
        "rows": display.list_rows(page.object_list, counts),
        "status": status,
        "tabs": display.status_tabs(page_reads.status_counts(organization), current=status),
    }
    return render(request, LIST, context)


def _subject(request: HttpRequest, organization: Organization) -> page_reads.Subject | None:
    query = SubjectQuery(request.GET)
    if not query.is_valid():
        raise Http404("No such campaign or product.")
    return page_reads.subject_get(
        organization,
        campaign_id=query.cleaned_data["campaign"],
        product_id=query.cleaned_data["product"],
        as_of=timezone.now(),
    )


@require_http_methods(["GET", "POST"])
@org_page(roles=MANAGER_ROLES)
def experiment_new(request: HttpRequest, organization: Organization) -> HttpResponse:
    """Choose a campaign or a product, then plan the test. A refused plan is the form again
    with the reasons under their fields, as a 400; a created one goes to its page."""
    posted = request.method == "POST"
    subject = _subject(request, organization)
    if subject is None:
        context = {
            "campaigns": page_reads.campaign_choices(organization),
            "products": page_reads.product_choices(organization),
            "choose_first": posted,
        }
        return render(request, NEW, context, status=400 if posted else 200)
    form = ExperimentForm(subject, request.POST if posted else None)
    if posted and form.is_valid():
        try:
            experiment = services.experiment_create(
                organization=organization, actor=request.user, now=timezone.now(), **form.service_arguments()
            )
        except NotInOrganization as error:
            raise page_reads.not_found(error) from None
        except ApplicationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, "Experiment created as a draft: check the plan, then start it.")
            return redirect("experiments-detail", experiment_id=experiment.pk)
    context = {
        "form": form,
        "subject": subject,
        "baselines": display.baseline_texts(subject, currency=organization.currency),
    }
    return render(request, NEW, context, status=400 if form.errors else 200)


@require_POST
@org_page(roles=MANAGER_ROLES)
def experiment_from_suggestion(
    request: HttpRequest, organization: Organization, suggestion_id: int
) -> HttpResponse:
    """The pricing page's "Test this price first": a draft price test of the suggestion."""
    try:
        experiment = services.experiment_create_from_suggestion(
            organization=organization, actor=request.user, suggestion_id=suggestion_id, now=timezone.now()
        )
    except NotInOrganization as error:
        raise page_reads.not_found(error) from None
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("pricing-page")
    messages.success(
        request, "Price test created as a draft: start it when agents quote the assigned prices."
    )
    return redirect("experiments-detail", experiment_id=experiment.pk)


def _results(request: HttpRequest, organization: Organization, experiment: Experiment) -> display.ResultsView:
    # Every reading is a look: the service keeps one in the decision history at most hourly.
    reading = services.experiment_look(experiment=experiment, actor=request.user, now=timezone.now())
    return display.results_view(reading, currency=organization.currency)


@require_GET
@org_page(roles=MANAGER_ROLES)
def experiment_detail(request: HttpRequest, organization: Organization, experiment_id: int) -> HttpResponse:
    experiment = page_reads.experiment_for_page(organization, experiment_id)
    results = _results(request, organization, experiment)
    units = display.units_of(experiment, organization.currency)
    context = {
        "experiment": experiment,
        "results": results,
        "refresh_seconds": REFRESH_SECONDS,
        "method_help": display.METHOD_HELP[experiment.method],
        "plan": display.plan_texts(experiment, units),
        "history": display.history_rows(page_reads.history(experiment), units=units),
    }
    return render(request, DETAIL, context)


@require_GET
@org_page(roles=MANAGER_ROLES)
def experiment_results(request: HttpRequest, organization: Organization, experiment_id: int) -> HttpResponse:
    """The results region alone, for its hx-get every REFRESH_SECONDS while running."""
    experiment = page_reads.experiment_for_page(organization, experiment_id)
    context = {
        "experiment": experiment,
        "results": _results(request, organization, experiment),
        "refresh_seconds": REFRESH_SECONDS,
    }
    return render(request, f"{DETAIL}#results", context)


def _transition(
    request: HttpRequest, organization: Organization, experiment_id: int, action: Callable[..., Experiment]
) -> HttpResponse:
    """Run a start, stop or decide service; its refusal (a wrong status, no decision yet) is a
    message on the experiment's page."""
    note = NoteForm(request.POST)
    if not note.is_valid():
        messages.error(request, " ".join(note.errors["note"]))
        return redirect("experiments-detail", experiment_id=experiment_id)
    try:
        experiment = action(
            organization=organization,
            actor=request.user,
            experiment_id=experiment_id,
            now=timezone.now(),
            note=note.cleaned_data["note"],
        )
    except NotInOrganization as error:
        raise page_reads.not_found(error) from None
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, display.TRANSITION_DONE[experiment.status])
    return redirect("experiments-detail", experiment_id=experiment_id)


@require_POST
@org_page(roles=MANAGER_ROLES)
def experiment_start(request: HttpRequest, organization: Organization, experiment_id: int) -> HttpResponse:
    return _transition(request, organization, experiment_id, services.experiment_start)


@require_POST
@org_page(roles=MANAGER_ROLES)
def experiment_stop(request: HttpRequest, organization: Organization, experiment_id: int) -> HttpResponse:
    return _transition(request, organization, experiment_id, services.experiment_stop)


@require_POST
@org_page(roles=MANAGER_ROLES)
def experiment_decide(request: HttpRequest, organization: Organization, experiment_id: int) -> HttpResponse:
    return _transition(request, organization, experiment_id, services.experiment_decide)
