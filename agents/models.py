"""Agent goals and the per-agent daily and monthly metric rows the agent analytics read."""

from __future__ import annotations

from django.db import models
from django.utils.timezone import now

from core.tenancy import OrgManager
from crm.models import Member, Organization


class GoalPeriod(models.TextChoices):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class GoalType(models.TextChoices):
    CONVERSIONS = "conversions"
    REVENUE = "revenue"
    # Lower is better: achieved when the period's mean response time is at or under target.
    RESPONSE_TIME_HOURS = "responseTimeHours"


class AgentGoal(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="goals")
    period = models.CharField(max_length=16, choices=GoalPeriod.choices)
    goal_type = models.CharField(max_length=32, choices=GoalType.choices)
    target = models.DecimalField(max_digits=14, decimal_places=2)
    period_start = models.DateField()
    period_end = models.DateField()  # exclusive
    achieved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        ordering = ["period", "goal_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "period", "goal_type", "period_start"], name="goal_agent_period_type_start"
            )
        ]
        indexes = [models.Index(fields=["organization", "period_start"], name="goal_org_start")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.period} {self.goal_type} {self.period_start}"


class AgentMetrics(models.Model):
    """The additive columns of the agent rollups (agents.selectors.AGENT_METRICS).

    Lead counts are keyed by the day the lead was handled (assigned, else created), so a
    lead contacted later updates its handling day's row when that day is rebuilt.
    Revenue is keyed by the sale's closing day: `revenue` and `sales_count` hold the sales in
    the organization's currency (core.metrics.counted_currencies), `excluded_sales` counts
    the others, whose amounts are never summed.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    leads_assigned = models.PositiveIntegerField(default=0)
    leads_contacted = models.PositiveIntegerField(default=0)
    leads_interested = models.PositiveIntegerField(default=0)
    leads_converted = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    sales_count = models.PositiveIntegerField(default=0)
    excluded_sales = models.PositiveIntegerField(default=0)
    response_microseconds = models.BigIntegerField(default=0)
    response_count = models.PositiveIntegerField(default=0)
    satisfaction_sum = models.PositiveIntegerField(default=0)
    satisfaction_count = models.PositiveIntegerField(default=0)

    objects = OrgManager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.agent_id} {self.day}"


class AgentDailyMetrics(AgentMetrics):
    """One row per agent per local day, rebuilt idempotently (delete and rewrite the days)."""

    agent = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="daily_metrics")

    class Meta:
        verbose_name_plural = "agent daily metrics"
        constraints = [models.UniqueConstraint(fields=["agent", "day"], name="agentdaily_agent_day")]
        indexes = [
            models.Index(fields=["organization", "day"], name="agentdaily_org_day"),
            models.Index(fields=["organization", "agent", "day"], name="agentdaily_org_agent_day"),
        ]


class AgentMonthlyMetrics(AgentMetrics):
    """One row per agent per local month (`day` is the month's first day): the sums of the
    agent's daily rows of that month, rebuilt with them; windows longer than 90 days read
    their whole months here (core.stats.rollups.MONTHS_AFTER_DAYS)."""

    class Meta:
        verbose_name_plural = "agent monthly metrics"
        constraints = [models.UniqueConstraint(fields=["agent", "day"], name="agentmonthly_agent_month")]
        indexes = [models.Index(fields=["organization", "day"], name="agentmonthly_org_month")]
