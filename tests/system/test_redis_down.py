"""With Redis down (the configured cache refuses connections), the dashboard and the overview
API keep answering from the database, quickly, with the same numbers (RELIABILITY.md G12).

The cache here is django-redis, configured exactly as in production (config/settings.py), but
pointed at a port nobody listens on: every cache call fails and is ignored.
"""

from __future__ import annotations

import time

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from tests.insights.factories import AS_OF, build_history

pytestmark = [pytest.mark.django_db, pytest.mark.system]

DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # port 1: connection refused at once
        "KEY_PREFIX": "crmi",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
# No request may hang on the dead cache past this (G12: 2.5 s).
REQUEST_LIMIT_SECONDS = 2.5


@pytest.fixture
def dead_cache():
    # Django's setting_changed handler rebuilds the cache handlers on entry and on exit.
    with override_settings(CACHES=DEAD_REDIS, DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS=False):
        yield
        caches["default"].close()


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_dashboard_and_overview_answer_from_the_database(
    org_a, agent_a, manager_a, client, api_client_for, dead_cache
):
    # given the history of tests/insights/factories.py and a cache that refuses every call
    build_history(org_a, agent_a)
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    client.force_login(manager_a)

    with time_machine.travel(AS_OF, tick=False):
        api = api_client_for(manager_a)  # the token's times are the frozen clock's
        # when the overview API, the dashboard page and a tab fragment are requested
        overview, t1 = _timed(lambda: api.post("/api/analytics/overview", {"timeRange": "7d"}, format="json"))
        page, t2 = _timed(lambda: client.get("/dashboard/analytics?range=7d"))
        tab, t3 = _timed(lambda: client.get("/dashboard/analytics/tab/calls?range=7d"))

    # then every one answers, with the numbers of the database, without waiting on Redis
    assert overview.status_code == 200, overview.content[:500]
    assert overview.json()["data"]["calls"]["total"] == 3  # C1, C2, C3
    assert overview.json()["data"]["revenue"]["total"] == 1250.5  # S1 + S2
    assert page.status_code == 200
    assert tab.status_code == 200
    assert 'data-testid="calls-tab"' in tab.content.decode()
    assert max(t1, t2, t3) < REQUEST_LIMIT_SECONDS
