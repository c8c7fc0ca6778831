"""Shared by every test of the manager analytics and the business insights."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clean_cache():
    # Tab payloads and overview answers are cached per organization data version: a value
    # cached by one test must never answer another.
    cache.clear()
    yield
    cache.clear()
