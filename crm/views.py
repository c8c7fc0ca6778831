"""HTML pages and HTMX partials of the CRM app. Thin: bind input, call a selector or a
service, render the page or its named partial."""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from core.errors import ApplicationError, log_refusal
from crm import selectors, uploads
from crm.forms import EntityForm, ImportForm, expected_columns
from crm.models import Organization, Role

ALL_ROLES = frozenset(Role.values)
MANAGER_ROLES = frozenset({Role.MANAGER, Role.ADMIN})

OrgView = Callable[..., HttpResponse]


def org_page(*, roles: Collection[str] = ALL_ROLES) -> Callable[[OrgView], Callable[..., HttpResponse]]:
    """Require a signed-in member of an organization with one of `roles`.

    The view receives the member's organization (never one named by the request) and runs
    with the organization's time zone active, so dates render in local time.
    """

    def decorator(view: OrgView) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return _to_login(request)
            organization = user.organization
            if organization is None:
                return render(request, "crm/no_organization.html", status=403)
            if user.role not in roles:
                log_refusal(request, 403, "role")
                return render(request, "crm/forbidden.html", status=403)
            with timezone.override(organization.tz):
                return view(request, organization, *args, **kwargs)

        return wrapper

    return decorator


def _to_login(request: HttpRequest) -> HttpResponse:
    if request.htmx:
        # A poll after the session ended: send the whole page to the login, not the fragment.
        next_path = request.htmx.current_url_abs_path or "/"
        return HttpResponseClientRedirect(
            f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': next_path})}"
        )
    return redirect_to_login(request.get_full_path())


@require_GET
@org_page()
def home(request: HttpRequest, organization: Organization) -> HttpResponse:
    overview = selectors.organization_overview(organization=organization, as_of=timezone.now())
    return render(request, "crm/overview.html", {"overview": overview})


@require_http_methods(["GET", "POST"])
@org_page(roles=MANAGER_ROLES)
def import_page(request: HttpRequest, organization: Organization) -> HttpResponse:
    """The upload form. A file that is read goes to its run page (the row report); a file
    that cannot be read at all, or a bad form, is the form again with the reason, as a 400
    (the form's fragment for HTMX)."""
    posted = request.method == "POST"
    form = ImportForm(request.POST, request.FILES) if posted else ImportForm()
    if posted and form.is_valid():
        try:
            run = uploads.upload_start(
                organization=organization,
                started_by=request.user,
                entity=form.cleaned_data["entity"],
                upload=form.cleaned_data["file"],
            )
        except ApplicationError as error:
            form.add_error(error.field, error.message)
        else:
            run_url = resolve_url("crm-import-run", run_id=run.pk)
            return HttpResponseClientRedirect(run_url) if request.htmx else redirect(run_url)
    context = {
        "form": form,
        "columns": expected_columns(form["entity"].value()),
        "recent_runs": selectors.import_runs_recent(organization=organization),
    }
    template = "crm/import.html#upload-form" if posted and request.htmx else "crm/import.html"
    return render(request, template, context, status=400 if form.errors else 200)


@require_GET
@org_page(roles=MANAGER_ROLES)
def import_columns(request: HttpRequest, organization: Organization) -> HttpResponse:
    form = EntityForm(request.GET)
    entity = form.cleaned_data["entity"] if form.is_valid() else None
    return render(request, "crm/import.html#expected-columns", {"columns": expected_columns(entity)})


@require_GET
@org_page(roles=MANAGER_ROLES)
def import_run(request: HttpRequest, organization: Organization, run_id: int) -> HttpResponse:
    run = selectors.import_run_get(organization=organization, run_id=run_id)
    errors = selectors.import_run_errors_page(run=run, page=request.GET.get("page"))
    return render(request, "crm/import_run.html", {"run": run, "errors": errors})


@require_GET
@org_page(roles=MANAGER_ROLES)
def import_run_status(request: HttpRequest, organization: Organization, run_id: int) -> HttpResponse:
    run = selectors.import_run_get(organization=organization, run_id=run_id)
    errors = selectors.import_run_errors_page(run=run, page=request.GET.get("page"))
    return render(request, "crm/import_run.html#run-status", {"run": run, "errors": errors})
