"""The kernel's one table: the fill state of every family of statistics."""

from __future__ import annotations

from django.db import models
from django.utils.timezone import now

from core.tenancy import OrgManager
from crm.models import Organization


class FillState(models.Model):
    """Which days of one family of an organization's rollups can be trusted.

    Rows are valid for days up to `filled_through`, except from `dirty_from` on, which
    ingestion sets (in its own transaction) when it stores rows of those days. Readers
    compute untrusted days live, so answers are exact even before the refresh runs.
    `version` increases on every mark, so a refresh clears `dirty_from` only when nothing
    new arrived while it ran (Zulip's analytics FillState plays the same part).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    family = models.CharField(max_length=32)
    filled_through = models.DateField(null=True, blank=True)
    dirty_from = models.DateField(null=True, blank=True)
    # The hour levels (core.stats.rollups, HOUR) hold every raw row before this instant: the
    # intraday refresh moves it every few minutes; trusted only while nothing is stale.
    hours_through = models.DateTimeField(null=True, blank=True)
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "family"], name="fillstate_org_family")
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.family}: through {self.filled_through}, dirty from {self.dirty_from}"
