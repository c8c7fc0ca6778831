"""The nightly opportunity refresh of one organization (docs/metrics.md, "Opportunities").

`opportunities_refresh` trains the organization's confidence model on its own history,
scores the signals as of `as_of`, and writes in one transaction:

- a new opportunity (status identified) per signal without an open one for the same
  (type, subject_key = "contact:<id>"), with its first status-history row and an audit row;
- the open one (identified or in progress) updated in place otherwise: confidence, method,
  value, title, explanation, evidence; status, owner and creation are left as they are
  (someone may be working it), except that an ownerless one gets the new owner;
- nothing for a signal whose (type, subject) opportunity was closed (converted or lost)
  less than RECLOSE_DAYS before as_of: the outcome is recent, raising it again would undo
  the decision; after that a new opportunity may be raised;
- no new opportunity for a signal below MIN_CONFIDENCE_PERCENT (too unlikely to be worth a
  call); an open one is still updated, so its confidence stays current.

Closed opportunities are never changed; an open one whose signal is gone stays as it is
(only people move opportunities) and is counted as `not_seen`. Reads happen before the
transaction; the writes are batched (BULK_BATCH_SIZE), so the query count does not grow
with the data, only with the number of opportunities written, by batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce

from core.metrics import round_half_up
from crm.models import AuditLog, Member, Organization
from insights.bi.models import (
    OPEN_OPPORTUNITY_STATUSES,
    InsightSettings,
    Opportunity,
    OpportunityStatus,
    OpportunityStatusChange,
)
from insights.bi.opportunities import signals
from insights.bi.opportunities.model import HORIZON_DAYS
from insights.bi.opportunities.training import confidence_model_train
from insights.bi.opportunities.value import estimate_value
from insights.bi.opportunities.wording import opportunity_wording

logger = logging.getLogger(__name__)

BULK_BATCH_SIZE = 500
# A closed opportunity blocks a new one for the same subject for this long: the horizon the
# confidence is about, so a signal that just converted (or was just turned down) is not
# raised again by the same evidence.
RECLOSE_DAYS = HORIZON_DAYS
# Signals scored below this are not raised: fewer than three calls in a hundred would
# convert. (At 5% the small demo, where every type falls back, would show no win-back.)
MIN_CONFIDENCE_PERCENT = 3
UPDATED_FIELDS = (
    "title",
    "explanation",
    "evidence",
    "confidence",
    "confidence_method",
    "estimated_value",
    "currency",
    "owner",
    "lead",
    "updated_at",
)


@dataclass(frozen=True)
class OpportunityRefreshReport:
    organization_id: int
    as_of: str
    signals: int
    created: int
    updated: int
    skipped_recently_closed: int
    skipped_low_confidence: int
    not_seen: int
    training_snapshots: int
    training_examples: int
    # type -> "model" or "fallback"
    methods: dict[str, str] = field(default_factory=dict)
    ms: int = 0


def subject_key(contact_id: int) -> str:
    return f"contact:{contact_id}"


def _settings(organization: Organization) -> InsightSettings:
    # An organization without a row uses the documented defaults.
    return InsightSettings.objects.for_org(organization).first() or InsightSettings(organization=organization)


def _confidence_percent(probability: float) -> int:
    return max(0, min(100, int(round_half_up(probability * 100, 0))))


def _optional_id(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def opportunities_refresh(*, organization: Organization, as_of: dt.datetime) -> OpportunityRefreshReport:
    started = time.monotonic()
    settings = _settings(organization)
    notice, quiet = settings.renewal_notice_days, settings.upsell_quiet_days
    trained = confidence_model_train(
        organization=organization, as_of=as_of, renewal_notice_days=notice, quiet_days=quiet
    )
    model = trained.confidence
    current = signals.signals_at(
        organization=organization, as_of=as_of, renewal_notice_days=notice, quiet_days=quiet
    )
    probabilities = model.probabilities(current)
    deals = signals.deal_sizes(organization=organization, as_of=as_of)
    records = current.assign(probability=probabilities).to_dict("records")
    names = signals.contact_names(
        organization=organization, contact_ids=(int(r["contact_id"]) for r in records)
    )
    # Owners must be active members of this organization (an agent who left owns nothing new).
    members = set(
        Member.objects.filter(organization=organization, is_active=True).values_list("pk", flat=True)
    )

    drafts: dict[tuple[str, str], Opportunity] = {}
    for record in records:
        confidence = _confidence_percent(record["probability"])
        kind, contact_id = record["type"], int(record["contact_id"])
        sells_line = record["recommended_line"] if kind == "cross_sell" else record["current_line"]
        value = estimate_value(
            deal_sizes=deals,
            opportunity_type=kind,
            product_line=sells_line or "",
            region=record["region"] or "",
            own_payment=None if pd.isna(record["mean_payment"]) else float(record["mean_payment"]),
        )
        method = model.method(kind)
        wording = opportunity_wording(
            record,
            name=names.get(contact_id, ""),
            currency=organization.currency,
            as_of=as_of,
            probability=float(record["probability"]),
            method=method,
            history=model.histories[kind],
            value=value,
        )
        owner = _optional_id(record["agent_id"])
        drafts[(kind, subject_key(contact_id))] = Opportunity(
            organization=organization,
            type=kind,
            status=OpportunityStatus.IDENTIFIED,
            contact_id=contact_id,
            lead_id=_optional_id(record["lead_id"]),
            owner_id=owner if owner in members else None,
            subject_key=subject_key(contact_id),
            title=wording.title,
            explanation=wording.explanation,
            evidence=wording.evidence,
            confidence=confidence,
            confidence_method=method,
            estimated_value=value.amount,
            currency=organization.currency,
            created_at=as_of,
            updated_at=as_of,
            status_changed_at=as_of,
        )

    with transaction.atomic():
        # One refresh of an organization at a time (PostgreSQL; SQLite serialises writers).
        Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk").first()
        written = _write(organization=organization, as_of=as_of, drafts=drafts)

    ms = int((time.monotonic() - started) * 1000)
    report = OpportunityRefreshReport(
        organization_id=organization.pk,
        as_of=as_of.isoformat(),
        signals=len(records),
        created=written["created"],
        updated=written["updated"],
        skipped_recently_closed=written["recently_closed"],
        skipped_low_confidence=written["low_confidence"],
        not_seen=written["not_seen"],
        training_snapshots=trained.snapshots,
        training_examples=trained.examples,
        methods={kind: history.method for kind, history in model.histories.items()},
        ms=ms,
    )
    logger.info(
        "opportunities organization=%s statistic=opportunities rows=%d created=%d updated=%d "
        "skipped_closed=%d skipped_low=%d not_seen=%d training_examples=%d ms=%d",
        organization.pk,
        report.created + report.updated,
        report.created,
        report.updated,
        report.skipped_recently_closed,
        report.skipped_low_confidence,
        report.not_seen,
        report.training_examples,
        ms,
    )
    return report


def _write(
    *, organization: Organization, as_of: dt.datetime, drafts: dict[tuple[str, str], Opportunity]
) -> dict[str, int]:
    closed_since = as_of - dt.timedelta(days=RECLOSE_DAYS)
    existing = (
        Opportunity.objects.for_org(organization)
        .annotate(closed_on=Coalesce("closed_at", "status_changed_at"))
        .filter(Q(status__in=OPEN_OPPORTUNITY_STATUSES) | Q(closed_on__gte=closed_since))
        .only("id", "type", "subject_key", "status", "owner_id", "lead_id")
    )
    open_by_key: dict[tuple[str, str], Opportunity] = {}
    recently_closed: set[tuple[str, str]] = set()
    for opportunity in existing:
        key = (opportunity.type, opportunity.subject_key)
        if opportunity.status in OPEN_OPPORTUNITY_STATUSES:
            open_by_key[key] = opportunity
        else:
            recently_closed.add(key)

    to_create, to_update, low = [], [], 0
    for key, draft in drafts.items():
        current = open_by_key.get(key)
        if current is not None:
            for name in ("title", "explanation", "evidence", "confidence", "confidence_method", "currency"):
                setattr(current, name, getattr(draft, name))
            current.estimated_value = draft.estimated_value
            current.owner_id = current.owner_id or draft.owner_id
            current.lead_id = current.lead_id or draft.lead_id
            current.updated_at = as_of
            to_update.append(current)
        elif key in recently_closed:
            continue
        elif draft.confidence < MIN_CONFIDENCE_PERCENT:
            low += 1
        else:
            to_create.append(draft)

    created = Opportunity.objects.bulk_create(to_create, batch_size=BULK_BATCH_SIZE)
    Opportunity.objects.bulk_update(to_update, UPDATED_FIELDS, batch_size=BULK_BATCH_SIZE)
    OpportunityStatusChange.objects.bulk_create(
        [
            OpportunityStatusChange(
                opportunity=o,
                from_status="",
                to_status=o.status,
                note="Identified by the nightly refresh",
                changed_at=as_of,
            )
            for o in created
        ],
        batch_size=BULK_BATCH_SIZE,
    )
    # Audit rows are append-only and never saved twice, so bulk_create is safe here.
    AuditLog.objects.bulk_create(
        [
            AuditLog(
                organization=organization,
                actor=None,
                actor_label="system",
                action="opportunity.identified",
                object_type="Opportunity",
                object_id=str(o.pk),
                before=None,
                after={
                    "type": o.type,
                    "subject_key": o.subject_key,
                    "status": o.status,
                    "confidence": o.confidence,
                    "confidence_method": o.confidence_method,
                    "estimated_value": None if o.estimated_value is None else str(Decimal(o.estimated_value)),
                },
                at=as_of,
            )
            for o in created
        ],
        batch_size=BULK_BATCH_SIZE,
    )
    seen = set(drafts)
    return {
        "created": len(created),
        "updated": len(to_update),
        "recently_closed": sum(1 for key in drafts if key in recently_closed and key not in open_by_key),
        "not_seen": sum(1 for key in open_by_key if key not in seen),
        "low_confidence": low,
    }
