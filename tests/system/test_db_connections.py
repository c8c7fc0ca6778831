"""Database connections stay bounded under the ASGI server (issue 20: with persistent
per-thread connections, 80 requests at 8-way concurrency left 36 open and 16-way filled
PostgreSQL's max_connections). A real daphne child on the test database, many concurrent API
requests, then the server's connections are counted in pg_stat_activity."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework_simplejwt.tokens import AccessToken

from crm.models import Role
from tests.conftest import IN_CI, require_service
from tests.factories import MemberFactory, OrganizationFactory
from tests.system.processes import asgi_start, child_database_url, child_env, stop

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

POOL_SIZE = 3
REQUESTS = 64


def _server_connections(database: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
        return cursor.fetchone()[0]


def test_concurrent_requests_use_at_most_the_pools_connections(tmp_path):
    if IN_CI or connection.vendor == "postgresql":
        require_service("PostgreSQL", connection.vendor == "postgresql")
    else:
        pytest.skip("connections are counted on PostgreSQL")
    org = OrganizationFactory(slug="pool-co")
    manager = MemberFactory(email="manager@pool.test", organization=org, role=Role.MANAGER)
    token = str(AccessToken.for_user(manager))
    database = connection.settings_dict["NAME"]
    before = _server_connections(database)
    env = child_env(
        DATABASE_URL=child_database_url(), CRM_VAR_DIR=str(tmp_path / "var"), DB_POOL_MAX_SIZE=str(POOL_SIZE)
    )
    process, base = asgi_start("config.asgi:application", env, tmp_path / "daphne.log")
    try:

        def listing(_: int) -> int:
            # a cheap authenticated read: the connections, not the work, are under test
            request = urllib.request.Request(
                f"{base}/api/v1/reports/schedules", headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(listing, range(REQUESTS)))
        assert statuses == [200] * REQUESTS
        # the server holds at most its pool (the count includes nothing of this process)
        assert _server_connections(database) - before <= POOL_SIZE
    finally:
        stop(process)
