"""One JSON error shape (DESIGN section 8): ApplicationError and its family through the one
DRF exception handler, unknown API paths, and token errors."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from core.errors import ApplicationError, exception_handler
from insights import forecast
from insights.bi import actions
from tests.insights.bi.factories_ui import InsightFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

NO_SUCH_ENDPOINT = {
    "error": {
        "code": "not_found",
        "message": "No API endpoint at this address; /api/docs/ lists them.",
        "details": {},
    }
}


def field_error(field: str, message: str) -> dict:
    """What a bad field answers: DRF's ValidationError wording, the sentence under the field."""
    return {"error": {"code": "bad_request", "message": "Invalid input.", "details": {field: [message]}}}


# --- ApplicationError and the handler ------------------------------------------------------


def test_application_error_with_a_field_names_it_in_details():
    # given a service's error on the `limit` input
    error = ApplicationError("Use a whole number from 1 to 100.", field="limit")
    # when the handler answers it
    response = exception_handler(error, {})
    # then it is a 400 naming the field, like a serializer's error
    assert (error.status, error.code, error.details) == (
        400,
        "bad_request",
        {"limit": ["Use a whole number from 1 to 100."]},
    )
    assert response.status_code == 400
    assert response.data == field_error("limit", "Use a whole number from 1 to 100.")


def test_application_error_without_a_field_answers_its_message():
    error = ApplicationError("Too many reports this hour.", status=429, details={"retryAfter": "60"})
    response = exception_handler(error, {})
    assert response.status_code == 429
    assert response.data == {
        "error": {
            "code": "throttled",
            "message": "Too many reports this hour.",
            "details": {"retryAfter": "60"},
        }
    }


def test_application_error_takes_an_explicit_code():
    response = exception_handler(ApplicationError("Already sent.", status=409, code="already_sent"), {})
    assert (response.status_code, response.data["error"]["code"]) == (409, "already_sent")


def test_forecast_error_is_an_application_error():
    # Not reachable through an API (the revenue tab checks MIN_POINTS first): shown directly.
    with pytest.raises(forecast.ForecastError) as caught:
        forecast.linear_forecast([0, 1], [10, 20], at=[2])
    assert isinstance(caught.value, ApplicationError)
    assert (caught.value.status, caught.value.code, caught.value.details) == (400, "bad_request", {})
    assert caught.value.message == "a forecast needs at least 3 points, got 2"


# --- the formerly separate exception classes, through real API requests ----------------------


def test_range_error(agent_a, api_client_for):
    response = api_client_for(agent_a).get("/agent/analytics/kpis?range=2w")
    assert response.status_code == 400
    assert response.json() == field_error(
        "range", "Unknown range '2w'; use 24h, 7d, 30d, 90d, 1y or a number of days (1-3660)."
    )


def test_cursor_error(agent_a, api_client_for):
    response = api_client_for(agent_a).get("/agent/analytics/activities?cursor=garbage")
    assert response.status_code == 400
    assert response.json() == field_error(
        "cursor", "Invalid cursor; use the nextCursor value of the previous page."
    )


def test_goal_error(agent_a, api_client_for):
    response = api_client_for(agent_a).post(
        "/agent/goals", {"period": "monthly", "goals": {"conversions": -1}}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == field_error("goals.conversions", "The target must be zero or more.")


def test_filter_error(agent_a, api_client_for):
    response = api_client_for(agent_a).get("/api/bi/insights?limit=0")
    assert response.status_code == 400
    assert response.json() == field_error("limit", "Use a whole number from 1 to 100.")


def test_scope_forbidden(agent_a, api_client_for):
    # an agent naming someone else: a 403 without details, as the agents' API answers
    response = api_client_for(agent_a).get("/api/bi/dashboard?agent=someone@acme.test")
    assert response.status_code == 403
    assert response.json() == {
        "error": {"code": "permission_denied", "message": "Can only access own data", "details": {}}
    }


def test_invalid_transition(org_a, manager_a, api_client_for):
    # given an identified opportunity: it may only move to in_progress
    opportunity = OpportunityFactory(organization=org_a)
    response = api_client_for(manager_a).post(
        f"/api/bi/opportunities/{opportunity.pk}/update-status", {"status": "converted"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == field_error(
        "status", "This opportunity is identified: it can move only to in_progress."
    )


def test_invalid_note(org_a, manager_a, api_client_for, monkeypatch):
    # given the service's limit below the serializer's (2000), so the service is the one to refuse
    monkeypatch.setattr(actions, "NOTE_MAX_LENGTH", 5)
    insight = InsightFactory(organization=org_a)
    response = api_client_for(manager_a).post(
        f"/api/bi/insights/{insight.pk}/resolve", {"note": "Called them"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == field_error("note", "A note has at most 5 characters.")


def test_overview_input_error(manager_a, api_client_for):
    response = api_client_for(manager_a).post("/api/analytics/overview", {"metrics": ["nope"]}, format="json")
    assert response.status_code == 400
    assert response.json() == field_error(
        "metrics", "Unknown metric 'nope'; use calls, leads, revenue, campaigns."
    )


def test_organization_mismatch(org_b, manager_a, api_client_for):
    # another organization's slug answers like a missing one
    response = api_client_for(manager_a).post(
        "/api/analytics/overview", {"filters": {"organizationId": "globex"}}, format="json"
    )
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No such organization.", "details": {}}
    }


def test_tab_input_error(manager_a, api_client_for):
    response = api_client_for(manager_a).get("/api/analytics/tabs/calls?range=2w")
    assert response.status_code == 400
    assert response.json() == field_error("range", "Use one of 24h, 7d, 30d, 90d, 1y, custom.")


# --- unknown paths -----------------------------------------------------------------------------

UNKNOWN_API_PATHS = ["/api/nope/", "/api/v1/unknown", "/api/bi/nope", "/agent/analytics/nope"]


@pytest.mark.parametrize("path", UNKNOWN_API_PATHS)
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "jwt"])
def test_unknown_api_path_is_a_json_404(agent_a, api_client_for, path, method, signed_in):
    client = api_client_for(agent_a) if signed_in else APIClient()
    response = getattr(client, method)(path, {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NO_SUCH_ENDPOINT


def test_unknown_page_keeps_the_html_404(client):
    response = client.get("/nope/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_api_path_is_a_json_404_with_debug_on(settings, agent_a, api_client_for, method):
    # given DEBUG, where Django answers with its technical page instead of calling handler404
    settings.DEBUG = True
    response = getattr(api_client_for(agent_a), method)("/api/nope/", {}, format="json")
    assert response.status_code == 404
    assert response.json() == NO_SUCH_ENDPOINT


def test_with_debug_on_pages_keep_the_technical_404_and_views_their_own(
    settings, manager_a, api_client_for, client
):
    settings.DEBUG = True
    page = client.get("/nope/")
    assert (page.status_code, page["Content-Type"].startswith("text/html")) == (404, True)
    # a view's own 404 keeps its message
    missing = api_client_for(manager_a).get("/agent/analytics/kpis?agent=nobody@acme.test")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "member not found", "details": {}}}


def test_a_missing_slash_is_still_redirected(client):
    # Unknown API paths are answered without a catch-all route, so Django's APPEND_SLASH
    # redirect still applies to routes that end with a slash.
    response = client.get("/api/docs")
    assert (response.status_code, response["Location"]) == (301, "/api/docs/")


# --- token errors ------------------------------------------------------------------------------


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_malformed_access_token_is_a_token_not_valid_401(agent_a):
    response = bearer("not-a-token").get("/agent/analytics/kpis")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "token_not_valid",
            "message": "Given token not valid for any token type",
            "details": {"access": "Token is invalid"},
        }
    }


def test_expired_access_token_is_a_token_not_valid_401(agent_a):
    client = bearer(str(RefreshToken.for_user(agent_a).access_token))
    # an access token lives five minutes
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)):
        response = client.get("/agent/analytics/kpis")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "token_not_valid",
            "message": "Given token not valid for any token type",
            "details": {"access": "Token is expired"},
        }
    }


def test_refresh_token_used_as_access_token_is_refused(agent_a):
    response = bearer(str(RefreshToken.for_user(agent_a))).get("/agent/analytics/kpis")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "token_not_valid",
        "message": "Given token not valid for any token type",
        "details": {"access": "Token has wrong type"},
    }


def test_authorization_header_with_three_parts_is_an_authentication_failure(agent_a):
    response = bearer("a b").get("/agent/analytics/kpis")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "authentication_failed",
            "message": "Authorization header must contain two space-delimited values",
            "details": {},
        }
    }


def test_access_token_of_deactivated_member_is_an_authentication_failure(agent_a):
    client = bearer(str(RefreshToken.for_user(agent_a).access_token))
    agent_a.is_active = False
    agent_a.save()
    response = client.get("/agent/analytics/kpis")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "User is inactive",
        "details": {},
    }


@pytest.mark.parametrize(
    ("refresh", "message"),
    [("garbage", "Token is invalid"), ("access", "Token has wrong type")],
)
def test_bad_refresh_token_is_a_token_not_valid_401(agent_a, refresh, message):
    token = str(RefreshToken.for_user(agent_a).access_token) if refresh == "access" else refresh
    response = APIClient().post("/api/auth/token/refresh/", {"refresh": token}, format="json")
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "token_not_valid", "message": message, "details": {}}}


def test_refresh_token_of_a_deleted_member_is_a_401_not_a_500(agent_a):
    # given a refresh token whose member has since been deleted
    refresh = str(RefreshToken.for_user(agent_a))
    agent_a.delete()
    client = APIClient()
    client.raise_request_exception = False
    # when it is exchanged
    response = client.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json")
    # then it is refused like a deactivated member's
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "no_active_account",
            "message": "No active account found for the given token.",
            "details": {},
        }
    }


def test_wrong_password_keeps_its_answer(agent_a):
    response = APIClient().post(
        "/api/auth/token/", {"email": "agent@acme.test", "password": "wrong-password"}, format="json"
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "no_active_account",
            "message": "No active account found with the given credentials",
            "details": {},
        }
    }
