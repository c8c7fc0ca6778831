"""What each dashboard tab computes: reads (insights.selectors) and pure arithmetic
(insights.metrics) put together for one `DashboardQuery`, returned as frozen dataclasses.

One module per tab (`insights.tabs.compute.<tab>`). Nothing here rounds or formats: the
catalogue figures of a tab (its KPI tiles) come out unrounded, as `KpiComparison`, so that
changes are computed on unrounded values (DESIGN section 4) and `insights.tabs.present`
rounds each one once, by its catalogue unit (core.catalogue.shown). The catalogue's own
compute functions (insights/catalogue.py) call the same functions, so a tile, its API field,
its CSV cell and `metric_value()` are one number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.catalogue import Value


@dataclass(frozen=True)
class KpiComparison:
    """A tab's KPI figures over W and over the previous window, unrounded (ints, Decimals,
    None for a rate or mean over nothing), and each figure's change against the previous
    window (core.metrics.trend_percent or trend_points: already one decimal, None without a
    base). Keys are the payload's field names."""

    current: Mapping[str, Value]
    previous: Mapping[str, Value]
    changes: Mapping[str, float | None]
