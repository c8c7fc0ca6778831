"""Personas shared by every test: an agent and a manager of organization A, an admin of
A, and an outsider of organization B (STYLE.md)."""

from __future__ import annotations

import contextlib
import os

import pytest
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from crm.models import Role
from tests.factories import MemberFactory, OrganizationFactory

PASSWORD = "pass-word-123"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(what: str, available: bool) -> None:
    """Fail in CI, skip elsewhere, when a real service a test needs is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available here")


@pytest.fixture(scope="session", autouse=True)
def _empty_cache() -> None:
    """A worker's Redis database outlives a run (Redis runs for the whole session, CI included),
    and a new test database gives the same ids again: a cached number of an earlier run would
    be read as this run's. Each worker starts on an empty cache."""
    from django.core.cache import cache

    # With Redis down the cache client ignores errors (settings): the tests that need Redis say so.
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with no requests counted against any rate limit (core.ratelimit): the
    suite's many requests from 127.0.0.1 are separate tests' clients, not one burst. The
    limits stay on, at their production values."""
    from core.circuit import breaker
    from core.ratelimit import RateLimitUnavailable, reset

    breaker.reset()
    # Redis down: the tests that need it say so.
    with contextlib.suppress(RateLimitUnavailable):
        reset()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hasher():
    """Every factory member hashes a password; PBKDF2 made that most of the suite's time.
    Logging in still checks the password, through the same hasher interface."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def org_a(db):
    return OrganizationFactory(slug="acme", name="Acme Ltd", timezone="Africa/Nairobi", currency="KES")


@pytest.fixture
def org_b(db):
    return OrganizationFactory(slug="globex", name="Globex Corp", timezone="UTC", currency="USD")


@pytest.fixture
def admin_a(org_a):
    return MemberFactory(
        email="admin@acme.test", name="Ada Admin", organization=org_a, role=Role.ADMIN, is_staff=True
    )


@pytest.fixture
def manager_a(org_a):
    return MemberFactory(email="manager@acme.test", name="Mia Manager", organization=org_a, role=Role.MANAGER)


@pytest.fixture
def agent_a(org_a):
    return MemberFactory(email="agent@acme.test", name="Alan Agent", organization=org_a, role=Role.AGENT)


@pytest.fixture
def outsider(org_b):
    return MemberFactory(
        email="boss@globex.test", name="Olga Outsider", organization=org_b, role=Role.ADMIN, is_staff=True
    )


def jwt_client(member) -> APIClient:
    client = APIClient()
    token = RefreshToken.for_user(member).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def api_client_for():
    """api_client_for(member) -> an APIClient authenticated with that member's JWT."""
    return jwt_client
