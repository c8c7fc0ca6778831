"""Business insights, opportunities and performance metric series (seed 000; docs/insights.md).

Models only: the detectors (insights.bi.detectors), their reads (insights.bi.selectors) and
the writes (insights.bi.services) live beside them. Imported by insights/models.py so that
Django sees them as models of the `insights` app.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from core.tenancy import OrgManager
from crm.models import Contact, Lead, Member, Organization


class InsightType(models.TextChoices):
    MISSED_OPPORTUNITY = "missed_opportunity", "Missed opportunity"
    UPSELL_POTENTIAL = "upsell_potential", "Upsell potential"
    CONVERSION_RISK = "conversion_risk", "Conversion risk"
    ENGAGEMENT_TREND = "engagement_trend", "Engagement trend"
    PERFORMANCE = "performance", "Performance"


class Priority(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# Sort order of priorities (high first) for lists and the page.
PRIORITY_ORDER = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}


class BusinessInsight(models.Model):
    """One finding of a detector about one subject (a lead, a contact, an agent, a source...).

    `subject_key` names the subject ("lead:42", "source:Referral:channel:email", "agent:7:
    conversion"): at most one open insight per (organization, type, subject_key). A resolved
    insight is raised again only when the detector's condition holds on data newer than the
    resolution (`condition_since` > `resolved_at`; insights.bi.services).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=32, choices=InsightType.choices)
    priority = models.CharField(max_length=8, choices=Priority.choices)
    subject_key = models.CharField(max_length=200)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # The agent the insight is about or whose lead it concerns (agents see only their own).
    agent = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=200)
    explanation = models.TextField()
    action_items = models.JSONField(default=list, blank=True)
    # The numbers that triggered it, as the detector computed them (shown on the page).
    evidence = models.JSONField(default=dict, blank=True)
    # Used to rank insights of one type (e.g. a lead's expected value); null when unranked.
    impact = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    # Since when the condition holds (e.g. the last activity + N days): the re-raise rule.
    condition_since = models.DateTimeField()
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    # When a detector run last found the condition (an open insight it no longer finds is
    # resolved by the system, with a note).
    last_seen_at = models.DateTimeField(default=now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(blank=True)

    objects = OrgManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "type", "subject_key"],
                condition=Q(resolved_at__isnull=True),
                name="insight_one_open_per_subject",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "resolved_at", "type"], name="insight_org_open_type"),
            models.Index(fields=["organization", "created_at"], name="insight_org_created"),
            models.Index(fields=["organization", "lead"], name="insight_org_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.title}"

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None


class OpportunityType(models.TextChoices):
    UPSELL = "upsell", "Upsell"
    CROSS_SELL = "cross_sell", "Cross-sell"
    RENEWAL = "renewal", "Renewal"
    EXPANSION = "expansion", "Expansion"
    WIN_BACK = "win_back", "Win-back"


class OpportunityStatus(models.TextChoices):
    IDENTIFIED = "identified", "Identified"
    IN_PROGRESS = "in_progress", "In progress"
    CONVERTED = "converted", "Converted"
    LOST = "lost", "Lost"


# The only allowed moves (seed 000: identified -> in_progress -> converted | lost).
OPPORTUNITY_TRANSITIONS: dict[str, tuple[str, ...]] = {
    OpportunityStatus.IDENTIFIED: (OpportunityStatus.IN_PROGRESS,),
    OpportunityStatus.IN_PROGRESS: (OpportunityStatus.CONVERTED, OpportunityStatus.LOST),
    OpportunityStatus.CONVERTED: (),
    OpportunityStatus.LOST: (),
}
OPEN_OPPORTUNITY_STATUSES = (OpportunityStatus.IDENTIFIED, OpportunityStatus.IN_PROGRESS)


class Opportunity(models.Model):
    """A chance to sell more to a contact, found from a signal, scored with a calibrated
    probability (`confidence`, 0-100) and an estimated value (insights.bi.opportunities)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=16, choices=OpportunityType.choices)
    status = models.CharField(
        max_length=16, choices=OpportunityStatus.choices, default=OpportunityStatus.IDENTIFIED
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    owner = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # subject of the signal, for deduplication ("contact:17", "lead:42")
    subject_key = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    explanation = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    confidence = models.PositiveSmallIntegerField(help_text="calibrated probability of converting, 0-100")
    # how the confidence was obtained: "model" or "fallback" (too little history), with details
    confidence_method = models.CharField(max_length=16, default="model")
    estimated_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    status_changed_at = models.DateTimeField(default=now)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = OrgManager()

    class Meta:
        ordering = ["-confidence", "-id"]
        verbose_name_plural = "opportunities"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "type", "subject_key"],
                condition=Q(status__in=["identified", "in_progress"]),
                name="opportunity_one_open_per_subject",
            ),
            models.CheckConstraint(condition=Q(confidence__lte=100), name="opportunity_confidence_0_100"),
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="opportunity_org_status"),
            models.Index(fields=["organization", "owner", "status"], name="opportunity_org_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.title}"

    @property
    def weighted_value(self):
        if self.estimated_value is None:
            return None
        return self.estimated_value * self.confidence / 100


class OpportunityStatusChange(models.Model):
    """The history of an opportunity's status (the audit log has the same change too)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="changes")
    from_status = models.CharField(max_length=16, choices=OpportunityStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OpportunityStatus.choices)
    actor = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.TextField(blank=True)
    changed_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_status or '-'} -> {self.to_status}"


class MetricName(models.TextChoices):
    CONVERSION_RATE = "conversion_rate", "Conversion rate"
    RESPONSE_RATE = "response_rate", "Response rate"
    ENGAGEMENT_RATE = "engagement_rate", "Engagement rate"
    AVG_RESPONSE_TIME = "avg_response_time", "Average response time (hours)"
    LEAD_VELOCITY = "lead_velocity", "Lead velocity"
    REVENUE_PER_LEAD = "revenue_per_lead", "Revenue per lead"
    UPSELL_RATE = "upsell_rate", "Upsell rate"


class MetricPeriod(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"


class PerformanceMetric(models.Model):
    """One value of a performance series: organization-wide (agent NULL) or per agent, for a
    local day, ISO week (its Monday) or calendar month (its 1st). Rebuilt, never edited: a
    rebuild rewrites a period's rows in one transaction (insights.bi.performance.services,
    the statistics engine's `performance` family)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(Member, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    metric = models.CharField(max_length=24, choices=MetricName.choices)
    period = models.CharField(max_length=8, choices=MetricPeriod.choices)
    period_start = models.DateField()
    # null where the definition is undefined (a rate over nothing)
    value = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    numerator = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    denominator = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    computed_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        ordering = ["metric", "period", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "metric", "period", "period_start", "agent"],
                condition=Q(agent__isnull=False),
                name="perfmetric_key_agent",
            ),
            models.UniqueConstraint(
                fields=["organization", "metric", "period", "period_start"],
                condition=Q(agent__isnull=True),
                name="perfmetric_key_org",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "metric", "period", "period_start"], name="perfmetric_series"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.metric} {self.period} {self.period_start}: {self.value}"


class InsightSettings(models.Model):
    """An organization's detector thresholds; the defaults are documented in docs/insights.md.
    An organization without a row uses the defaults."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    missed_min_score = models.PositiveSmallIntegerField(
        default=60, help_text="a 'good score' is at least this"
    )
    missed_idle_days = models.PositiveSmallIntegerField(default=7, help_text="days without agent activity")
    upsell_top_share = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=0.20,
        help_text="the top share of engaged customers (0.20 = fifth)",
    )
    upsell_engagement_days = models.PositiveSmallIntegerField(default=30)
    upsell_quiet_days = models.PositiveSmallIntegerField(
        default=90, help_text="no upsell or cross-sell sale for this long"
    )
    risk_window_days = models.PositiveSmallIntegerField(default=14)
    risk_drop_share = models.DecimalField(
        max_digits=4, decimal_places=2, default=0.50, help_text="activity fell by more than this share"
    )
    response_goal_hours = models.DecimalField(max_digits=6, decimal_places=2, default=24)
    trend_history_weeks = models.PositiveSmallIntegerField(
        default=8, help_text="weeks of history that give the usual weekly variation"
    )
    trend_z = models.DecimalField(
        max_digits=4, decimal_places=2, default=2.0, help_text="a change beyond this many standard deviations"
    )
    performance_history_weeks = models.PositiveSmallIntegerField(default=12)
    performance_z = models.DecimalField(max_digits=4, decimal_places=2, default=2.0)
    renewal_notice_days = models.PositiveSmallIntegerField(
        default=30, help_text="a recurring customer is near renewal this many days ahead"
    )
    updated_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        verbose_name_plural = "insight settings"

    def __str__(self) -> str:
        return f"Insight settings of {self.organization_id}"
