"""The manager analytics' families of statistics for the engine (core/stats): the six daily
rollups declared in insights.selectors.SPECS, rebuilt together and trusted together; and
the performance series (insights.bi.performance), whose days, weeks and months are
rewritten only where their days are stale or new."""

from __future__ import annotations

from core.stats.families import Family
from crm.events import SALE_ATTRIBUTION
from insights.bi.performance.selectors import STATISTICS_FAMILY as PERFORMANCE_FAMILY_NAME
from insights.bi.performance.services import performance_metrics_rebuild
from insights.selectors import STATISTICS_FAMILY, earliest_data_day
from insights.services import insights_hours_rebuild, insights_rollups_rebuild

FAMILY_NAME = STATISTICS_FAMILY
# A first fill of the performance series covers at most this many days: about 400 days,
# 58 weeks and 14 months of rows per organization and agent (older periods can be built
# on demand with `rebuild_statistics <org> --family performance --days N`).
PERFORMANCE_FIRST_FILL_DAYS = 400

FAMILY = Family(
    name=FAMILY_NAME,
    # Touchpoints for the first touch of a lead with a campaign (CAMPAIGN_LEADS); the sales
    # whose stored last-touch campaign ingestion changed for the attribution, from their
    # closing days (crm.last_touch).
    stale_entities=frozenset(
        {"leads", "activities", "sales", "campaign_messages", "touchpoints", SALE_ATTRIBUTION}
    ),
    rebuild=insights_rollups_rebuild,
    rebuild_hours=insights_hours_rebuild,
    earliest_day=earliest_data_day,
)

PERFORMANCE_FAMILY = Family(
    name=PERFORMANCE_FAMILY_NAME,
    # The series read leads (created and handled), sales (revenue, customers) and campaign
    # messages (engagement); calls and touchpoints do not enter them.
    stale_entities=frozenset({"leads", "sales", "campaign_messages"}),
    rebuild=performance_metrics_rebuild,
    earliest_day=earliest_data_day,
    first_fill_days=PERFORMANCE_FIRST_FILL_DAYS,
)
