"""The manager analytics' family of statistics for the engine (core/stats): the six daily
rollups declared in insights.selectors.SPECS, rebuilt together and trusted together."""

from __future__ import annotations

from core.stats.families import Family
from crm.events import SALE_ATTRIBUTION
from insights.selectors import STATISTICS_FAMILY, earliest_data_day
from insights.services import insights_rollups_rebuild

FAMILY_NAME = STATISTICS_FAMILY

FAMILY = Family(
    name=FAMILY_NAME,
    # Touchpoints for the first touch of a lead with a campaign (CAMPAIGN_LEADS); the sales
    # whose stored last-touch campaign ingestion changed for the attribution, from their
    # closing days (crm.last_touch).
    stale_entities=frozenset(
        {"leads", "activities", "sales", "campaign_messages", "touchpoints", SALE_ATTRIBUTION}
    ),
    rebuild=insights_rollups_rebuild,
    earliest_day=earliest_data_day,
)
