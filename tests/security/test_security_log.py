"""Refused requests are security events (RELIABILITY G15): the API's 401s and 403s, and a
404 for an id another organization holds, are logged like the pages' refusals, with the user,
organization, role and UTC time, and never a token."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crm.models import ImportRun
from reports.models import Schedule
from tests.conftest import jwt_client

pytestmark = pytest.mark.django_db

LOGGER = "crm.security"


def _lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def _schedule(org, owner) -> Schedule:
    return Schedule.objects.create(
        organization=org, owner=owner, name="Weekly", cadence="weekly", time=dt.time(8), weekday=0
    )


def test_a_forbidden_api_call_is_logged_with_who_and_when(caplog, manager_a):
    with caplog.at_level("WARNING", logger=LOGGER):
        response = jwt_client(manager_a).post("/api/v1/bi/approve-pricing", {}, format="json")
    assert response.status_code == 403
    [line] = _lines(caplog)
    assert line.startswith(
        f"refused 403 user={manager_a.pk} organization={manager_a.organization_id} role=manager "
        "method=POST path=/api/v1/bi/approve-pricing"
    )
    stamp = re.search(r" at=(\S+)$", line).group(1)
    assert dt.datetime.fromisoformat(stamp).utcoffset() == dt.timedelta(0)


def test_a_bad_token_is_logged_without_the_token(caplog, db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer SECRET-TOKEN-TEXT-123")
    with caplog.at_level("WARNING", logger=LOGGER):
        response = client.get("/api/v1/reports/schedules")
    assert response.status_code == 401
    [line] = _lines(caplog)
    assert line.startswith("refused 401 user=anonymous organization=None role=None method=GET")
    assert "SECRET-TOKEN-TEXT-123" not in caplog.text


def test_another_organizations_id_is_a_logged_404_and_a_missing_id_a_silent_one(
    caplog, org_a, admin_a, outsider
):
    theirs = _schedule(org_a, admin_a)
    client = jwt_client(outsider)
    with caplog.at_level("WARNING", logger=LOGGER):
        probe = client.get(f"/api/v1/reports/schedules/{theirs.pk}")
        missing = client.get(f"/api/v1/reports/schedules/{theirs.pk + 1000}")
    # the same answer to the caller either way
    assert probe.status_code == missing.status_code == 404
    assert probe.json() == missing.json()
    [line] = _lines(caplog)
    assert line.startswith(f"refused 404 user={outsider.pk} organization={outsider.organization_id} role=")
    assert f"path=/api/v1/reports/schedules/{theirs.pk} reason=another organization's object" in line


def test_a_page_for_another_organizations_object_is_logged(caplog, client, org_a, outsider):
    run = ImportRun.objects.create(organization=org_a, entity="leads", door="upload")
    client.force_login(outsider)
    with caplog.at_level("WARNING", logger=LOGGER):
        response = client.get(reverse("crm-import-run", args=[run.pk]))
    assert response.status_code == 404
    [line] = _lines(caplog)
    assert line.startswith(f"refused 404 user={outsider.pk}")
    assert "reason=another organization's object" in line
