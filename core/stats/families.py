"""The registry of statistic families."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crm.models import Organization

# Days always rebuilt by a refresh, so a change the stale marks miss (a lead re-assigned to
# another recent day, a lead's region edited after its calls) is corrected within a week.
DEFAULT_TRAILING_DAYS = 7


@dataclass(frozen=True)
class Family:
    """One family of rollup tables that are rebuilt and trusted together."""

    name: str
    # Ingested entities whose rows can change this family's days (crm.events.Ingested.entity).
    stale_entities: frozenset[str]
    # Replaces every row of the local days [first_day, last_day] in one transaction; returns
    # the rows written. Idempotent: twice, or after a crash halfway, gives the same rows.
    rebuild: Callable[..., int]
    # The first local day with data (where a first fill starts), or None without data.
    earliest_day: Callable[[Organization], dt.date | None]
    trailing_days: int = DEFAULT_TRAILING_DAYS
    # A first fill goes back at most this many days (up to yesterday), for a family whose
    # rows are too many to keep for the whole history; None: back to the first day with data.
    first_fill_days: int | None = None
    # Replaces the hour-level rows of the local days [first_day, last_day] with those of the
    # raw rows before `until` (core.stats.rollups.hours_rebuild); None: no hour levels.
    rebuild_hours: Callable[..., int] | None = None
    # Work that follows a refresh of this family (e.g. recording goals achieved); quick,
    # or it queues its own task.
    after_refresh: Callable[..., None] | None = None


_FAMILIES: dict[str, Family] = {}


def family_register(family: Family) -> None:
    """Called once per family, from its app's AppConfig.ready."""
    existing = _FAMILIES.get(family.name)
    if existing is not None and existing != family:
        raise ValueError(f"a different statistic family is already registered as {family.name!r}")
    _FAMILIES[family.name] = family


def family_get(name: str) -> Family:
    try:
        return _FAMILIES[name]
    except KeyError:
        raise LookupError(f"no statistic family {name!r}; known: {', '.join(sorted(_FAMILIES))}") from None


def families() -> tuple[Family, ...]:
    return tuple(_FAMILIES[name] for name in sorted(_FAMILIES))
