"""Writes of the business insights: the detector run (`insights_refresh`) and the settings
lookup (docs/metrics.md, "Insight detectors", "Deduplication and re-raising").

One run reads everything the detectors need (a fixed number of queries), runs the pure
detectors, then in one transaction: updates the open insight of each (type, subject) found,
creates the new ones, re-raises resolved ones whose condition appeared after their latest
resolution, and resolves (as the system, audited) the open insights no detector finds any more.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max

from crm.models import AuditLog, Organization
from insights.bi import detectors
from insights.bi import selectors as bi_selectors
from insights.bi.detectors import Context, Finding, Thresholds
from insights.bi.models import BusinessInsight, InsightSettings, InsightType

logger = logging.getLogger(__name__)

AUTO_RESOLUTION_NOTE = "Resolved automatically: the detector no longer finds this condition."
BULK_BATCH_SIZE = 500
# The fields a run rewrites on an open insight it finds again (created_at and the resolution
# stay; condition_since follows the current condition, e.g. a lead touched then idle again).
UPDATED_FIELDS = (
    "priority",
    "title",
    "explanation",
    "action_items",
    "evidence",
    "impact",
    "condition_since",
    "lead_id",
    "contact_id",
    "agent_id",
    "last_seen_at",
    "updated_at",
)
TYPES = tuple(InsightType.values)


def _per_type() -> dict[str, int]:
    return dict.fromkeys(TYPES, 0)


@dataclass(frozen=True)
class RefreshReport:
    """Counts per insight type. `kept_resolved`: found again, but its condition is not newer
    than the latest resolution of that subject, so it stays resolved."""

    created: dict[str, int] = field(default_factory=_per_type)
    updated: dict[str, int] = field(default_factory=_per_type)
    reraised: dict[str, int] = field(default_factory=_per_type)
    auto_resolved: dict[str, int] = field(default_factory=_per_type)
    kept_resolved: dict[str, int] = field(default_factory=_per_type)

    @property
    def open_total(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values()) + sum(self.reraised.values())


def insight_settings_for(organization: Organization) -> InsightSettings:
    """The organization's saved settings, or an unsaved row with the documented defaults."""
    return bi_selectors.settings_row(organization) or InsightSettings(organization=organization)


def thresholds_from(settings: InsightSettings) -> Thresholds:
    # float(str(...)): unsaved rows hold the float defaults, saved ones Decimals.
    def number(value: object) -> float:
        return float(str(value))

    return Thresholds(
        missed_min_score=int(settings.missed_min_score),
        missed_idle_days=int(settings.missed_idle_days),
        upsell_top_share=number(settings.upsell_top_share),
        upsell_engagement_days=int(settings.upsell_engagement_days),
        upsell_quiet_days=int(settings.upsell_quiet_days),
        risk_window_days=int(settings.risk_window_days),
        risk_drop_share=number(settings.risk_drop_share),
        response_goal_hours=number(settings.response_goal_hours),
        trend_history_weeks=int(settings.trend_history_weeks),
        trend_z=number(settings.trend_z),
        performance_history_weeks=int(settings.performance_history_weeks),
        performance_z=number(settings.performance_z),
    )


def insights_detect(
    *, organization: Organization, as_of: dt.datetime, thresholds: Thresholds
) -> list[Finding]:
    """Every detector's findings (reads only): eleven queries whatever the data size."""
    ctx = Context(as_of=as_of, tz=organization.tz, currency=organization.currency)
    t = thresholds
    findings: list[Finding] = []
    findings += detectors.missed_opportunities(
        bi_selectors.idle_open_leads(
            organization=organization, as_of=as_of, min_score=t.missed_min_score, idle_days=t.missed_idle_days
        ),
        thresholds=t,
        ctx=ctx,
    )
    findings += detectors.upsell_potential(
        bi_selectors.customers_engagement(
            organization=organization, as_of=as_of, engagement_days=t.upsell_engagement_days
        ),
        thresholds=t,
        ctx=ctx,
    )
    findings += detectors.conversion_risks(
        bi_selectors.interested_open_leads(
            organization=organization, as_of=as_of, window_days=t.risk_window_days
        ),
        thresholds=t,
        ctx=ctx,
    )
    weeks = detectors.trend_weeks(as_of=as_of, tz=ctx.tz, history_weeks=t.trend_history_weeks)
    findings += detectors.engagement_trends(
        bi_selectors.weekly_engagement(organization=organization, weeks=weeks), thresholds=t, ctx=ctx
    )
    windows = detectors.performance_windows(as_of=as_of, history_weeks=t.performance_history_weeks)
    findings += detectors.performance_shifts(
        bi_selectors.agent_performance_history(organization=organization, windows=windows),
        bi_selectors.source_performance_history(organization=organization, windows=windows),
        thresholds=t,
        ctx=ctx,
    )
    return findings


def _apply(insight: BusinessInsight, finding: Finding, as_of: dt.datetime) -> None:
    insight.priority = finding.priority
    insight.title = finding.title[:200]
    insight.explanation = finding.explanation
    insight.action_items = list(finding.action_items)
    insight.evidence = finding.evidence
    insight.impact = finding.impact
    insight.condition_since = finding.condition_since
    insight.lead_id = finding.lead_id
    insight.contact_id = finding.contact_id
    insight.agent_id = finding.agent_id
    insight.last_seen_at = as_of
    insight.updated_at = as_of


def _auto_resolution_audit(
    organization: Organization, insight: BusinessInsight, as_of: dt.datetime
) -> AuditLog:
    # The same row crm.audit.audit_record writes for a system actor, built for bulk_create so
    # that resolving many insights stays one query.
    return AuditLog(
        organization=organization,
        actor=None,
        actor_label="system",
        action="insight.auto_resolve",
        object_type="BusinessInsight",
        object_id=str(insight.pk),
        before={"resolved_at": None, "subject_key": insight.subject_key, "type": insight.type},
        after={
            "resolved_at": as_of.isoformat(),
            "resolved_by": None,
            "resolution_note": AUTO_RESOLUTION_NOTE,
        },
        at=as_of,
    )


def insights_refresh(*, organization: Organization, as_of: dt.datetime) -> RefreshReport:
    """Run every detector for the organization and bring its insights up to date.

    Per finding (type, subject_key): the open insight is updated, never duplicated; without
    one, an insight is created, unless the subject was resolved before and the finding's
    condition_since is not after its latest resolved_at (then it stays resolved). Open
    insights not found are resolved by the system (resolved_by NULL) and audited. Idempotent:
    a second run with the same data and as_of updates the same rows and creates nothing.
    """
    started = time.monotonic()
    thresholds = thresholds_from(insight_settings_for(organization))
    findings = insights_detect(organization=organization, as_of=as_of, thresholds=thresholds)
    report = RefreshReport()
    with transaction.atomic():
        # Serialises concurrent runs for one organization (PostgreSQL; SQLite has one writer).
        list(Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk"))
        insights = BusinessInsight.objects.for_org(organization)
        # Locked: a manager resolving one of them meanwhile waits, then wins.
        open_rows = insights.filter(resolved_at__isnull=True).select_for_update()
        open_by_key = {(i.type, i.subject_key): i for i in open_rows}
        last_resolved = {
            (row["type"], row["subject_key"]): row["last"]
            for row in insights.filter(resolved_at__isnull=False)
            .values("type", "subject_key")
            .annotate(last=Max("resolved_at"))
            .order_by()
        }
        to_update: list[BusinessInsight] = []
        to_create: list[BusinessInsight] = []
        seen: set[tuple[str, str]] = set()
        for finding in findings:
            key = (finding.type, finding.subject_key)
            if key in seen:  # a detector reports a subject once; keep the first if not
                continue
            seen.add(key)
            existing = open_by_key.get(key)
            if existing is not None:
                _apply(existing, finding, as_of)
                to_update.append(existing)
                report.updated[finding.type] += 1
                continue
            resolved_at = last_resolved.get(key)
            if resolved_at is not None and finding.condition_since <= resolved_at:
                report.kept_resolved[finding.type] += 1
                continue
            insight = BusinessInsight(
                organization=organization,
                type=finding.type,
                subject_key=finding.subject_key,
                created_at=as_of,
            )
            _apply(insight, finding, as_of)
            to_create.append(insight)
            (report.reraised if resolved_at is not None else report.created)[finding.type] += 1
        gone = [insight for key, insight in open_by_key.items() if key not in seen]
        BusinessInsight.objects.bulk_update(to_update, UPDATED_FIELDS, batch_size=BULK_BATCH_SIZE)
        BusinessInsight.objects.bulk_create(to_create, batch_size=BULK_BATCH_SIZE)
        if gone:
            # Only still-open rows: a manager's resolution a moment ago is not overwritten.
            insights.filter(pk__in=[i.pk for i in gone], resolved_at__isnull=True).update(
                resolved_at=as_of, resolved_by=None, resolution_note=AUTO_RESOLUTION_NOTE, updated_at=as_of
            )
            AuditLog.objects.bulk_create(
                [_auto_resolution_audit(organization, i, as_of) for i in gone], batch_size=BULK_BATCH_SIZE
            )
            for insight in gone:
                report.auto_resolved[insight.type] += 1
    logger.info(
        "insights organization=%s statistic=insights_refresh rows=%d ms=%d created=%d updated=%d reraised=%d "
        "auto_resolved=%d kept_resolved=%d",
        organization.pk,
        len(findings),
        (time.monotonic() - started) * 1000,
        sum(report.created.values()),
        sum(report.updated.values()),
        sum(report.reraised.values()),
        sum(report.auto_resolved.values()),
        sum(report.kept_resolved.values()),
    )
    return report
