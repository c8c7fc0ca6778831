"""Rate limits hold (RELIABILITY.md G10, issue 20): 429 with Retry-After over a limit, at most
the limit let through under 40-way concurrency, a lockout after repeated failed sign-ins on the
page and the token endpoint, and the chosen behaviour with Redis down (sign-ins refused with
503, reads and writes let through). On Redis in CI, as in production (config/settings.py)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from core.ratelimit import Rate, hit
from crm.services import api_key_create
from tests.conftest import IN_CI, PASSWORD, require_service

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"
LOGIN = "/accounts/login/"


def limits(**rates: str) -> override_settings:
    return override_settings(RATE_LIMITS={**settings.RATE_LIMITS, **rates})


def _uses_redis() -> bool:
    return settings.CACHES["default"]["BACKEND"].startswith("django_redis")


def assert_throttled(response, *, at_most: int) -> None:
    assert response.status_code == 429, response.content[:300]
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= at_most


def test_rates_are_read_as_requests_per_period():
    assert Rate.parse("10/min") == Rate(10, 60)
    assert Rate.parse("5/15m") == Rate(5, 900)
    assert Rate.parse("100/s") == Rate(100, 1)
    assert Rate.parse("1200/hour") == Rate(1200, 3600)
    with pytest.raises(ValueError, match="Not a rate"):
        Rate.parse("ten a minute")


def test_the_window_lets_exactly_the_limit_through_under_40_way_concurrency():
    # given 200 requests at once from 40 threads against a limit of 50 per minute
    if IN_CI:
        require_service("Redis", _uses_redis())
    with ThreadPoolExecutor(40) as pool:
        decisions = list(pool.map(lambda _: hit("test:burst", Rate(50, 60)), range(200)))
    # then exactly 50 pass (no overshoot), and the others are told how long to wait
    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 50
    assert sorted(d.remaining for d in allowed) == list(range(50))
    assert all(1 <= d.retry_after_seconds <= 60 for d in decisions if not d.allowed)


def test_the_window_slides():
    # given a limit of 2 per second, used up
    assert [hit("test:slide", Rate(2, 1)).allowed for _ in range(3)] == [True, True, False]
    # when the second is over, then requests pass again
    time.sleep(1.05)
    assert hit("test:slide", Rate(2, 1)).allowed


def test_a_member_over_the_limit_gets_429_with_retry_after(manager_a, api_client_for):
    client = api_client_for(manager_a)
    with limits(user="3/min"):
        statuses = [client.get("/api/v1/reports/schedules").status_code for _ in range(3)]
        over = client.get("/api/v1/reports/schedules")
    assert statuses == [200, 200, 200]
    assert_throttled(over, at_most=60)


def test_members_are_counted_separately(manager_a, admin_a, api_client_for):
    with limits(user="2/min"):
        first = api_client_for(manager_a)
        assert [first.get("/api/v1/reports/schedules").status_code for _ in range(3)] == [200, 200, 429]
        # another member of the same organization still has their whole allowance
        assert api_client_for(admin_a).get("/api/v1/reports/schedules").status_code == 200


def test_an_api_key_is_counted_under_its_own_limit(org_a, client):
    _, raw = api_key_create(organization=org_a, name="crm sync", actor=None)
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {raw}"}
    with limits(apikey="2/min", ingest="100/min"):
        statuses = [
            client.post("/api/v1/ingest/leads/", "[]", content_type="application/json", **headers).status_code
            for _ in range(3)
        ]
    assert 429 not in statuses[:2]
    assert statuses[2] == 429


def test_the_token_endpoint_is_limited_per_address(client, manager_a):
    # given one address trying many e-mails (credential stuffing: no one e-mail fails often)
    with limits(auth="5/min"):
        statuses = [
            client.post(
                TOKEN, {"email": f"guess{i}@acme.test", "password": "x"}, content_type="application/json"
            )
            for i in range(6)
        ]
        # a right password from another address is not held up by them
        other = client.post(
            TOKEN,
            {"email": manager_a.email, "password": PASSWORD},
            content_type="application/json",
            REMOTE_ADDR="10.0.0.9",
        )
    assert [r.status_code for r in statuses[:5]] == [401] * 5
    assert_throttled(statuses[5], at_most=60)
    assert other.status_code == 200


def test_the_login_page_is_limited_per_address(client):
    with limits(login="3/min"):
        answers = [client.post(LOGIN, {"username": f"guess{i}@acme.test", "password": "x"}) for i in range(4)]
    assert [a.status_code for a in answers[:3]] == [200] * 3  # the form again, with its error
    assert answers[3].status_code == 429
    assert 1 <= int(answers[3]["Retry-After"]) <= 60
    assert "Too many sign-in attempts" in answers[3].content.decode()


def test_five_failed_sign_ins_lock_the_email_on_the_page_and_the_api(client, manager_a, agent_a):
    # given five wrong passwords for the manager's e-mail from one address: the fifth locks it
    wrong = [client.post(LOGIN, {"username": manager_a.email, "password": "wrong"}) for _ in range(5)]
    assert [w.status_code for w in wrong] == [200, 200, 200, 200, 429]
    # then even the right password is refused, on the page and through the token endpoint
    page = client.post(LOGIN, {"username": manager_a.email, "password": PASSWORD})
    api = client.post(
        TOKEN, {"email": manager_a.email.upper(), "password": PASSWORD}, content_type="application/json"
    )
    assert page.status_code == 429
    assert "Too many failed sign-ins" in page.content.decode()
    assert int(page["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "locked_out"
    assert int(api["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    # while another member signing in from the same address is not locked out
    assert client.post(LOGIN, {"username": agent_a.email, "password": PASSWORD}).status_code == 302


def test_a_successful_sign_in_resets_the_failure_count(client, manager_a):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(TOKEN, {"email": manager_a.email, "password": "wrong"}, content_type="application/json")
    ok = client.post(TOKEN, {"email": manager_a.email, "password": PASSWORD}, content_type="application/json")
    assert ok.status_code == 200
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(TOKEN, {"email": manager_a.email, "password": "wrong"}, content_type="application/json")
    assert (
        client.post(
            TOKEN, {"email": manager_a.email, "password": PASSWORD}, content_type="application/json"
        ).status_code
        == 200
    )


DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nobody listens: refused at once
        "KEY_PREFIX": "crmi",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
            "IGNORE_EXCEPTIONS": True,
        },
    }
}


@pytest.fixture
def redis_down():
    with override_settings(CACHES=DEAD_REDIS, DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS=False):
        yield
        caches["default"].close()


def test_with_redis_down_sign_ins_are_refused_and_the_rest_passes(
    client, manager_a, api_client_for, redis_down
):
    # when the limiter's store is unreachable
    token = client.post(
        TOKEN, {"email": manager_a.email, "password": PASSWORD}, content_type="application/json"
    )
    page = client.post(LOGIN, {"username": manager_a.email, "password": PASSWORD})
    read = api_client_for(manager_a).get("/api/v1/reports/schedules")
    # then sign-ins are refused (an unlimited sign-in is a password-guessing door) with a retry
    assert token.status_code == 503
    assert token.json()["error"]["code"] == "service_unavailable"
    assert int(token["Retry-After"]) > 0
    assert page.status_code == 503
    assert "Signing in is paused" in page.content.decode()
    assert int(page["Retry-After"]) > 0
    # and a signed-in member's reads keep working
    assert read.status_code == 200
