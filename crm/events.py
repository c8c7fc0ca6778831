"""What other apps hear when data for an organization was ingested.

The ingestion service calls `data_ingested` inside its transaction with the entity and the
span of the business timestamps it stored. Listeners (registered once, in AppConfig.ready)
may write in the same transaction, e.g. mark their rollups stale from the first affected
day, and schedule work with `transaction.on_commit`. The per-organization cache version
is bumped after commit, so no cached answer outlives the data it was computed from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from core.cache import org_data_changed


@dataclass(frozen=True)
class Ingested:
    organization_id: int
    entity: str
    # Earliest and latest business timestamp among the stored rows (None when unknown).
    first_at: dt.datetime | None
    last_at: dt.datetime | None
    rows: int


# The entity of the event sent when ingestion changed the derived last-touch campaign of
# sales (crm.last_touch); its span is those sales' closing times.
SALE_ATTRIBUTION = "sale_attribution"

Listener = Callable[[Ingested], None]
_listeners: list[Listener] = []


def on_ingested(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def data_ingested(event: Ingested) -> None:
    for listener in _listeners:
        listener(event)
    transaction.on_commit(lambda: org_data_changed(event.organization_id))
