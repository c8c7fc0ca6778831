"""In CI the suite runs on the real services; these tests prove it (and fail without them)."""

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from tests.conftest import IN_CI, require_service

pytestmark = pytest.mark.system


@pytest.mark.django_db
def test_database_is_postgresql_when_configured():
    # given the CI environment (DATABASE_URL points at PostgreSQL)
    wants_pg = IN_CI or os.environ.get("DATABASE_URL", "").startswith("postgres")
    if not wants_pg:
        pytest.skip("DATABASE_URL is not PostgreSQL here")
    # then the test database really is PostgreSQL
    require_service("PostgreSQL", connection.vendor == "postgresql")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        assert cursor.fetchone()[0] >= 130000


def test_cache_is_redis_when_configured():
    if not (IN_CI or settings.REDIS_URL):
        pytest.skip("REDIS_URL is not set here")
    require_service("Redis (REDIS_URL)", bool(settings.REDIS_URL))
    from django_redis import get_redis_connection

    try:
        reachable = get_redis_connection("default").ping()
    except Exception:
        reachable = False
    require_service("Redis", reachable)
    cache.set("ci-probe", "ok", 5)
    assert cache.get("ci-probe") == "ok"
