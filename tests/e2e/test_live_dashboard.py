"""In a real browser against a real ASGI server (daphne, a child process on the test
database): a manager watches the dashboard while a sale is posted to the ingestion API, and
the revenue tile changes without a reload (issue 14, DESIGN section 9.7)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm.models import Role
from tests.conftest import IN_CI, PASSWORD, require_service
from tests.e2e.test_login_overview import console_errors
from tests.factories import MemberFactory, OrganizationFactory
from tests.system.processes import asgi_start, child_database_url, child_env, stop

pytestmark = [pytest.mark.e2e, pytest.mark.system]


@pytest.fixture
def asgi_server(transactional_db, tmp_path):
    if IN_CI or connection.vendor == "postgresql":
        require_service("PostgreSQL", connection.vendor == "postgresql")
    else:
        pytest.skip("the ASGI child process shares the test database on PostgreSQL")
    log = tmp_path / "daphne.log"
    env = child_env(DATABASE_URL=child_database_url(), CRM_VAR_DIR=str(tmp_path / "var"))
    process, base = asgi_start("config.asgi:application", env, log)
    yield base, log
    stop(process)


def post_json(url: str, body: object, token: str | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_posted_sale_changes_the_revenue_tile_without_a_reload(asgi_server, page: Page):
    base, log = asgi_server
    org = OrganizationFactory(slug="live-co", name="Live Co", timezone="Africa/Nairobi", currency="KES")
    manager = MemberFactory(email="manager@live.test", organization=org, role=Role.MANAGER)
    admin = MemberFactory(email="admin@live.test", organization=org, role=Role.ADMIN, is_staff=True)
    # the server is a production-settings process: PBKDF2, not the tests' fast hasher
    for member in (manager, admin):
        member.password = PBKDF2PasswordHasher().encode(PASSWORD, "live-salt-1234")
        member.save(update_fields=["password"])
    errors = console_errors(page)

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("E-mail").fill(manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/dashboard/analytics")
    expect(page.get_by_test_id("live-status")).to_have_text("Live", timeout=15_000)
    tile = page.locator('[data-live-value="revenue.total"]')
    expect(tile).to_have_text("KES 0.00")

    token = post_json(f"{base}/api/auth/token/", {"email": admin.email, "password": PASSWORD})["access"]
    stored = post_json(
        f"{base}/api/v1/ingest/sales/",
        [
            {
                "external_id": "S-LIVE-1",
                "amount": "1234.50",
                "closed_at": (timezone.now() - dt.timedelta(days=1)).isoformat(),
            }
        ],
        token,
    )
    assert stored["stored"] == 1
    # without a reload, within the update frequency (5 s) and a little
    expect(tile).to_have_text("KES 1,234.50", timeout=10_000)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert not [e for e in errors if "favicon" not in e], errors
