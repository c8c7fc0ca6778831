"""Writes of pricing: suggestions made, decided, applied, rolled back and expired.

DESIGN section 9.5 and docs/pricing.md. Every transition is a conditional UPDATE on the
suggestion's status inside a transaction, followed by exactly one audit row (crm.AuditLog,
append-only) in the same transaction: of concurrent decisions exactly one changes the row,
the others find the status moved on and answer 409. The API, the Django admin, the manager
page and the jobs all come here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery

from core.errors import ApplicationError, NotInOrganization
from core.tenancy import held_elsewhere
from crm.audit import audit_record
from crm.models import Member, Organization, PriceHistory, PriceSource, Product, Role
from pricing import selectors
from pricing.models import PricingRun, PricingSuggestion, SuggestionStatus
from pricing.recommendation import ProductAnalysis, Skipped, analyse_product

NOTICE_DAYS = 30
NOTES_MAX_LENGTH = 2000
OPEN = (SuggestionStatus.PROPOSED, SuggestionStatus.APPROVED)


class NotAllowed(ApplicationError):
    status = 403
    code = "permission_denied"


class NotProposed(ApplicationError):
    """The suggestion left `proposed` (decided by someone else, expired): a 409."""

    status = 409
    code = "conflict"


@dataclass(frozen=True)
class Generated:
    run: PricingRun
    suggestions: list[PricingSuggestion]
    skipped: list[dict[str, str]]


def _state(suggestion: PricingSuggestion) -> dict[str, Any]:
    return {
        "status": suggestion.status,
        "currentPrice": str(suggestion.current_price),
        "suggestedPrice": str(suggestion.suggested_price),
        "effectiveAt": suggestion.effective_at.isoformat() if suggestion.effective_at else None,
    }


def _audit(
    suggestion: PricingSuggestion, *, actor: Member | None, action: str, before: dict | None, notes: str = ""
) -> None:
    after = _state(suggestion)
    if notes:
        after["notes"] = notes
    audit_record(
        organization=suggestion.organization,
        actor=actor,
        action=f"pricing.{action}",
        object_type="pricing_suggestion",
        object_id=suggestion.pk,
        before=before,
        after=after,
    )


def _require_notes(notes: str) -> str:
    notes = (notes or "").strip()
    if not notes:
        raise ApplicationError("Notes are required: say why.", field="notes")
    if len(notes) > NOTES_MAX_LENGTH:
        raise ApplicationError(f"Notes are at most {NOTES_MAX_LENGTH} characters.", field="notes")
    return notes


def _require_admin(actor: Member, organization: Organization) -> None:
    if actor.organization_id != organization.pk or actor.role != Role.ADMIN or not actor.is_active:
        raise NotAllowed("Only an admin of the organization may decide pricing suggestions.")


def _suggestion_values(analysis: ProductAnalysis) -> dict[str, Any]:
    return {
        "current_price": Decimal(str(analysis.current_price)).quantize(Decimal("0.01")),
        "suggested_price": Decimal(str(analysis.suggested_price)).quantize(Decimal("0.01")),
        "change_pct": Decimal(str(analysis.change_pct)).quantize(Decimal("0.1")),
        "elasticity": analysis.elasticity.estimate,
        "elasticity_low": analysis.elasticity.low,
        "elasticity_high": analysis.elasticity.high,
        "elasticity_n": analysis.elasticity_n,
        "elasticity_method": analysis.elasticity_method,
        "revenue_change_pct": analysis.expected_revenue_change_pct.estimate,
        "revenue_change_low": analysis.expected_revenue_change_pct.low,
        "revenue_change_high": analysis.expected_revenue_change_pct.high,
        "churn_probability": analysis.churn.probability,
        "churn_customers": analysis.churn.customers_affected,
        "competitor_median": None
        if analysis.competitor.median is None
        else Decimal(str(analysis.competitor.median)).quantize(Decimal("0.01")),
        "competitor_percentile": analysis.competitor.percentile,
        "confidence": analysis.confidence,
        "rationale": analysis.rationale,
    }


def _interval(value) -> dict[str, float]:
    return {"estimate": value.estimate, "low": value.low, "high": value.high}


def analysis_json(analysis: ProductAnalysis) -> dict[str, Any]:
    """What the review page shows beyond the suggestion's columns (docs/pricing.md)."""
    return {
        "winProbabilityCurrent": _interval(analysis.win_probability_current),
        "winProbabilitySuggested": _interval(analysis.win_probability_suggested),
        "quotesPerHorizon": _interval(analysis.quotes_per_horizon),
        "demandCurrent": _interval(analysis.demand_current),
        "demandSuggested": _interval(analysis.demand_suggested),
        "expectedRevenueCurrent": analysis.expected_revenue_current,
        "expectedRevenueSuggested": analysis.expected_revenue_suggested,
        "churn": {
            "probability": analysis.churn.probability,
            "low": analysis.churn.low,
            "high": analysis.churn.high,
            "customersAffected": analysis.churn.customers_affected,
            "basis": analysis.churn.basis,
            "note": analysis.churn.note,
        },
        "competitor": {
            "median": analysis.competitor.median,
            "percentile": analysis.competitor.percentile,
            "n": analysis.competitor.n,
        },
        "constraints": list(analysis.constraints),
        "curve": [
            {
                "price": point.price,
                "winProbability": point.win_probability,
                "low": point.low,
                "high": point.high,
                "expectedRevenue": point.expected_revenue,
            }
            for point in analysis.curve
        ],
    }


def _skip(product: Product, code: str, reason: str) -> dict[str, str]:
    return {"product": product.external_id, "name": product.name, "code": code, "reason": reason}


def suggestions_generate(
    *,
    organization: Organization,
    requested_by: Member,
    product_ids: list[str] | None,
    now: dt.datetime,
) -> Generated:
    """Analyse the products (default: all active ones) and propose a price for each that
    has the data for one; the others are skipped with the reason. A product's earlier
    proposed suggestion expires when a new one replaces it; one approved and waiting for its
    date keeps the product out of the run."""
    products = list(selectors.products_for_analysis(organization, product_ids))
    if product_ids is not None:
        unknown = sorted(set(product_ids) - {p.external_id for p in products})
        if unknown:
            message = f"Unknown product{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}."
            # The message itself names them (a field error's message is the generic one).
            raise ApplicationError(message, details={"productIds": [message], "unknown": unknown})
    policy = selectors.pricing_policy(organization)
    expires = now + dt.timedelta(days=selectors.expire_after_days(organization))
    made: list[PricingSuggestion] = []
    skipped: list[dict[str, str]] = []
    with transaction.atomic():
        run = PricingRun.objects.create(organization=organization, requested_by=requested_by, at=now)
        # At most one approved suggestion per product (the open-suggestion constraint): one read.
        approved = {
            s.product_id: s
            for s in PricingSuggestion.objects.filter(product__in=products, status=SuggestionStatus.APPROVED)
        }
        for product in products:
            waiting = approved.get(product.pk)
            if waiting is not None:
                skipped.append(
                    _skip(
                        product,
                        "change_pending",
                        f"An approved change to {waiting.suggested_price} takes effect on "
                        f"{waiting.effective_at.astimezone(organization.tz):%Y-%m-%d}.",
                    )
                )
                continue
            currency = product.currency or organization.currency
            result = analyse_product(
                selectors.product_inputs(organization, product, as_of=now), policy, currency=currency
            )
            if isinstance(result, Skipped):
                skipped.append(_skip(product, result.code, result.reason))
                continue
            if result.suggested_price == result.current_price:
                skipped.append(
                    _skip(
                        product,
                        "no_change",
                        "The current price is already within 1% of the revenue-maximising price. "
                        + result.rationale,
                    )
                )
                continue
            for earlier in PricingSuggestion.objects.select_for_update().filter(
                product=product, status=SuggestionStatus.PROPOSED
            ):
                _expire(earlier, reason="replaced by a newer suggestion")
            suggestion = PricingSuggestion.objects.create(
                organization=organization,
                product=product,
                tier=product.tier,
                currency=currency,
                analysis=analysis_json(result),
                requested_by=requested_by,
                created_at=now,
                expires_at=expires,
                **_suggestion_values(result),
            )
            _audit(suggestion, actor=requested_by, action="proposed", before=None)
            made.append(suggestion)
        run.skipped = skipped
        run.save(update_fields=["skipped"])
        run.suggestions.set(made)
    return Generated(run=run, suggestions=made, skipped=skipped)


def _transition(
    suggestion_id: int, *, organization: Organization, expected: str, changes: dict[str, Any]
) -> PricingSuggestion:
    """Move one suggestion from `expected` in a single conditional UPDATE (the row lock of the
    UPDATE serialises concurrent callers; the loser updates nothing). Returns it reloaded."""
    updated = PricingSuggestion.objects.filter(
        pk=suggestion_id, organization=organization, status=expected
    ).update(**changes)
    suggestion = PricingSuggestion.objects.select_related("product", "organization").get(pk=suggestion_id)
    if not updated:
        raise NotProposed(
            f"This suggestion is {suggestion.get_status_display().lower()}, not {expected}: "
            "nothing was changed.",
            details={"status": suggestion.status},
        )
    return suggestion


def suggestion_get(organization: Organization, suggestion_id: Any) -> PricingSuggestion:
    """The organization's suggestion or a 404 (another organization's answers the same)."""
    try:
        return selectors.suggestions(organization).get(pk=int(suggestion_id))
    except (TypeError, ValueError):
        raise NotInOrganization("No such pricing suggestion.", elsewhere=False) from None
    except PricingSuggestion.DoesNotExist:
        elsewhere = held_elsewhere(PricingSuggestion, organization, pk=int(suggestion_id))
        raise NotInOrganization("No such pricing suggestion.", elsewhere=elsewhere) from None


def suggestion_decide(
    *,
    organization: Organization,
    actor: Member,
    suggestion_id: int,
    decision: str,
    notes: str,
    now: dt.datetime,
) -> PricingSuggestion:
    """Approve (effective 30 days later; notices queued to the affected customers) or
    reject a proposed suggestion. Admins only, never the requester (four eyes)."""
    _require_admin(actor, organization)
    suggestion = suggestion_get(organization, suggestion_id)
    if suggestion.requested_by_id == actor.pk:
        raise NotAllowed(
            "You requested this suggestion; another admin must decide it (four eyes).", code="four_eyes"
        )
    notes = _require_notes(notes)
    if decision not in ("approve", "reject"):
        raise ApplicationError("decision is approve or reject.", field="decision")
    before = _state(suggestion)
    approve = decision == "approve"
    changes: dict[str, Any] = {
        "status": SuggestionStatus.APPROVED if approve else SuggestionStatus.REJECTED,
        "decided_by": actor,
        "decided_at": now,
        "decision_notes": notes,
    }
    if approve:
        changes["effective_at"] = now + dt.timedelta(days=NOTICE_DAYS)
    with transaction.atomic():
        suggestion = _transition(
            suggestion.pk, organization=organization, expected=SuggestionStatus.PROPOSED, changes=changes
        )
        _audit(
            suggestion, actor=actor, action="approved" if approve else "rejected", before=before, notes=notes
        )
        if approve:
            from pricing import tasks

            transaction.on_commit(lambda: tasks.send_price_notices.delay(suggestion.pk))
    return suggestion


def _expire(suggestion: PricingSuggestion, *, reason: str) -> None:
    before = _state(suggestion)
    if PricingSuggestion.objects.filter(pk=suggestion.pk, status=SuggestionStatus.PROPOSED).update(
        status=SuggestionStatus.EXPIRED
    ):
        suggestion.status = SuggestionStatus.EXPIRED
        _audit(suggestion, actor=None, action="expired", before=before, notes=reason)


def suggestions_expire(*, now: dt.datetime) -> int:
    """Proposed suggestions past their expiry date expire (a periodic job)."""
    count = 0
    for suggestion in PricingSuggestion.objects.filter(
        status=SuggestionStatus.PROPOSED, expires_at__lte=now
    ).select_related("organization"):
        with transaction.atomic():
            before = suggestion.status
            _expire(suggestion, reason="nobody decided it in time")
            count += before != suggestion.status
    return count


def _price_history(
    product: Product, price: Decimal, *, source: str, suggestion: PricingSuggestion, now: dt.datetime
) -> None:
    PriceHistory.objects.create(
        organization_id=product.organization_id,
        external_id=f"{source}:{suggestion.pk}:{now:%Y%m%dT%H%M%S}",
        product=product,
        price=price,
        currency=product.currency,
        effective_at=now,
        source=source,
        suggestion_id=suggestion.pk,
    )


def suggestions_apply_due(*, now: dt.datetime) -> list[PricingSuggestion]:
    """Approved suggestions whose effective date has come: the product's list price becomes
    the suggested price and a price-history row records it (a periodic job). Rows another
    worker holds are skipped, so two jobs never apply one suggestion twice."""
    applied = []
    due = PricingSuggestion.objects.filter(
        status=SuggestionStatus.APPROVED, effective_at__lte=now
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            suggestion = (
                PricingSuggestion.objects.select_for_update(skip_locked=True)
                .select_related("organization")
                .filter(pk=pk, status=SuggestionStatus.APPROVED)
                .first()
            )
            if suggestion is None:
                continue
            product = Product.objects.select_for_update().get(pk=suggestion.product_id)
            before = _state(suggestion)
            suggestion.previous_price = product.list_price
            suggestion.status = SuggestionStatus.APPLIED
            suggestion.applied_at = now
            suggestion.save(update_fields=["previous_price", "status", "applied_at"])
            product.list_price = suggestion.suggested_price
            product.save(update_fields=["list_price"])
            _price_history(
                product,
                suggestion.suggested_price,
                source=PriceSource.SUGGESTION,
                suggestion=suggestion,
                now=now,
            )
            _audit(suggestion, actor=None, action="applied", before=before)
            applied.append(suggestion)
    return applied


def suggestion_rollback(
    *, organization: Organization, actor: Member, suggestion_id: int, notes: str, now: dt.datetime
) -> PricingSuggestion:
    """An admin restores the price an applied suggestion replaced."""
    _require_admin(actor, organization)
    suggestion = suggestion_get(organization, suggestion_id)
    notes = _require_notes(notes)
    before = _state(suggestion)
    with transaction.atomic():
        suggestion = _transition(
            suggestion.pk,
            organization=organization,
            expected=SuggestionStatus.APPLIED,
            changes={
                "status": SuggestionStatus.ROLLED_BACK,
                "rolled_back_by": actor,
                "rolled_back_at": now,
                "rollback_notes": notes,
            },
        )
        product = Product.objects.select_for_update().get(pk=suggestion.product_id)
        product.list_price = suggestion.previous_price
        product.save(update_fields=["list_price"])
        _price_history(
            product, suggestion.previous_price, source=PriceSource.ROLLBACK, suggestion=suggestion, now=now
        )
        _audit(suggestion, actor=actor, action="rolled_back", before=before, notes=notes)
    return suggestion


def list_prices_record(*, organization_id: int, now: dt.datetime) -> int:
    """After products were loaded: a price-history row for each product whose list price is
    not the last one recorded (a new product's first price included). Returns the rows."""
    last_price = (
        PriceHistory.objects.filter(product_id=OuterRef("pk"), effective_at__lte=now)
        .order_by("-effective_at", "-id")
        .values("price")[:1]
    )
    changed = (
        Product.objects.filter(organization_id=organization_id)
        .annotate(last_price=Subquery(last_price))
        .filter(Q(last_price__isnull=True) | ~Q(last_price=F("list_price")))
        .values_list("pk", "list_price", "currency")
    )
    rows = [
        PriceHistory(
            organization_id=organization_id,
            external_id=f"import:{pk}:{now:%Y%m%dT%H%M%S.%f}",
            product_id=pk,
            price=price,
            currency=currency,
            effective_at=now,
            source=PriceSource.IMPORT,
        )
        for pk, price, currency in changed
    ]
    PriceHistory.objects.bulk_create(rows)
    return len(rows)
