"""Planner statistics after bulk writes (PostgreSQL only).

Autovacuum refreshes them eventually, and is off on some servers; until then the planner
takes bulk-written tables for their old size and picks scans over index lookups. Callers
that write many rows at once (the demo loader, the rollup rebuilds) analyze what they wrote.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Model


def analyze(models: Iterable[type[Model]]) -> None:
    """ANALYZE the tables of `models` in one statement; nothing on other databases."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    if tables:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")
