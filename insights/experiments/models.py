"""Experiments, their variants and their decision history (DESIGN section 9.4, docs/experiments.md).

Models only: the measurement (insights.experiments.selectors), the statistics
(insights.experiments.stats), the assignment of subjects to prices
(insights.experiments.assignment) and the writes (insights.experiments.services) live beside
them. Imported by insights/models.py so that Django sees them as models of the `insights` app.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from core.tenancy import OrgManager
from crm.models import Campaign, Member, Organization, Product


class ExperimentKind(models.TextChoices):
    CAMPAIGN = "campaign", "Campaign message variants"
    PRICING = "pricing", "Prices of a product"


class ExperimentMetric(models.TextChoices):
    REPLY_RATE = "reply_rate", "Reply rate"
    READ_RATE = "read_rate", "Read rate"
    CONVERSION_RATE = "conversion_rate", "Conversion rate"
    REVENUE_PER_CONTACT = "revenue_per_contact", "Revenue per contact"


# What each kind can measure: reads and replies exist only for campaign messages.
KIND_METRICS: dict[str, tuple[str, ...]] = {
    ExperimentKind.CAMPAIGN: tuple(ExperimentMetric.values),
    ExperimentKind.PRICING: (ExperimentMetric.CONVERSION_RATE, ExperimentMetric.REVENUE_PER_CONTACT),
}


class ExperimentMethod(models.TextChoices):
    FREQUENTIST = "frequentist", "Frequentist (fixed sample)"
    BAYESIAN = "bayesian", "Bayesian"
    SEQUENTIAL = "sequential", "Sequential (safe to look early)"


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"
    DECIDED = "decided", "Decided"


class ExperimentScope(models.TextChoices):
    """Which of a campaign's messages a campaign experiment measures (docs/experiments.md)."""

    SINCE_START = "since_start", "Messages sent since the experiment started"
    WHOLE_CAMPAIGN = "whole_campaign", "All of the campaign's messages"


class Decision(models.TextChoices):
    KEEP_RUNNING = "keep running", "Keep running"
    STOP_WINNER = "stop: winner", "Stop: winner"
    STOP_NO_DIFFERENCE = "stop: no difference", "Stop: no difference"


class Experiment(models.Model):
    """One A/B (or A/B/n) test: what is compared, how it is judged, and where it stands.

    A campaign experiment names a campaign (its messages' `variant` values are the variants);
    a pricing experiment names a product (its variants are prices, and contacts are assigned
    to them by a hash). The transitions are written by insights.experiments.services only,
    each with an ExperimentEvent and an audit row.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=ExperimentKind.choices)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    scope = models.CharField(
        max_length=16, choices=ExperimentScope.choices, default=ExperimentScope.SINCE_START
    )
    metric = models.CharField(max_length=32, choices=ExperimentMetric.choices)
    alpha = models.FloatField(default=0.05)
    power = models.FloatField(default=0.8)
    # A rate (0-1) for the rate metrics; money per contact for revenue_per_contact.
    baseline_rate = models.FloatField(null=True, blank=True)
    # The control's standard deviation of revenue per contact when the experiment was made
    # (revenue_per_contact only: the t-test sample size needs it).
    baseline_sd = models.FloatField(null=True, blank=True)
    # Absolute: a rate difference (0.02 = two points), or money per contact.
    minimum_detectable_effect = models.FloatField()
    # Observations each variant needs, computed at creation (docs/experiments.md, "Planning").
    required_sample_size = models.PositiveIntegerField()
    method = models.CharField(max_length=16, choices=ExperimentMethod.choices)
    status = models.CharField(max_length=16, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT)
    created_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=now)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=24, choices=Decision.choices, blank=True)
    winner_key = models.CharField(max_length=50, blank=True)
    decision_reason = models.TextField(blank=True)
    pricing_suggestion = models.ForeignKey(
        "pricing.PricingSuggestion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = OrgManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="experiment_org_created"),
            models.Index(fields=["organization", "status", "created_at"], name="experiment_org_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="campaign") & Q(campaign__isnull=False) & Q(product__isnull=True))
                | (Q(kind="pricing") & Q(product__isnull=False) & Q(campaign__isnull=True)),
                name="experiment_subject_of_kind",
            ),
            models.CheckConstraint(
                condition=Q(alpha__gt=0, alpha__lt=1) & Q(power__gt=0, power__lt=1),
                name="experiment_alpha_power_open_unit",
            ),
            # One draft or running price test per pricing suggestion.
            models.UniqueConstraint(
                fields=["pricing_suggestion"],
                condition=Q(status__in=["draft", "running"]),
                name="experiment_one_open_per_suggestion",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class ExperimentVariant(models.Model):
    """One arm: a campaign message variant (its `key` is the messages' `variant` value) or a
    price. The first (position 0) is the control."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.CharField(max_length=50)
    # The share of subjects the variant should get (the weights of one experiment sum to 1):
    # the sample-ratio check compares the observed split with them, and the pricing
    # assignment hands out prices by them.
    weight = models.FloatField()
    price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["experiment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="expvariant_key"),
            models.UniqueConstraint(fields=["experiment", "position"], name="expvariant_position"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="expvariant_weight_positive"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gt=0), name="expvariant_price_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.experiment_id}:{self.key}"


class ExperimentAction(models.TextChoices):
    CREATED = "created", "Created"
    STARTED = "started", "Started"
    STOPPED = "stopped", "Stopped"
    DECIDED = "decided", "Decided"
    LOOKED = "looked", "Looked at the results"


class ExperimentEvent(models.Model):
    """The decision history: each transition and each look at the results (at most one look
    an hour is kept), with the numbers of that moment in `payload`. Append-only."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=ExperimentAction.choices)
    actor = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_label = models.CharField(max_length=254, blank=True)
    at = models.DateTimeField(default=now)
    payload = models.JSONField(default=dict, blank=True)

    objects = OrgManager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["experiment", "action", "at"], name="expevent_experiment_action")]

    def __str__(self) -> str:
        return f"{self.experiment_id} {self.action} at {self.at:%Y-%m-%d %H:%M}"
