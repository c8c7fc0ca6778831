"""A burst at 40-way concurrency through a real server gets no more than the limit through
(RELIABILITY.md G10: 429 with Retry-After, overshoot at most 10%). Two server processes share
the count through Redis, as two web processes of a deployment do."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from tests.conftest import IN_CI, require_service
from tests.system.processes import asgi_start, child_database_url, child_env, stop

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

LIMIT = 50
REQUESTS = 200


def _post(url: str) -> tuple[int, str | None]:
    # the refresh endpoint shares the token endpoint's `auth` limit and answers a bad token
    # without hashing a password, so the burst is the server's, not PBKDF2's
    body = json.dumps({"refresh": "not-a-token"}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After")


def test_a_40_way_burst_on_two_processes_gets_at_most_the_limit_through(tmp_path):
    uses_redis = settings.CACHES["default"]["BACKEND"].startswith("django_redis")
    if IN_CI or uses_redis:
        require_service("Redis", uses_redis)
    else:
        pytest.skip("two processes share a limit through Redis")
    env = child_env(
        DATABASE_URL=child_database_url(),
        CRM_VAR_DIR=str(tmp_path / "var"),
        RATE_LIMIT_AUTH=f"{LIMIT}/min",
    )
    first, base_1 = asgi_start("config.asgi:application", env, tmp_path / "one.log")
    try:
        second, base_2 = asgi_start("config.asgi:application", env, tmp_path / "two.log")
    except RuntimeError:
        stop(first)
        raise
    try:
        urls = [f"{(base_1, base_2)[i % 2]}/api/auth/token/refresh/" for i in range(REQUESTS)]
        with ThreadPoolExecutor(40) as pool:
            answers = list(pool.map(_post, urls))
    finally:
        stop(first)
        stop(second)
    through = [status for status, _ in answers if status != 429]
    throttled = [retry for status, retry in answers if status == 429]
    assert set(through) == {401}  # the bad token, answered
    assert len(through) <= LIMIT * 1.1
    assert len(through) >= LIMIT  # and the limit is not stricter than configured
    assert all(retry is not None and 1 <= int(retry) <= 60 for retry in throttled)
