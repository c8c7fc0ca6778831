"""Writes of experiments: create (from a campaign, a product or a pricing suggestion), start,
stop, decide, and the looks kept in the decision history (DESIGN section 9.4,
docs/experiments.md, "Lifecycle").

Every transition is a conditional UPDATE on the experiment's status inside a transaction,
then one ExperimentEvent (the decision history, with the numbers of that moment) and one
audit row (crm.AuditLog) in the same transaction: of two concurrent transitions exactly one
changes the row, the other finds the status moved on and answers 409. The API and the pages
both come here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce

from core.errors import ApplicationError, NotInOrganization
from core.tenancy import held_elsewhere
from crm.audit import audit_record
from crm.models import Campaign, Member, Organization, Product
from insights.experiments import readout, selectors, stats
from insights.experiments.models import (
    KIND_METRICS,
    Decision,
    Experiment,
    ExperimentAction,
    ExperimentEvent,
    ExperimentKind,
    ExperimentMethod,
    ExperimentMetric,
    ExperimentScope,
    ExperimentStatus,
    ExperimentVariant,
)
from pricing.models import PricingSuggestion, SuggestionStatus
from pricing.services import suggestion_get

# One look an hour is enough history: the sequential boundary does not need the looks (it
# holds for continuous monitoring, insights.experiments.stats), people reading the history do.
LOOK_EVERY = dt.timedelta(hours=1)
NAME_MAX_LENGTH = 200
NOTE_MAX_LENGTH = 2000
KEY_MAX_LENGTH = 50
# A suggestion's test looks for the change in win probability its analysis predicts, but never
# for less than this (smaller effects need more quotes than a product gets in a year).
MIN_SUGGESTION_EFFECT = 0.01
# When the suggestion's analysis has no win probabilities: five percentage points (down for a
# higher price, up for a lower one).
DEFAULT_SUGGESTION_EFFECT = 0.05
# Suggestions a price test can still inform: not yet applied, rejected or expired.
TESTABLE_SUGGESTIONS = (SuggestionStatus.PROPOSED, SuggestionStatus.APPROVED)
OPEN_STATUSES = (ExperimentStatus.DRAFT, ExperimentStatus.RUNNING)
CONTROL_KEY, TREATMENT_KEY = "current", "suggested"


class WrongStatus(ApplicationError):
    """The experiment is not in a status the transition starts from: a 409."""

    status = 409
    code = "conflict"


@dataclass(frozen=True)
class VariantSpec:
    key: str
    weight: float
    price: Decimal | None = None


def _state(experiment: Experiment) -> dict[str, Any]:
    return {
        "status": experiment.status,
        "decision": experiment.decision,
        "winner": experiment.winner_key,
        "startedAt": experiment.started_at.isoformat() if experiment.started_at else None,
        "stoppedAt": experiment.stopped_at.isoformat() if experiment.stopped_at else None,
        "decidedAt": experiment.decided_at.isoformat() if experiment.decided_at else None,
    }


def _record(
    experiment: Experiment,
    *,
    actor: Member | None,
    action: str,
    at: dt.datetime,
    payload: dict[str, Any],
    before: dict[str, Any] | None = None,
    note: str = "",
) -> ExperimentEvent:
    """The decision-history event and, for a transition, the audit row (with the note)."""
    note = (note or "").strip()
    if note:
        payload = {**payload, "note": note}
    event = ExperimentEvent.objects.create(
        organization_id=experiment.organization_id,
        experiment=experiment,
        action=action,
        actor=actor,
        actor_label=str(actor) if actor is not None else "system",
        at=at,
        payload=payload,
    )
    if action != ExperimentAction.LOOKED:
        audit_record(
            organization=experiment.organization,
            actor=actor,
            action=f"experiment.{action}",
            object_type="experiment",
            object_id=experiment.pk,
            before=before,
            after={**_state(experiment), **({"note": note} if note else {})},
        )
    return event


# --- create -----------------------------------------------------------------------------


def _check_unit(value: float, field: str) -> float:
    if not (isinstance(value, int | float) and 0 < value < 1):
        raise ApplicationError(f"{field} must be strictly between 0 and 1.", field=field)
    return float(value)


def _check_variants(kind: str, variants: Sequence[VariantSpec]) -> None:
    if len(variants) < 2:
        raise ApplicationError("An experiment needs at least two variants.", field="variants")
    keys = [v.key for v in variants]
    if any(not key or len(key) > KEY_MAX_LENGTH for key in keys):
        raise ApplicationError(
            f"Every variant needs a key of 1 to {KEY_MAX_LENGTH} characters.", field="variants"
        )
    if len(set(keys)) != len(keys):
        raise ApplicationError("Variant keys must be unique.", field="variants")
    if any(not (v.weight > 0) for v in variants):
        raise ApplicationError("Every variant's weight must be positive.", field="variants")
    total = math.fsum(v.weight for v in variants)
    if abs(total - 1) > stats.WEIGHT_SUM_TOLERANCE:
        raise ApplicationError(
            f"The variants' weights must sum to 1; they sum to {total:g}.", field="variants"
        )
    if kind == ExperimentKind.PRICING:
        unpriced = [v.key for v in variants if v.price is None or v.price <= 0]
        if unpriced:
            raise ApplicationError(
                "Every variant of a pricing experiment needs a positive price "
                f"({', '.join(unpriced)} has none).",
                field="variants",
            )
    elif any(v.price is not None for v in variants):
        raise ApplicationError("The variants of a campaign experiment have no price.", field="variants")


def _campaign(organization: Organization, external_id: str | None) -> Campaign:
    if not external_id:
        raise ApplicationError("A campaign experiment names its campaign.", field="campaignId")
    campaign = Campaign.objects.for_org(organization).filter(external_id=external_id).first()
    if campaign is None:
        raise selectors.not_found(
            f"No campaign {external_id}.",
            field="campaignId",
            elsewhere=held_elsewhere(Campaign, organization, external_id=external_id),
        )
    return campaign


def _product(organization: Organization, external_id: str | None) -> Product:
    if not external_id:
        raise ApplicationError("A pricing experiment names its product.", field="productId")
    product = Product.objects.for_org(organization).filter(external_id=external_id).first()
    if product is None:
        raise selectors.not_found(
            f"No product {external_id}.",
            field="productId",
            elsewhere=held_elsewhere(Product, organization, external_id=external_id),
        )
    return product


@dataclass(frozen=True)
class Plan:
    baseline_rate: float | None
    baseline_sd: float | None
    required_sample_size: int


def _plan(
    *,
    metric: str,
    baseline: selectors.Baseline,
    baseline_rate: float | None,
    baseline_sd: float | None,
    effect: float,
    alpha: float,
    power: float,
) -> Plan:
    """The sample size each variant needs: R's power.prop.test formula for a rate from the
    baseline to baseline + effect; for revenue per contact the t test's (R's power.t.test)
    for a difference of `effect` with the control's standard deviation."""
    if not (isinstance(effect, int | float) and effect != 0 and math.isfinite(effect)):
        raise ApplicationError(
            "minimumDetectableEffect must be a number other than 0 (negative: plan for a drop).",
            field="minimumDetectableEffect",
        )
    rate = baseline.rate if baseline_rate is None else baseline_rate
    if metric == ExperimentMetric.REVENUE_PER_CONTACT:
        sd = baseline.sd if baseline_sd is None else baseline_sd
        if sd is None or not sd > 0:
            raise ApplicationError(
                "The control has no spread of revenue per contact yet (fewer than two contacts, or all "
                "equal): give baselineSd.",
                field="baselineSd",
            )
        n = stats.t_test_sample_size(effect, sd, alpha=alpha, power=power)
        return Plan(baseline_rate=rate, baseline_sd=sd, required_sample_size=n)
    if rate is None:
        raise ApplicationError(
            "There is no rate of the control so far to plan from: give baselineRate.", field="baselineRate"
        )
    if not 0 < rate < 1:
        raise ApplicationError(
            f"The baseline rate must be strictly between 0 and 1 (the control's so far is {rate:g}): "
            "give baselineRate.",
            field="baselineRate",
        )
    if not 0 < rate + effect < 1:
        raise ApplicationError(
            "baselineRate + minimumDetectableEffect must stay strictly between 0 and 1 "
            f"({rate:g} + {effect:g}).",
            field="minimumDetectableEffect",
        )
    n = stats.required_sample_size(rate, rate + effect, alpha=alpha, power=power)
    return Plan(baseline_rate=rate, baseline_sd=None, required_sample_size=n)


def experiment_create(
    *,
    organization: Organization,
    actor: Member,
    name: str,
    kind: str,
    variants: Sequence[VariantSpec],
    metric: str,
    minimum_detectable_effect: float,
    method: str,
    now: dt.datetime,
    hypothesis: str = "",
    campaign_id: str | None = None,
    product_id: str | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    baseline_rate: float | None = None,
    baseline_sd: float | None = None,
    scope: str = ExperimentScope.SINCE_START,
    pricing_suggestion: PricingSuggestion | None = None,
) -> Experiment:
    """A draft experiment on a campaign's message variants or on a product's prices, with the
    sample size each variant needs. Bad input is a 400 naming the field; a campaign or product
    the organization does not hold is a 404."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise ApplicationError(f"A name of 1 to {NAME_MAX_LENGTH} characters is required.", field="name")
    if kind not in ExperimentKind.values:
        raise ApplicationError(f"kind is one of {', '.join(ExperimentKind.values)}.", field="kind")
    _check_variants(kind, variants)
    if metric not in KIND_METRICS[kind]:
        raise ApplicationError(
            f"A {kind} experiment cannot measure {metric}; it measures {', '.join(KIND_METRICS[kind])}.",
            field="metric",
        )
    if method not in ExperimentMethod.values:
        raise ApplicationError(f"method is one of {', '.join(ExperimentMethod.values)}.", field="method")
    if method == ExperimentMethod.BAYESIAN and readout.metric_kind(metric) == "mean":
        raise ApplicationError(
            "The Bayesian method models rates; decide revenue per contact with the frequentist or the "
            "sequential method.",
            field="method",
        )
    alpha, power = _check_unit(alpha, "alpha"), _check_unit(power, "power")
    if scope not in ExperimentScope.values:
        raise ApplicationError(f"scope is one of {', '.join(ExperimentScope.values)}.", field="scope")
    control = variants[0].key
    if kind == ExperimentKind.CAMPAIGN:
        if product_id:
            raise ApplicationError(
                "A campaign experiment names a campaign, not a product.", field="productId"
            )
        campaign, product = _campaign(organization, campaign_id), None
        sent = selectors.campaign_variant_keys(organization, campaign)
        unknown = sorted({v.key for v in variants} - sent)
        if sent and unknown:
            raise ApplicationError(
                f"The campaign's messages have the variants {', '.join(sorted(sent))}, not "
                f"{', '.join(unknown)}.",
                field="variants",
            )
        baseline = selectors.campaign_baseline(
            organization, campaign, metric=metric, control_key=control, as_of=now
        )
    else:
        if campaign_id:
            raise ApplicationError(
                "A pricing experiment names a product, not a campaign.", field="campaignId"
            )
        if scope != ExperimentScope.SINCE_START:
            raise ApplicationError("A pricing experiment measures the quotes since its start.", field="scope")
        campaign, product = None, _product(organization, product_id)
        baseline = selectors.pricing_baseline(organization, product, metric=metric, as_of=now)
    plan = _plan(
        metric=metric,
        baseline=baseline,
        baseline_rate=baseline_rate,
        baseline_sd=baseline_sd,
        effect=minimum_detectable_effect,
        alpha=alpha,
        power=power,
    )
    with transaction.atomic():
        experiment = Experiment.objects.create(
            organization=organization,
            name=name,
            hypothesis=(hypothesis or "").strip(),
            kind=kind,
            campaign=campaign,
            product=product,
            scope=scope,
            metric=metric,
            alpha=alpha,
            power=power,
            baseline_rate=plan.baseline_rate,
            baseline_sd=plan.baseline_sd,
            minimum_detectable_effect=float(minimum_detectable_effect),
            required_sample_size=plan.required_sample_size,
            method=method,
            created_by=actor,
            created_at=now,
            pricing_suggestion=pricing_suggestion,
        )
        ExperimentVariant.objects.bulk_create(
            ExperimentVariant(
                experiment=experiment, key=v.key, weight=float(v.weight), price=v.price, position=i
            )
            for i, v in enumerate(variants)
        )
        _record(
            experiment,
            actor=actor,
            action=ExperimentAction.CREATED,
            at=now,
            payload={
                "baselineRate": plan.baseline_rate,
                "baselineSd": plan.baseline_sd,
                "baselineN": baseline.n,
                "minimumDetectableEffect": float(minimum_detectable_effect),
                "requiredSampleSize": plan.required_sample_size,
                "variants": [
                    {"key": v.key, "weight": v.weight, "price": None if v.price is None else str(v.price)}
                    for v in variants
                ],
                "suggestionId": None if pricing_suggestion is None else pricing_suggestion.pk,
            },
        )
    return selectors.experiment_get(organization, experiment.pk)


def _suggested_effect(suggestion: PricingSuggestion) -> float:
    """The change in win probability the suggestion's analysis predicts (negative for a drop,
    the usual answer to a higher price), at least MIN_SUGGESTION_EFFECT either way;
    DEFAULT_SUGGESTION_EFFECT, in the direction of the price change, without a prediction."""
    analysis = suggestion.analysis or {}
    try:
        current = float(analysis["winProbabilityCurrent"]["estimate"])
        suggested = float(analysis["winProbabilitySuggested"]["estimate"])
    except (KeyError, TypeError, ValueError):
        return (
            -DEFAULT_SUGGESTION_EFFECT
            if suggestion.suggested_price > suggestion.current_price
            else DEFAULT_SUGGESTION_EFFECT
        )
    change = round(suggested - current, 3)
    return math.copysign(max(abs(change), MIN_SUGGESTION_EFFECT), change)


def experiment_create_from_suggestion(
    *,
    organization: Organization,
    actor: Member,
    suggestion_id: int,
    now: dt.datetime,
    name: str | None = None,
    method: str = ExperimentMethod.SEQUENTIAL,
    alpha: float = 0.05,
    power: float = 0.8,
    minimum_detectable_effect: float | None = None,
) -> Experiment:
    """A draft price test of a pricing suggestion: the current price (control) against the
    suggested one, half the contacts each, measured by the quotes' win rate."""
    try:
        suggestion = suggestion_get(organization, suggestion_id)
    except NotInOrganization as exc:
        raise selectors.not_found(
            "No such pricing suggestion.", field="suggestionId", elsewhere=exc.elsewhere
        ) from None
    if suggestion.status not in TESTABLE_SUGGESTIONS:
        raise WrongStatus(
            f"This suggestion is {suggestion.get_status_display().lower()}: only a proposed or approved "
            "suggestion can be tested.",
            details={"status": suggestion.status},
        )
    already = WrongStatus("This suggestion already has a price test in draft or running.")
    if (
        Experiment.objects.for_org(organization)
        .filter(pricing_suggestion=suggestion, status__in=OPEN_STATUSES)
        .exists()
    ):
        raise already
    product = suggestion.product
    baseline = selectors.pricing_baseline(
        organization, product, metric=ExperimentMetric.CONVERSION_RATE, as_of=now
    )
    baseline_rate = None
    if baseline.rate is None:
        # No decided quote in the last 90 days: the win probability the analysis estimated.
        baseline_rate = (suggestion.analysis or {}).get("winProbabilityCurrent", {}).get("estimate")
    try:
        return _create_from_suggestion(
            organization=organization,
            actor=actor,
            suggestion=suggestion,
            baseline_rate=baseline_rate,
            name=name,
            method=method,
            alpha=alpha,
            power=power,
            minimum_detectable_effect=minimum_detectable_effect,
            now=now,
        )
    except IntegrityError:
        # A concurrent request made the open test first (experiment_one_open_per_suggestion).
        raise already from None


def _create_from_suggestion(
    *,
    organization: Organization,
    actor: Member,
    suggestion: PricingSuggestion,
    baseline_rate: float | None,
    name: str | None,
    method: str,
    alpha: float,
    power: float,
    minimum_detectable_effect: float | None,
    now: dt.datetime,
) -> Experiment:
    product = suggestion.product
    return experiment_create(
        organization=organization,
        actor=actor,
        name=name
        or f"Price test: {product.name} at {suggestion.suggested_price} vs {suggestion.current_price}",
        hypothesis=suggestion.rationale,
        kind=ExperimentKind.PRICING,
        product_id=product.external_id,
        variants=[
            VariantSpec(CONTROL_KEY, 0.5, suggestion.current_price),
            VariantSpec(TREATMENT_KEY, 0.5, suggestion.suggested_price),
        ],
        metric=ExperimentMetric.CONVERSION_RATE,
        alpha=alpha,
        power=power,
        baseline_rate=baseline_rate,
        minimum_detectable_effect=_suggested_effect(suggestion)
        if minimum_detectable_effect is None
        else minimum_detectable_effect,
        method=method,
        now=now,
        pricing_suggestion=suggestion,
    )


# --- transitions ------------------------------------------------------------------------


def _transition(
    experiment: Experiment, *, expected: Sequence[str], changes: dict[str, Any], verb: str
) -> Experiment:
    """Move one experiment out of `expected` in a single conditional UPDATE (its row lock
    serialises concurrent callers; the loser updates nothing and gets the 409)."""
    updated = (
        Experiment.objects.for_org(experiment.organization_id)
        .filter(pk=experiment.pk, status__in=expected)
        .update(**changes)
    )
    fresh = selectors.experiment_get(experiment.organization, experiment.pk)
    if not updated:
        raise WrongStatus(
            f"This experiment is {fresh.status}; only a {' or '.join(expected)} experiment can be {verb}.",
            details={"status": fresh.status},
        )
    return fresh


def experiment_start(
    *, organization: Organization, actor: Member, experiment_id: int, now: dt.datetime, note: str = ""
) -> Experiment:
    """draft -> running: from now on its messages or quotes count (docs/experiments.md)."""
    experiment = selectors.experiment_get(organization, experiment_id)
    before = _state(experiment)
    with transaction.atomic():
        experiment = _transition(
            experiment,
            expected=[ExperimentStatus.DRAFT],
            changes={"status": ExperimentStatus.RUNNING, "started_at": now},
            verb="started",
        )
        _record(
            experiment,
            actor=actor,
            action=ExperimentAction.STARTED,
            at=now,
            payload={},
            before=before,
            note=note,
        )
    return experiment


def experiment_stop(
    *, organization: Organization, actor: Member, experiment_id: int, now: dt.datetime, note: str = ""
) -> Experiment:
    """running -> stopped: nothing after now counts; the results of this moment are kept."""
    experiment = selectors.experiment_get(organization, experiment_id)
    before = _state(experiment)
    with transaction.atomic():
        experiment = _transition(
            experiment,
            expected=[ExperimentStatus.RUNNING],
            changes={"status": ExperimentStatus.STOPPED, "stopped_at": now},
            verb="stopped",
        )
        payload = readout.results_payload(readout.readout(experiment, as_of=now))
        _record(
            experiment,
            actor=actor,
            action=ExperimentAction.STOPPED,
            at=now,
            payload=payload,
            before=before,
            note=note,
        )
    return experiment


def experiment_decide(
    *, organization: Organization, actor: Member, experiment_id: int, now: dt.datetime, note: str = ""
) -> Experiment:
    """running or stopped -> decided, with the decision the statistics reach now (a winner,
    or no difference) and its reason. While they say "keep running" there is nothing to
    record: a 409 with their reason."""
    experiment = selectors.experiment_get(organization, experiment_id)
    if experiment.status not in (ExperimentStatus.RUNNING, ExperimentStatus.STOPPED):
        raise WrongStatus(
            f"This experiment is {experiment.status}; only a running or stopped experiment can be decided.",
            details={"status": experiment.status},
        )
    before = _state(experiment)
    reading = readout.readout(experiment, as_of=now)
    decision = reading.results.decision
    if decision.status == Decision.KEEP_RUNNING:
        raise WrongStatus(
            f"No decision yet: {decision.reason}",
            details={"decision": decision.status, "reason": decision.reason},
        )
    with transaction.atomic():
        experiment = _transition(
            experiment,
            expected=[ExperimentStatus.RUNNING, ExperimentStatus.STOPPED],
            changes={
                "status": ExperimentStatus.DECIDED,
                "decided_at": now,
                "stopped_at": Coalesce("stopped_at", Value(now)),
                "decision": decision.status,
                "winner_key": decision.winner or "",
                "decision_reason": decision.reason,
            },
            verb="decided",
        )
        _record(
            experiment,
            actor=actor,
            action=ExperimentAction.DECIDED,
            at=now,
            payload=readout.results_payload(reading),
            before=before,
            note=note,
        )
    return experiment


def experiment_look(*, experiment: Experiment, actor: Member | None, now: dt.datetime) -> readout.Readout:
    """The results as of now. A running experiment's look joins the decision history with
    its numbers, at most once per LOOK_EVERY (the experiment's row lock makes concurrent
    looks wait, so two of them never both append)."""
    reading = readout.readout(experiment, as_of=now)
    if experiment.status != ExperimentStatus.RUNNING:
        return reading
    with transaction.atomic():
        Experiment.objects.select_for_update().filter(pk=experiment.pk).values_list("pk").first()
        last = selectors.last_look(experiment)
        if last is None or now - last >= LOOK_EVERY:
            _record(
                experiment,
                actor=actor,
                action=ExperimentAction.LOOKED,
                at=now,
                payload=readout.results_payload(reading),
            )
    return reading
