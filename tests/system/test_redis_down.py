"""With Redis down (the configured cache refuses connections) or hung (it accepts connections
and never answers), the pages and the overview API keep answering from the database, quickly,
with the same numbers (RELIABILITY.md G12).

The cache here is django-redis, configured exactly as in production (config/settings.py, the
circuit breaker of core.circuit included), but pointed at a port nobody listens on, or at a
socket that never answers: every cache call fails and is ignored.
"""

from __future__ import annotations

import copy
import socket
import threading
import time

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from core.circuit import BreakerConnection, breaker
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
            "CONNECTION_POOL_KWARGS": {"connection_class": BreakerConnection},
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
    # perf_counter, not monotonic: time-machine freezes time.monotonic with the clock.
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


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


@pytest.fixture
def hung_cache():
    """A Redis that accepts connections and reads what it is sent, but never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stopping.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    hung = copy.deepcopy(DEAD_REDIS)
    hung["default"]["LOCATION"] = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    breaker.reset()
    with override_settings(CACHES=hung, DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS=False):
        yield
        caches["default"].close()
    stopping.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    listener.close()
    breaker.reset()


def test_a_hung_redis_costs_a_page_one_timeout_not_one_per_cache_call(
    org_a, agent_a, manager_a, client, hung_cache
):
    # given the history and a Redis that never answers (each call would wait its 0.5 s timeout;
    # the agent page made 28 of them, 14 s, before the circuit breaker)
    build_history(org_a, agent_a)
    agent_client = client.__class__()
    agent_client.force_login(agent_a)
    client.force_login(manager_a)

    with time_machine.travel(AS_OF, tick=False):
        pages = [
            _timed(lambda: agent_client.get("/agent/")),
            _timed(lambda: client.get("/insights")),
            _timed(lambda: client.get("/dashboard/analytics?range=7d")),
            _timed(lambda: client.get("/dashboard/analytics/tab/revenue?range=7d")),
        ]

    # then every page answers, each within the promise, and the breaker is open
    assert [response.status_code for response, _ in pages] == [200, 200, 200, 200]
    assert max(seconds for _, seconds in pages) < REQUEST_LIMIT_SECONDS, [round(s, 2) for _, s in pages]
    assert breaker.is_open


def test_the_breaker_skips_redis_while_open_and_tries_again_after_the_cooldown(hung_cache):
    cache = caches["default"]
    # the first call waits for its timeout and opens the circuit
    _, first = _timed(lambda: cache.get("anything"))
    assert breaker.is_open
    # while it is open, calls fail at once (and are ignored: the cache answers None)
    answers = [_timed(lambda: cache.get("anything")) for _ in range(20)]
    assert all(value is None for value, _ in answers)
    assert sum(seconds for _, seconds in answers) < 0.2 < first
    # after the cool-down the next call tries Redis again (half-open)
    breaker._open_until = 0.0
    _, retried = _timed(lambda: cache.get("anything"))
    assert retried >= 0.4  # it waited on the hung socket again
