"""The manager analytics' family of statistics for the engine (core/stats): the six daily
rollups declared in insights.selectors.SPECS, rebuilt together and trusted together."""

from __future__ import annotations

from core.stats.families import Family
from insights.selectors import STATISTICS_FAMILY, earliest_data_day
from insights.services import insights_rollups_rebuild

FAMILY_NAME = STATISTICS_FAMILY

FAMILY = Family(
    name=FAMILY_NAME,
    # Touchpoints too: a new touchpoint can change the last touch, so the attribution, of
    # later sales.
    stale_entities=frozenset({"leads", "activities", "sales", "campaign_messages", "touchpoints"}),
    rebuild=insights_rollups_rebuild,
    earliest_day=earliest_data_day,
)
