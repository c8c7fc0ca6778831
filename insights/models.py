"""Daily rollups of the manager analytics (docs/metrics.md, "Manager overview") and their fill state.

Narrow, additive count tables: one row per organization x local day x the dimensions the
dashboard filters on. Summing rows over any set of days gives the window totals, so the
readers never scan the raw tables for whole days (BENCHMARKS.md: rollup hierarchy).
Empty dimension values are stored as "" (never NULL) so the unique keys hold; the agent is
NULL when there is none, which two partial unique constraints cover.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from core.tenancy import OrgManager
from crm.models import Campaign, Member, Organization

DIMENSIONS = ("region", "product_line", "source")


def _agent_field() -> models.ForeignKey:
    # No database constraint, no cascade and so no index of its own (agent filters narrow by
    # organization and day first): a deleted member's rows keep counting in the organization's
    # totals (as the raw rows do, with agent NULL) until the next rebuild.
    return models.ForeignKey(
        Member,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )


def _organization_field() -> models.ForeignKey:
    # Rollup rows are derived data, rewritten whole days at a time: no foreign-key check per
    # row (checked at commit, they were a large share of a full rebuild's time, B4) and no
    # single-column index (every key and index starts with the organization). Deleting an
    # organization still deletes its rows (Django's collector does the cascade).
    return models.ForeignKey(
        Organization, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )


def _dimension_keys(name: str) -> list[models.UniqueConstraint]:
    """Unique (org, day, dims, agent); NULL agents are distinct in SQL, hence two partial keys."""
    keys = ["organization", "day", *DIMENSIONS]
    return [
        models.UniqueConstraint(
            fields=[*keys, "agent"], condition=Q(agent__isnull=False), name=f"{name}_key_agent"
        ),
        models.UniqueConstraint(fields=keys, condition=Q(agent__isnull=True), name=f"{name}_key_noagent"),
    ]


class LeadMeasures(models.Model):
    """The measures of leads by local creation day, at every level (one definition)."""

    created = models.PositiveIntegerField(default=0)
    qualified = models.PositiveIntegerField(default=0)
    converted = models.PositiveIntegerField(default=0)
    score_sum = models.PositiveBigIntegerField(default=0)
    score_count = models.PositiveIntegerField(default=0)
    # Estimated value entering the pipeline that day: of the leads created then that were not
    # closed (converted or lost) before their creation (LeadCloseMeasures has what leaves it).
    pipeline_in = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        abstract = True


class LeadCloseMeasures(models.Model):
    """Estimated value leaving the pipeline on the local day of a lead's first close
    (converted or lost), for the leads not closed before their creation: the pipeline value at
    a moment is everything that entered before it minus everything that left before it."""

    pipeline_out = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        abstract = True


class CallMeasures(models.Model):
    calls = models.PositiveIntegerField(default=0)
    successful = models.PositiveIntegerField(default=0)
    duration_seconds_sum = models.PositiveBigIntegerField(default=0)
    duration_count = models.PositiveIntegerField(default=0)
    automated = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class SaleMeasures(models.Model):
    kind = models.CharField(max_length=16)
    amount_sum = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class DimensionRollup(models.Model):
    organization = _organization_field()
    day = models.DateField()
    region = models.CharField(max_length=100, blank=True, default="")
    product_line = models.CharField(max_length=100, blank=True, default="")
    source = models.CharField(max_length=100, blank=True, default="")
    agent = _agent_field()

    objects = OrgManager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.region}/{self.product_line}/{self.source}/{self.agent_id}"


class LeadDailyRollup(DimensionRollup, LeadMeasures):
    """Leads by local creation day. `qualified` and `converted` count those leads (a cohort):
    a later status change rewrites the creation day, which is why ingestion marks it stale."""

    class Meta:
        constraints = _dimension_keys("leadroll")
        indexes = [models.Index(fields=["organization", "day"], name="leadroll_org_day")]


class LeadCloseDailyRollup(DimensionRollup, LeadCloseMeasures):
    """Leads by local day of their first close (converted or lost), with the lead's region,
    product line, source and agent."""

    class Meta:
        constraints = _dimension_keys("leadcloseroll")
        indexes = [models.Index(fields=["organization", "day"], name="leadcloseroll_org_day")]


class CallDailyRollup(DimensionRollup, CallMeasures):
    """Call activities by local day; region, product line and source come from the call's
    lead, the agent from the activity."""

    class Meta:
        constraints = _dimension_keys("callroll")
        indexes = [models.Index(fields=["organization", "day"], name="callroll_org_day")]


class SaleDailyRollup(DimensionRollup, SaleMeasures):
    """Sales by local closing day and kind; region and source from the sale's lead, product
    line and agent from the sale. Only sales in the organization's currency (or none)."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", *DIMENSIONS, "kind", "agent"],
                condition=Q(agent__isnull=False),
                name="saleroll_key_agent",
            ),
            models.UniqueConstraint(
                fields=["organization", "day", *DIMENSIONS, "kind"],
                condition=Q(agent__isnull=True),
                name="saleroll_key_noagent",
            ),
        ]
        indexes = [models.Index(fields=["organization", "day"], name="saleroll_org_day")]


class OrganizationDayTotal(models.Model):
    """The organization x day level of a dimension rollup (docs/statistics.md, "rollup
    hierarchy"): the same measures summed over region, product line, source and agent, so a
    dashboard without filters reads one row a day instead of thousands. Rebuilt from the
    finer rollup's rows of the same days."""

    organization = _organization_field()
    day = models.DateField()

    objects = OrgManager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day}"


class LeadDailyTotal(OrganizationDayTotal, LeadMeasures):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day"], name="leadtotal_key")]


class LeadCloseDailyTotal(OrganizationDayTotal, LeadCloseMeasures):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day"], name="leadclosetotal_key")]


class CallDailyTotal(OrganizationDayTotal, CallMeasures):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day"], name="calltotal_key")]


class SaleDailyTotal(OrganizationDayTotal, SaleMeasures):
    """By kind too: monthly recurring revenue reads the recurring sales without a filter."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day", "kind"], name="saletotal_key")]


class CampaignDailyRollup(models.Model):
    """Campaign messages by local sending day; the other counts are of those messages."""

    organization = _organization_field()
    day = models.DateField()
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    variant = models.CharField(max_length=50, blank=True, default="")
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    read = models.PositiveIntegerField(default=0)
    replied = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    objects = OrgManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "campaign", "variant"], name="campaignroll_key"
            )
        ]
        indexes = [models.Index(fields=["organization", "day"], name="campaignroll_org_day")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.campaign_id}/{self.variant}"


class AttributionDailyRollup(models.Model):
    """Last-touch attributed revenue by local closing day and campaign: each sale (in the
    organization's currency) counts for the campaign of the last touchpoint of its lead or
    contact before it closed. Computing that per sale is the costly part of the campaign
    figures, so past days are kept here (BENCHMARKS.md: 20 s live for a year of 1.7M sales)."""

    organization = _organization_field()
    day = models.DateField()
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    amount_sum = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    count = models.PositiveIntegerField(default=0)

    objects = OrgManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "day", "campaign"], name="attrroll_key")
        ]
        indexes = [models.Index(fields=["organization", "day"], name="attrroll_org_day")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.campaign_id}: {self.amount_sum}"


class CampaignLeadDailyRollup(models.Model):
    """Leads touched by a campaign, counted on the local day of their first touchpoint with
    it: each (campaign, lead) pair is counted once, on one day, so the days add up to the
    campaign's leads touched at any time. The dashboards read those from the campaigns' lead
    sets (CampaignLeadSet, which also unite over several campaigns); a rebuild reads these rows
    first to find the campaigns whose first touch on the rebuilt days went (a touchpoint
    deleted or moved), whose sets it must rewrite."""

    organization = _organization_field()
    day = models.DateField()
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    leads = models.PositiveIntegerField(default=0)

    objects = OrgManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "day", "campaign"], name="campleadroll_key")
        ]
        indexes = [models.Index(fields=["organization", "day"], name="campleadroll_org_day")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.campaign_id}: {self.leads}"


class OrganizationHourTotal(models.Model):
    """An hour level of a rollup (docs/statistics.md, "hour level"): the measures of one UTC
    hour, split at local midnight (`day` is the local day of the rows, so a half-hour time
    zone has two rows for the hour that holds its midnight). Readers take it for the whole
    hours at a window's edges, so only the minutes before the first whole hour and after the
    last refreshed one are computed from the raw rows. Rebuilt from the raw rows with the
    days (rows of whole days) and for today every few minutes (up to the last whole hour)."""

    organization = _organization_field()
    day = models.DateField()
    hour = models.DateTimeField()

    objects = OrgManager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.hour.isoformat()}"


def _hour_keys(name: str, *fields: str) -> list[models.UniqueConstraint]:
    # (organization, hour, day, ...): reads take an hour range, rebuilds delete days within
    # the same hours, both by this index.
    return [models.UniqueConstraint(fields=["organization", "hour", "day", *fields], name=f"{name}_key")]


class LeadHourlyTotal(OrganizationHourTotal, LeadMeasures):
    class Meta:
        constraints = _hour_keys("leadhour")


class LeadCloseHourlyTotal(OrganizationHourTotal, LeadCloseMeasures):
    class Meta:
        constraints = _hour_keys("leadclosehour")


class CallHourlyTotal(OrganizationHourTotal, CallMeasures):
    class Meta:
        constraints = _hour_keys("callhour")


class SaleHourlyTotal(OrganizationHourTotal, SaleMeasures):
    class Meta:
        constraints = _hour_keys("salehour", "kind")


def _hour_campaign_field() -> models.ForeignKey:
    # Deleting a campaign deletes its hour rows (the collector's query, rare); no foreign-key
    # check per row and no index of its own, as for the organization (rebuild time, B4).
    return models.ForeignKey(
        Campaign, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )


class CampaignHourlyRollup(OrganizationHourTotal):
    """Campaign messages by hour of sending and campaign (no variant: the variant counts of
    the A/B table read whole days and the live rest)."""

    campaign = _hour_campaign_field()
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    read = models.PositiveIntegerField(default=0)
    replied = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = _hour_keys("campaignhour", "campaign")


class AttributionHourlyRollup(OrganizationHourTotal):
    campaign = _hour_campaign_field()
    amount_sum = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = _hour_keys("attrhour", "campaign")


class CampaignLeadSet(models.Model):
    """The leads a campaign touched (a touchpoint of the lead with the campaign) before the end
    of `through_day`, as a stored id set (core.stats.idsets): the distinct leads touched by
    any of several campaigns are then a union of their sets plus the touchpoints since, not a
    COUNT(DISTINCT) over all their touchpoints (docs/statistics.md, "Id sets"). Rebuilt with
    the insights family's days for every campaign touched in or after the rebuilt days."""

    organization = _organization_field()
    campaign = _hour_campaign_field()
    through_day = models.DateField()
    size = models.PositiveIntegerField(default=0)
    leads = models.BinaryField()

    objects = OrgManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "campaign"], name="campleadset_key")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.campaign_id}: {self.size} leads through {self.through_day}"


class GoalMetric(models.TextChoices):
    REVENUE = "revenue", "Revenue"
    CONVERSIONS = "conversions", "Conversions"
    CALLS = "calls", "Calls"


class OrganizationGoal(models.Model):
    """A manager's monthly target for the whole organization (docs/metrics.md, "Overview tab")."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the local month.")
    metric = models.CharField(max_length=16, choices=GoalMetric.choices)
    target = models.DecimalField(max_digits=14, decimal_places=2)
    set_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        ordering = ["month", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month", "metric"], name="orggoal_org_month_metric"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.month:%Y-%m} {self.metric} {self.target}"


class SavedView(models.Model):
    """A named dashboard view (tab, range, filters) shared with the organization's managers."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    tab = models.CharField(max_length=16)
    # The view's query string as the page uses it (range, start, end, filters, tab params).
    query = models.CharField(max_length=1000, blank=True)
    created_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="savedview_org_name")]

    def __str__(self) -> str:
        return self.name


# Business insights, opportunities and performance series live in insights/bi/models.py.
from insights.bi.models import (  # noqa: E402, F401
    BusinessInsight,
    InsightSettings,
    Opportunity,
    OpportunityStatusChange,
    PerformanceMetric,
)

# Experiments (A/B tests of campaign variants and prices) live in insights/experiments/models.py.
from insights.experiments.models import (  # noqa: E402, F401
    Experiment,
    ExperimentEvent,
    ExperimentVariant,
)


class LiveTicket(models.Model):
    """A one-use ticket for the live-metrics socket (POST /api/v1/bi/ws-ticket): API clients
    authenticate a WebSocket with it instead of putting a JWT in a URL (URLs end up in logs).
    Only a hash of the ticket is stored."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Live ticket of {self.member_id}"
