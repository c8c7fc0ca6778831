"""Pricing suggestions and their approval workflow (DESIGN section 9.5, docs/pricing.md).

A suggestion keeps the analysis it was made from (the numbers a reviewer approves), its
state and the people and times of each transition. The transitions themselves are written
by pricing.services only, each with one audit row (crm.AuditLog, append-only).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.timezone import now

from core.tenancy import OrgManager
from crm.models import Member, Organization, Product


class PricingSettings(models.Model):
    """An organization's guardrails; without a row the defaults apply."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    max_change_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("15.00"),
        validators=[MinValueValidator(Decimal("0.50")), MaxValueValidator(Decimal("50.00"))],
        help_text="The largest price change one suggestion may make, in percent (up or down).",
    )
    min_decided_quotes = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(10)],
        help_text="Decided (won or lost) quotes a product needs before it gets a suggestion.",
    )
    expire_after_days = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="A suggestion nobody decided expires after this many days.",
    )

    objects = OrgManager()

    class Meta:
        verbose_name = "pricing settings"
        verbose_name_plural = "pricing settings"

    def __str__(self) -> str:
        return f"Pricing settings of {self.organization_id}"


class SuggestionStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    APPLIED = "applied", "Applied"
    ROLLED_BACK = "rolled_back", "Rolled back"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class PricingSuggestion(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    # The product's tier and currency when the suggestion was made.
    tier = models.CharField(max_length=50, blank=True)
    currency = models.CharField(max_length=3)
    current_price = models.DecimalField(max_digits=14, decimal_places=2)
    suggested_price = models.DecimalField(max_digits=14, decimal_places=2)
    change_pct = models.DecimalField(max_digits=6, decimal_places=1)
    elasticity = models.FloatField()
    elasticity_low = models.FloatField()
    elasticity_high = models.FloatField()
    elasticity_n = models.PositiveIntegerField()
    elasticity_method = models.CharField(max_length=80)
    revenue_change_pct = models.FloatField()
    revenue_change_low = models.FloatField()
    revenue_change_high = models.FloatField()
    churn_probability = models.FloatField()
    churn_customers = models.PositiveIntegerField()
    competitor_median = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    competitor_percentile = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    rationale = models.TextField()
    # The rest of the analysis for the review page (curve, intervals, demand, churn basis,
    # constraints, competitor and quote summaries): docs/pricing.md lists the keys.
    analysis = models.JSONField(default=dict)

    status = models.CharField(
        max_length=16, choices=SuggestionStatus.choices, default=SuggestionStatus.PROPOSED
    )
    requested_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_notes = models.TextField(blank=True)
    effective_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    # The list price the application replaced, restored by a rollback.
    previous_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rollback_notes = models.TextField(blank=True)

    objects = OrgManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"], name="pricesugg_org_status"),
            models.Index(fields=["status", "effective_at"], name="pricesugg_status_effective"),
        ]
        constraints = [
            # One open suggestion per product: a new one replaces (expires) a proposed one,
            # and none is made while one is approved and waiting for its date.
            models.UniqueConstraint(
                fields=["product"],
                condition=models.Q(status__in=["proposed", "approved"]),
                name="pricesugg_one_open_per_product",
            ),
            models.CheckConstraint(
                condition=models.Q(current_price__gt=0) & models.Q(suggested_price__gt=0),
                name="pricesugg_prices_positive",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"#{self.pk} {self.product.name}: {self.current_price} -> {self.suggested_price} ({self.status})"
        )


class PricingRun(models.Model):
    """One request for suggestions: who asked, when, what it made and what it skipped."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    requested_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=now)
    suggestions = models.ManyToManyField(PricingSuggestion, related_name="+", blank=True)
    # [{"product": external id, "name": ..., "code": ..., "reason": ...}]
    skipped = models.JSONField(default=list)

    objects = OrgManager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organization", "at"], name="pricerun_org_at")]

    def __str__(self) -> str:
        return f"Pricing run {self.at:%Y-%m-%d %H:%M}"


class PriceNotice(models.Model):
    """One customer told of an approved price change: sent once, even when the task that
    sends them runs again after a failure."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    suggestion = models.ForeignKey(PricingSuggestion, on_delete=models.CASCADE, related_name="notices")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    sent_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["suggestion", "contact"], name="pricenotice_once_per_contact")
        ]

    def __str__(self) -> str:
        return f"Notice of suggestion {self.suggestion_id} to {self.email}"
