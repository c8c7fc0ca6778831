"""Reads of experiments: the experiments themselves, and what each variant measured
(docs/experiments.md, "Kinds and how each metric is measured").

Every count and sum is aggregated in the database, one query per measurement; the only
Python step is the pricing assignment (a sha256 per distinct subject, see `pricing_measures`).
Every read takes the organization first.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    FloatField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce

from core.errors import ApplicationError, NotInOrganization
from core.metrics import counted_currencies
from core.tenancy import held_elsewhere
from crm.models import (
    Campaign,
    CampaignMessage,
    Contact,
    Lead,
    Organization,
    Product,
    Quote,
    QuoteOutcome,
    Sale,
)
from insights.experiments.assignment import assign_many, subject_key
from insights.experiments.models import (
    Experiment,
    ExperimentAction,
    ExperimentEvent,
    ExperimentKind,
    ExperimentMetric,
    ExperimentScope,
    ExperimentVariant,
)

# A contact converts when a sale closes within this many days after the first message of the
# experiment they were delivered (campaign experiments, conversion_rate and revenue_per_contact).
CONVERSION_WINDOW_DAYS = 30
# A pricing experiment's default baseline: the product's decided quotes of this many days.
PRICING_BASELINE_DAYS = 90
DECIDED = (QuoteOutcome.WON, QuoteOutcome.LOST)
RATE_EVENTS = {ExperimentMetric.REPLY_RATE: "replied_at", ExperimentMetric.READ_RATE: "read_at"}


@dataclass(frozen=True)
class VariantMeasure:
    """What one variant measured, the input of the statistics.

    `n` is the unit count of the metric: delivered messages (reply_rate, read_rate), messaged
    contacts (campaign conversion_rate and revenue_per_contact), decided quotes (pricing
    conversion_rate) or quoted subjects (pricing revenue_per_contact). `conversions` counts
    the successes among them (for revenue: the units with revenue). `total` and
    `total_squares` are the sum and the sum of squares of the revenue per unit (revenue only,
    0 otherwise). `off_assignment` (pricing only): decided quotes at a price other than the
    subject's assigned variant's, still counted in the assigned variant (intention to treat).
    """

    key: str
    n: int = 0
    conversions: int = 0
    total: float = 0.0
    total_squares: float = 0.0
    off_assignment: int | None = None

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def sd(self) -> float | None:
        """The sample standard deviation of revenue per unit; None under two units."""
        if self.n < 2:
            return None
        variance = (self.total_squares - self.total * self.total / self.n) / (self.n - 1)
        return math.sqrt(max(variance, 0.0))


@dataclass(frozen=True)
class Window:
    """The half-open interval of sends (campaign) or quotes (pricing) measured; start None:
    from the campaign's first message."""

    start: dt.datetime | None
    end: dt.datetime


# --- experiments ------------------------------------------------------------------------


def experiments(organization: Organization) -> QuerySet[Experiment]:
    return Experiment.objects.for_org(organization).select_related(
        "organization", "campaign", "product", "created_by"
    )


def experiment_get(organization: Organization, experiment_id: object) -> Experiment:
    """The organization's experiment with its variants, or a 404 (another organization's
    answers the same, and is logged as a security event)."""
    variants = Prefetch("variants", queryset=ExperimentVariant.objects.order_by("position"))
    try:
        return experiments(organization).prefetch_related(variants).get(pk=int(experiment_id))
    except (TypeError, ValueError):
        raise NotInOrganization("No such experiment.", elsewhere=False) from None
    except Experiment.DoesNotExist:
        elsewhere = held_elsewhere(Experiment, organization, pk=int(experiment_id))
        raise NotInOrganization("No such experiment.", elsewhere=elsewhere) from None


def experiment_events(experiment: Experiment) -> QuerySet[ExperimentEvent]:
    return ExperimentEvent.objects.for_org(experiment.organization_id).filter(experiment=experiment)


def last_look(experiment: Experiment) -> dt.datetime | None:
    return (
        experiment_events(experiment)
        .filter(action=ExperimentAction.LOOKED)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )


def variant_weights(experiment: Experiment) -> list[tuple[str, float]]:
    """(key, weight) in position order: the assignment's input."""
    return [(v.key, v.weight) for v in experiment.variants.all()]


def campaign_variant_keys(organization: Organization, campaign: Campaign) -> set[str]:
    """The distinct non-empty `variant` values of the campaign's messages."""
    return set(
        CampaignMessage.objects.for_org(organization)
        .filter(campaign=campaign)
        .exclude(variant="")
        .values_list("variant", flat=True)
        .distinct()
    )


def assignment_subject(organization: Organization, *, contact_id: str | None, lead_id: str | None) -> str:
    """The subject key of the contact (or lead) an agent names: a lead with a contact is its
    contact, so a contact sees one price whichever of their leads is quoted. Unknown in the
    organization: a 404 naming the parameter."""
    if bool(contact_id) == bool(lead_id):
        raise ApplicationError("Name a contact, or (for a quote without one) a lead.", field="contact")
    if contact_id:
        if not Contact.objects.for_org(organization).filter(external_id=contact_id).exists():
            raise not_found(
                "No such contact.",
                field="contact",
                elsewhere=held_elsewhere(Contact, organization, external_id=contact_id),
            )
        return subject_key(contact_external_id=contact_id, lead_external_id=None)
    lead = (
        Lead.objects.for_org(organization).filter(external_id=lead_id).values("contact__external_id").first()
    )
    if lead is None:
        raise not_found(
            "No such lead.", field="lead", elsewhere=held_elsewhere(Lead, organization, external_id=lead_id)
        )
    return subject_key(contact_external_id=lead["contact__external_id"], lead_external_id=lead_id)


def not_found(message: str, *, field: str, elsewhere: bool) -> NotInOrganization:
    """A 404 that names the parameter holding the id (another organization's answers the same)."""
    error = NotInOrganization(message, elsewhere=elsewhere)
    error.details = {field: [message]}
    return error


# --- measurement ------------------------------------------------------------------------


def measurement_window(experiment: Experiment, *, as_of: dt.datetime) -> Window | None:
    """What an experiment measures as of `as_of`; None before it started (a draft measures
    nothing, except a whole-campaign read-out, which measures the campaign so far)."""
    end = experiment.stopped_at or as_of
    if experiment.kind == ExperimentKind.CAMPAIGN and experiment.scope == ExperimentScope.WHOLE_CAMPAIGN:
        return Window(start=None, end=end)
    if experiment.started_at is None:
        return None
    return Window(start=experiment.started_at, end=end)


def measures(experiment: Experiment, *, as_of: dt.datetime) -> list[VariantMeasure]:
    """Each variant's measure in position order (zeros for a variant without data)."""
    keys = [v.key for v in experiment.variants.all()]
    window = measurement_window(experiment, as_of=as_of)
    if window is None:
        found: dict[str, VariantMeasure] = {}
    elif experiment.kind == ExperimentKind.CAMPAIGN:
        found = campaign_measures(
            experiment.organization,
            experiment.campaign,
            metric=experiment.metric,
            keys=keys,
            window=window,
            as_of=as_of,
        )
    else:
        found = pricing_measures(
            experiment.organization,
            experiment.product,
            metric=experiment.metric,
            experiment_id=experiment.pk,
            variants=[(v.key, v.weight, v.price) for v in experiment.variants.all()],
            window=window,
        )
    pricing = experiment.kind == ExperimentKind.PRICING
    return [found.get(key, VariantMeasure(key=key, off_assignment=0 if pricing else None)) for key in keys]


def _messages(organization: Organization, campaign: Campaign, keys: list[str], window: Window) -> QuerySet:
    rows = CampaignMessage.objects.for_org(organization).filter(
        campaign=campaign, variant__in=keys, delivered_at__isnull=False, sent_at__lt=window.end
    )
    return rows if window.start is None else rows.filter(sent_at__gte=window.start)


def campaign_measures(
    organization: Organization,
    campaign: Campaign,
    *,
    metric: str,
    keys: list[str],
    window: Window,
    as_of: dt.datetime,
) -> dict[str, VariantMeasure]:
    """A campaign experiment's variants: the campaign's delivered messages sent in the window,
    by their `variant` value (one query)."""
    messages = _messages(organization, campaign, keys, window)
    if metric in RATE_EVENTS:
        rows = (
            messages.order_by()
            .values("variant")
            .annotate(
                n=Count("id"), conversions=Count("id", filter=Q(**{f"{RATE_EVENTS[metric]}__isnull": False}))
            )
        )
        return {r["variant"]: VariantMeasure(r["variant"], r["n"], r["conversions"]) for r in rows}
    return _contact_outcomes(organization, messages, as_of=as_of)


def _contact_outcomes(
    organization: Organization, messages: QuerySet, *, as_of: dt.datetime
) -> dict[str, VariantMeasure]:
    """Per variant, the contacts whose first delivered message of the window was of that
    variant (a contact sent both variants counts once, in the first), those of them with a
    sale in the organization's currency closed within CONVERSION_WINDOW_DAYS after that
    message (and before `as_of`), and their revenue per contact (sum and sum of squares)."""
    earlier = messages.filter(contact_id=OuterRef("contact_id")).filter(
        Q(sent_at__lt=OuterRef("sent_at")) | Q(sent_at=OuterRef("sent_at"), id__lt=OuterRef("id"))
    )
    in_window = (
        Sale.objects.for_org(organization)
        .filter(currency__in=counted_currencies(organization.currency), closed_at__lt=as_of)
        .filter(closed_at__gte=OuterRef("sent_at"), closed_at__lt=OuterRef("follow_up_end"))
    )
    # The contact's sales: those naming the contact, and those naming none whose lead is the
    # contact's. Two subqueries, not one on COALESCE(sale contact, lead contact): each can use
    # its index (sales by contact; leads by contact, then sales by lead) for every message.
    direct = in_window.filter(contact_id=OuterRef("contact_id"))
    via_lead = in_window.filter(contact__isnull=True, lead__contact_id=OuterRef("contact_id"))
    firsts = (
        messages.filter(contact__isnull=False)
        .filter(~Exists(earlier))
        .annotate(follow_up_end=F("sent_at") + dt.timedelta(days=CONVERSION_WINDOW_DAYS))
        .annotate(
            converted=Exists(direct) | Exists(via_lead),
            revenue=Cast(_sales_amount(direct) + _sales_amount(via_lead), FloatField()),
        )
    )
    rows = (
        firsts.order_by()
        .values("variant")
        .annotate(
            n=Count("id"),
            conversions=Count("id", filter=Q(converted=True)),
            total=Coalesce(Sum("revenue"), Value(0.0)),
            squares=Coalesce(Sum(F("revenue") * F("revenue")), Value(0.0)),
        )
    )
    return {
        r["variant"]: VariantMeasure(
            r["variant"], r["n"], r["conversions"], float(r["total"]), float(r["squares"])
        )
        for r in rows
    }


def _sales_amount(sales: QuerySet) -> Coalesce:
    """The sum of the amounts of a correlated sales subquery, 0 without any."""
    money = DecimalField(max_digits=18, decimal_places=2)
    total = sales.order_by().values("organization_id").annotate(total=Sum("amount")).values("total")[:1]
    return Coalesce(Subquery(total, output_field=money), Value(0, output_field=money))


def pricing_measures(
    organization: Organization,
    product: Product,
    *,
    metric: str,
    experiment_id: int,
    variants: list[tuple[str, float, object]],
    window: Window,
) -> dict[str, VariantMeasure]:
    """A pricing experiment's variants from the product's quotes quoted in the window.

    One query groups the quotes by subject (contact, else lead) and unit price. Each distinct
    subject is then assigned its variant in Python: the assignment is a sha256 (assignment.py),
    which SQLite, the embedded default database, cannot compute, and it must be the very
    function the assignment endpoint answers agents with. The rows are then summed per
    variant with pandas, so Python touches one row per subject and price, never per quote.
    """
    quotes = Quote.objects.for_org(organization).filter(product=product, quoted_at__lt=window.end)
    if window.start is not None:
        quotes = quotes.filter(quoted_at__gte=window.start)
    rows = list(
        quotes.filter(Q(contact__isnull=False) | Q(lead__isnull=False))
        .order_by()
        .values("contact__external_id", "lead__contact__external_id", "lead__external_id", "unit_price")
        .annotate(
            decided=Count("id", filter=Q(outcome__in=DECIDED)),
            won=Count("id", filter=Q(outcome=QuoteOutcome.WON)),
            revenue=Sum(F("unit_price") * F("quantity"), filter=Q(outcome=QuoteOutcome.WON)),
        )
    )
    if not rows:
        return {}
    frame = pd.DataFrame(rows)
    frame["subject"] = [
        subject_key(contact_external_id=contact or lead_contact, lead_external_id=lead)
        for contact, lead_contact, lead in zip(
            frame["contact__external_id"],
            frame["lead__contact__external_id"],
            frame["lead__external_id"],
            strict=True,
        )
    ]
    assigned = assign_many(experiment_id, frame["subject"], [(key, weight) for key, weight, _ in variants])
    cents = {key: round(float(price) * 100) for key, _, price in variants if price is not None}
    frame["variant"] = frame["subject"].map(assigned)
    frame["cents"] = [round(float(p) * 100) for p in frame["unit_price"]]
    frame["off"] = frame["cents"].ne(frame["variant"].map(cents)) * frame["decided"]
    # Decimal sums, None for a group without a won quote (NaN once pandas has seen a float).
    frame["revenue"] = pd.to_numeric(frame["revenue"], errors="coerce").fillna(0.0).astype(float)
    by_variant = frame.groupby("variant")[["decided", "won", "off"]].sum()
    if metric == ExperimentMetric.REVENUE_PER_CONTACT:
        per_subject = frame.groupby(["variant", "subject"])["revenue"].sum().reset_index()
        per_subject["squares"] = per_subject["revenue"] ** 2
        per_subject["paid"] = per_subject["revenue"] > 0
        money = per_subject.groupby("variant").agg(
            n=("subject", "size"),
            conversions=("paid", "sum"),
            total=("revenue", "sum"),
            squares=("squares", "sum"),
        )
        return {
            key: VariantMeasure(
                key,
                int(row.n),
                int(row.conversions),
                float(row.total),
                float(row.squares),
                int(by_variant.loc[key, "off"]),
            )
            for key, row in money.iterrows()
        }
    return {
        key: VariantMeasure(key, int(row.decided), int(row.won), off_assignment=int(row.off))
        for key, row in by_variant.iterrows()
    }


# --- baselines --------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """The control's rate so far (or mean revenue per unit, with its sd) and its unit count."""

    rate: float | None
    sd: float | None
    n: int


def _baseline_of(measure: VariantMeasure | None, metric: str) -> Baseline:
    if measure is None or measure.n == 0:
        return Baseline(rate=None, sd=None, n=0)
    if metric == ExperimentMetric.REVENUE_PER_CONTACT:
        return Baseline(rate=measure.mean, sd=measure.sd, n=measure.n)
    return Baseline(rate=measure.conversions / measure.n, sd=None, n=measure.n)


def campaign_baseline(
    organization: Organization, campaign: Campaign, *, metric: str, control_key: str, as_of: dt.datetime
) -> Baseline:
    """The control variant's rate over the campaign's messages sent before `as_of` (the
    experiment's creation): its rate so far."""
    found = campaign_measures(
        organization,
        campaign,
        metric=metric,
        keys=[control_key],
        window=Window(start=None, end=as_of),
        as_of=as_of,
    )
    return _baseline_of(found.get(control_key), metric)


def pricing_baseline(
    organization: Organization, product: Product, *, metric: str, as_of: dt.datetime
) -> Baseline:
    """The product's won share of its decided quotes quoted in the last PRICING_BASELINE_DAYS
    (or its won revenue per quoted subject): every quote is the control before the test."""
    window = Window(start=as_of - dt.timedelta(days=PRICING_BASELINE_DAYS), end=as_of)
    found = pricing_measures(
        organization,
        product,
        metric=metric,
        experiment_id=0,
        variants=[("control", 1.0, None)],
        window=window,
    )
    return _baseline_of(found.get("control"), metric)
