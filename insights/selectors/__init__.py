"""Reads of the manager analytics, scoped by organization (docs/metrics.md, "Manager overview").

Each rollup is declared once (RollupSpec: its table, the raw rows it summarises, the
local-day column, the key columns, the additive measures). The rebuild (insights.services)
and the live part of every window here are both derived from the spec, so a rollup row and
the live computation cannot disagree.

Window totals = trusted rollup days + live aggregates over the raw tables for the rest (the
partial first day, today, days marked stale): two queries per table whatever the size, and
several windows (current, previous, the last 30 days of each) share those two queries
through conditional aggregation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Sum

from core.metrics import counted_currencies
from core.models import FillState
from core.stats.fillstate import (  # noqa: F401 - re-exported
    WindowPlan,
    hours_trusted_until,
    trusted_through,
    window_plan,
)
from core.stats.fillstate import fill_state as family_fill_state
from core.stats.idsets import idset_union_size, idset_unpack
from core.stats.rollups import (  # noqa: F401 - re-exported for the tab selectors
    HOUR,
    Grouped,
    Measure,
    Part,
    RollupSpec,
    Totals,
    raw_totals,
    window_totals,
)
from core.timeranges import Window, local_midnight
from crm.models import (
    Activity,
    ActivityType,
    Campaign,
    CampaignMessage,
    Lead,
    Member,
    Organization,
    Sale,
    Touchpoint,
    lead_first_close,
)
from insights.models import (
    AttributionDailyRollup,
    AttributionHourlyRollup,
    CallDailyRollup,
    CallDailyTotal,
    CallHourlyTotal,
    CampaignDailyRollup,
    CampaignHourlyRollup,
    CampaignLeadDailyRollup,
    CampaignLeadSet,
    LeadCloseDailyRollup,
    LeadCloseDailyTotal,
    LeadCloseHourlyTotal,
    LeadDailyRollup,
    LeadDailyTotal,
    LeadHourlyTotal,
    SaleDailyRollup,
    SaleDailyTotal,
    SaleHourlyTotal,
)

CENT = Decimal("0.01")
# A call is successful when its free-text outcome is exactly this (DESIGN section 6).
SUCCESS_OUTCOME = "success"


def _leads(organization: Organization) -> QuerySet:
    return Lead.objects.for_org(organization)


# Not closed before its creation: only such a lead is ever open (docs/metrics.md, pipelineValue).
OPENS = (Q(converted_at__isnull=True) | Q(converted_at__gte=F("created_at"))) & (
    Q(lost_at__isnull=True) | Q(lost_at__gte=F("created_at"))
)


def _closed_leads(organization: Organization) -> QuerySet:
    """Leads that were open once and closed since, with `closed_at` (their first close)."""
    return (
        Lead.objects.for_org(organization)
        .annotate(closed_at=lead_first_close())
        .filter(OPENS, closed_at__isnull=False)
    )


def _calls(organization: Organization) -> QuerySet:
    return Activity.objects.for_org(organization).filter(type=ActivityType.CALL)


def _sales(organization: Organization) -> QuerySet:
    # Amounts are never converted: sales in another currency stay out of the revenue (the
    # currency rule of core.metrics, the agents' revenue uses the same).
    return Sale.objects.for_org(organization).filter(currency__in=counted_currencies(organization.currency))


def _messages(organization: Organization) -> QuerySet:
    return CampaignMessage.objects.for_org(organization).filter(sent_at__isnull=False)


DIMENSION_TEXT = ("region", "product_line", "source")

LEADS = RollupSpec(
    name="leads",
    model=LeadDailyRollup,
    raw=_leads,
    time_field="created_at",
    keys={
        "region": "region",
        "product_line": "product_line",
        "source": "source",
        "agent_id": "assigned_agent_id",
    },
    text_keys=DIMENSION_TEXT,
    measures={
        "created": Measure(Count, "id"),
        "qualified": Measure(Count, "id", Q(interested_at__isnull=False)),
        "converted": Measure(Count, "id", Q(converted_at__isnull=False)),
        "score_sum": Measure(Sum, "score"),
        "score_count": Measure(Count, "score"),
        "pipeline_in": Measure(Sum, "estimated_value", OPENS),
    },
)

# What leaves the pipeline, by the local day of the lead's first close; with LEADS'
# pipeline_in it gives the pipeline value at any moment from rollup days (pipeline_values).
LEAD_CLOSES = RollupSpec(
    name="lead_closes",
    model=LeadCloseDailyRollup,
    raw=_closed_leads,
    time_field="closed_at",
    keys=LEADS.keys,
    text_keys=DIMENSION_TEXT,
    measures={"pipeline_out": Measure(Sum, "estimated_value")},
)

CALLS = RollupSpec(
    name="calls",
    model=CallDailyRollup,
    raw=_calls,
    time_field="occurred_at",
    keys={
        "region": "lead__region",
        "product_line": "lead__product_line",
        "source": "lead__source",
        "agent_id": "agent_id",
    },
    text_keys=DIMENSION_TEXT,
    measures={
        "calls": Measure(Count, "id"),
        "successful": Measure(Count, "id", Q(outcome=SUCCESS_OUTCOME)),
        "duration_seconds_sum": Measure(Sum, "duration_seconds"),
        "duration_count": Measure(Count, "duration_seconds"),
        "automated": Measure(Count, "id", Q(automated=True)),
    },
)

SALES = RollupSpec(
    name="sales",
    model=SaleDailyRollup,
    raw=_sales,
    time_field="closed_at",
    keys={
        "region": "lead__region",
        "product_line": "product_line",
        "source": "lead__source",
        "agent_id": "agent_id",
        "kind": "kind",
    },
    text_keys=DIMENSION_TEXT,
    measures={"amount_sum": Measure(Sum, "amount"), "count": Measure(Count, "id")},
)

CAMPAIGNS = RollupSpec(
    name="campaigns",
    model=CampaignDailyRollup,
    raw=_messages,
    time_field="sent_at",
    keys={"campaign_id": "campaign_id", "variant": "variant"},
    text_keys=("variant",),
    measures={
        "sent": Measure(Count, "id"),
        "delivered": Measure(Count, "delivered_at"),
        "read": Measure(Count, "read_at"),
        "replied": Measure(Count, "replied_at"),
        "failed": Measure(Count, "failed_at"),
    },
)


def _attributed_sales(organization: Organization) -> QuerySet:
    """Sales (as SALES counts them) with the campaign of their last touch, where there is one:
    the campaign is stored on the sale when the sale or a touchpoint arrives (crm.last_touch),
    so reading it is a column, not a lookup per sale."""
    return _sales(organization).filter(last_touch_campaign__isnull=False)


def _first_campaign_touches(organization: Organization) -> QuerySet:
    """Each lead's first touchpoint with each campaign (ties at the same instant: all of them;
    the measure counts distinct leads)."""
    earlier = Touchpoint.objects.filter(
        organization_id=organization.pk,
        lead_id=OuterRef("lead_id"),
        campaign_id=OuterRef("campaign_id"),
        occurred_at__lt=OuterRef("occurred_at"),
    )
    return (
        Touchpoint.objects.for_org(organization)
        .filter(lead_id__isnull=False, campaign_id__isnull=False)
        .filter(~Exists(earlier))
    )


# Organization-wide like CAMPAIGNS: neither has a region, product line, source or agent key.
ATTRIBUTION = RollupSpec(
    name="attribution",
    model=AttributionDailyRollup,
    raw=_attributed_sales,
    time_field="closed_at",
    keys={"campaign_id": "last_touch_campaign_id"},
    measures={"amount_sum": Measure(Sum, "amount"), "count": Measure(Count, "id")},
)

CAMPAIGN_LEADS = RollupSpec(
    name="campaign_leads",
    model=CampaignLeadDailyRollup,
    raw=_first_campaign_touches,
    time_field="occurred_at",
    keys={"campaign_id": "campaign_id"},
    measures={"leads": Measure(Count, "lead_id", distinct=True)},
)

# The organization x day level of each dimension rollup (the rollup hierarchy): reads without
# a region, product line, source or agent filter or grouping take it (core.stats.rollups).
# Their hour levels (organization x UTC hour; campaigns by campaign) answer the whole hours at
# a window's edges without filters, so only minutes are computed live (docs/statistics.md).
LEADS = LEADS.with_levels(
    LEADS.level(name="leads_total", model=LeadDailyTotal, keys=()),
    LEADS.level(name="leads_hours", model=LeadHourlyTotal, keys=(), period=HOUR),
)
LEAD_CLOSES = LEAD_CLOSES.with_levels(
    LEAD_CLOSES.level(name="lead_closes_total", model=LeadCloseDailyTotal, keys=()),
    LEAD_CLOSES.level(name="lead_closes_hours", model=LeadCloseHourlyTotal, keys=(), period=HOUR),
)
CALLS = CALLS.with_levels(
    CALLS.level(name="calls_total", model=CallDailyTotal, keys=()),
    CALLS.level(name="calls_hours", model=CallHourlyTotal, keys=(), period=HOUR),
)
SALES = SALES.with_levels(
    SALES.level(name="sales_total", model=SaleDailyTotal, keys=("kind",)),
    SALES.level(name="sales_hours", model=SaleHourlyTotal, keys=("kind",), period=HOUR),
)
CAMPAIGNS = CAMPAIGNS.with_levels(
    CAMPAIGNS.level(name="campaign_hours", model=CampaignHourlyRollup, keys=("campaign_id",), period=HOUR)
)
ATTRIBUTION = ATTRIBUTION.with_levels(
    ATTRIBUTION.level(
        name="attribution_hours", model=AttributionHourlyRollup, keys=("campaign_id",), period=HOUR
    )
)

SPECS: tuple[RollupSpec, ...] = (LEADS, LEAD_CLOSES, CALLS, SALES, CAMPAIGNS, ATTRIBUTION, CAMPAIGN_LEADS)
# The statistics engine's family these rollups make up (insights/statistics.py).
STATISTICS_FAMILY = "insights"
# Filter name -> rollup column; the campaign rollup has no such dimension (see the docs).
FILTER_COLUMNS = {"region": "region", "product_line": "product_line", "source": "source", "agent": "agent_id"}


# --- filters and fill state ---------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The dashboard filters; "" / None mean "all". Campaign figures ignore them."""

    region: str = ""
    product_line: str = ""
    source: str = ""
    agent_id: int | None = None

    def _values(self) -> dict[str, object]:
        values: dict[str, object] = {c: getattr(self, c) for c in DIMENSION_TEXT if getattr(self, c)}
        if self.agent_id is not None:
            values["agent_id"] = self.agent_id
        return values

    def columns(self) -> set[str]:
        return set(self._values())

    def rollup_q(self, spec: RollupSpec) -> Q:
        return Q(**{c: v for c, v in self._values().items() if c in spec.keys})

    def raw_q(self, spec: RollupSpec) -> Q:
        return Q(**{spec.keys[c]: v for c, v in self._values().items() if c in spec.keys})


def fill_state(organization: Organization) -> FillState | None:
    return family_fill_state(organization, STATISTICS_FAMILY)


def trust(organization: Organization) -> tuple[dt.date | None, dt.datetime | None]:
    """The last trusted rollup day and the instant the hour levels are trusted until
    (window_totals' `trusted_last_day` and `hours_until`), from one read of the fill state."""
    state = fill_state(organization)
    return trusted_through(state), hours_trusted_until(state, organization.tz)


# --- window totals ------------------------------------------------------------------------


def earliest_data_day(organization: Organization) -> dt.date | None:
    """The first local day with any row of any rollup (a first fill starts there)."""
    moments = [spec.raw(organization).aggregate(first=Min(spec.time_field))["first"] for spec in SPECS]
    moments = [m for m in moments if m is not None]
    return min(moments).astimezone(organization.tz).date() if moments else None


# --- live, point-in-time figures ----------------------------------------------------------


def _open_at(moment: dt.datetime) -> Q:
    """Created before `moment`, neither converted nor lost by then."""
    return (
        Q(created_at__lt=moment)
        & (Q(converted_at__isnull=True) | Q(converted_at__gte=moment))
        & (Q(lost_at__isnull=True) | Q(lost_at__gte=moment))
    )


PIPELINE_FLOWS = frozenset({"pipeline_in", "pipeline_out"})


def pipeline_parts(moments: dict[str, dt.datetime]) -> dict[str, Part]:
    """The parts of pipeline_values' flows: all accepted time up to each moment (only the
    flows are needed from them)."""
    return {
        name: Part(Window(ALL_TIME.start, moment), measures=PIPELINE_FLOWS)
        for name, moment in moments.items()
    }


def pipeline_values(
    *,
    organization: Organization,
    filters: Filters,
    moments: dict[str, dt.datetime],
    trusted_last_day: dt.date | None,
    hours_until: dt.datetime | None = None,
    inflow: dict[str, Grouped] | None = None,
) -> dict[str, Decimal]:
    """Sum of estimated_value of the leads open at each moment (created before it, neither
    converted nor lost by then): what entered the pipeline before the moment minus what left
    it before the moment, each from its rollup days plus the live rest (at most six
    queries, whatever the number of leads). `inflow`: the LEADS totals of pipeline_parts(),
    when the caller read them with its own leads parts (three queries fewer)."""
    parts = pipeline_parts(moments)
    flows = {
        measure: window_totals(
            organization=organization,
            spec=spec,
            parts=parts,
            filters=filters,
            trusted_last_day=trusted_last_day,
            hours_until=hours_until,
        )
        for spec, measure in ((LEADS, "pipeline_in"), (LEAD_CLOSES, "pipeline_out"))
        if measure == "pipeline_out" or inflow is None
    }
    if inflow is not None:
        flows["pipeline_in"] = inflow
    # Both flows are sums of cents: the difference is too, to the cent. Quantizing drops only
    # the binary noise of SQLite's floating-point SUM, which a difference of two large sums
    # exposes (136079.260000001); PostgreSQL's numeric sums are exact.
    return {
        name: (
            Decimal(flows["pipeline_in"][name].get(None, {}).get("pipeline_in", 0))
            - Decimal(flows["pipeline_out"][name].get(None, {}).get("pipeline_out", 0))
        ).quantize(CENT)
        for name in moments
    }


def campaigns_by_id(*, organization: Organization, ids: set[int]) -> dict[int, dict]:
    rows = (
        Campaign.objects.for_org(organization).filter(id__in=ids).values("id", "external_id", "name", "spend")
    )
    return {row["id"]: row for row in rows}


# Leads touched "at any time": the span of dates the product accepts (ingestion and ranges).
ALL_TIME = Window(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2101, 1, 1, tzinfo=dt.UTC))


def campaign_leads_touched(
    *, organization: Organization, campaign_ids: Iterable[int], trusted_last_day: dt.date | None
) -> dict[int, int]:
    """Leads whose touchpoints (at any time) include each campaign: the distinct leads of the
    campaign alone (distinct_leads_touched), two queries for any number of campaigns."""
    ids = set(campaign_ids)
    if not ids:
        return {}
    return distinct_leads_touched(
        organization=organization, sets={cid: {cid} for cid in ids}, trusted_last_day=trusted_last_day
    )


def distinct_leads_touched(
    *, organization: Organization, sets: dict[Hashable, set[int]], trusted_last_day: dt.date | None = None
) -> dict[Hashable, int]:
    """The distinct leads touched (at any time) by each set of campaigns: a lead touched by two
    campaigns of a set counts once in its total cost per lead. The stored lead set of each
    campaign whose set ends by the last trusted day (CampaignLeadSet), united with the leads
    of the touchpoints since; a campaign without such a set counts from all its touchpoints.
    Two queries (one without a trusted day), whatever the number of touchpoints."""
    every = set().union(*sets.values())
    touches = Touchpoint.objects.for_org(organization).filter(campaign_id__in=every, lead_id__isnull=False)
    stored: dict[int, np.ndarray] = {}
    if trusted_last_day is not None:
        rows = CampaignLeadSet.objects.for_org(organization).filter(
            campaign_id__in=every, through_day__lte=trusted_last_day
        )
        stored = {campaign: idset_unpack(blob) for campaign, blob in rows.values_list("campaign_id", "leads")}
        since = local_midnight(trusted_last_day + dt.timedelta(days=1), organization.tz)
        # a campaign without a stored set has no touchpoint before `since` (its set would
        # exist, empty sets excepted) or a set newer than the trusted days: all its touches
        unstored = every - set(stored)
        recent = Q(occurred_at__gte=since)
        touches = touches.filter(recent | Q(campaign_id__in=unstored) if unstored else recent)
    live: dict[int, list[int]] = {}
    for campaign, lead in touches.values_list("campaign_id", "lead_id").distinct().order_by():
        live.setdefault(campaign, []).append(lead)
    return {
        name: idset_union_size(
            (stored[c] for c in ids if c in stored), (lead for c in ids for lead in live.get(c, ()))
        )
        for name, ids in sets.items()
    }


# --- filter values ------------------------------------------------------------------------


def dimension_value_used(*, organization: Organization, dimension: str, value: str) -> bool:
    """Whether the organization has ever used this region / product line / source."""
    if Lead.objects.for_org(organization).filter(**{dimension: value}).exists():
        return True
    return (
        dimension == "product_line" and Sale.objects.for_org(organization).filter(product_line=value).exists()
    )


def member_by_email(*, organization: Organization, email: str) -> Member | None:
    return Member.objects.for_org(organization).filter(email=email.strip().lower()).only("id").first()


def member_by_id(*, organization: Organization, member_id: int) -> Member | None:
    return Member.objects.for_org(organization).filter(pk=member_id).only("id").first()
