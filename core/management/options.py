"""Command-line options shared by the management commands."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError
from django.utils import timezone


def moment_option(value: str | None, *, name: str = "--now") -> dt.datetime:
    """The ISO 8601 moment given as `name` (without an offset it is UTC, as in ingestion),
    or now when it was not given; a CommandError naming the option otherwise."""
    if not value:
        return timezone.now()
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{name} is not an ISO 8601 moment: {value!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
