"""Reads the experiment pages need beyond insights.experiments.selectors: the list with its
status counts and progress, the subject a new experiment is planned on (with the baselines the
service would default to), the decision history with its actors, and which pricing
suggestion already has a price test (docs/experiments.md, "Pages").

Every read takes the organization first (or an experiment already fetched through it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from core.errors import NotInOrganization
from core.tenancy import OtherOrganizationsObject, held_elsewhere
from crm.models import Campaign, Organization, Product
from insights.experiments import selectors
from insights.experiments.models import (
    KIND_METRICS,
    Experiment,
    ExperimentAction,
    ExperimentEvent,
    ExperimentKind,
    ExperimentStatus,
    ExperimentVariant,
)
from insights.experiments.selectors import Baseline

# The campaigns and products offered when choosing what to test: the most recent ones.
SUBJECT_CHOICES_LIMIT = 200
# Events whose payload holds the numbers an experiment closed with.
CLOSING_ACTIONS = (ExperimentAction.STOPPED, ExperimentAction.DECIDED)


def experiment_for_page(organization: Organization, experiment_id: int) -> Experiment:
    """selectors.experiment_get as a page's 404 (another organization's experiment answers
    exactly like a missing one, and is logged as a security event)."""
    try:
        return selectors.experiment_get(organization, experiment_id)
    except NotInOrganization as error:
        raise (OtherOrganizationsObject if error.elsewhere else Http404)("No such experiment.") from None


def not_found(error: NotInOrganization) -> Http404:
    """A service's 404 (a suggestion, a campaign or a product of the request) as a page's."""
    return (OtherOrganizationsObject if error.elsewhere else Http404)(error.message)


# --- the list -------------------------------------------------------------------------------


def experiments_listed(organization: Organization, *, status: str = "") -> QuerySet[Experiment]:
    """The organization's experiments, newest first, with their variants (one more query per
    page), optionally of one status."""
    variants = Prefetch("variants", queryset=ExperimentVariant.objects.order_by("position"))
    rows = selectors.experiments(organization).prefetch_related(variants)
    return rows.filter(status=status) if status else rows


def status_counts(organization: Organization) -> dict[str, int]:
    """{status: experiments} for every status (zeros included), and "" for all of them."""
    found = dict(
        Experiment.objects.for_org(organization)
        .order_by()
        .values("status")
        .annotate(count=Count("id"))
        .values_list("status", "count")
    )
    counts = {status: found.get(status, 0) for status in ExperimentStatus.values}
    return {"": sum(counts.values()), **counts}


def observed_counts(
    organization: Organization, experiments: list[Experiment], *, as_of: dt.datetime
) -> dict[int, list[tuple[str, int]]]:
    """{experiment id: [(variant key, observations)]} for the list's progress bars.

    A running experiment is measured now (one measurement per running experiment on the
    page); a stopped or decided one shows the numbers it closed with, kept in its last
    stopped or decided event (one query for the page). A draft has none.
    """
    counts: dict[int, list[tuple[str, int]]] = {}
    for experiment in experiments:
        if experiment.status == ExperimentStatus.RUNNING:
            counts[experiment.pk] = [(m.key, m.n) for m in selectors.measures(experiment, as_of=as_of)]
    closed = [e.pk for e in experiments if e.status in (ExperimentStatus.STOPPED, ExperimentStatus.DECIDED)]
    if closed:
        events = (
            ExperimentEvent.objects.for_org(organization)
            .filter(experiment_id__in=closed, action__in=CLOSING_ACTIONS)
            .order_by("experiment_id", "at", "id")
            .values_list("experiment_id", "payload")
        )
        # ordered by time: the last event of each experiment is the one kept
        for experiment_id, payload in events:
            counts[experiment_id] = [(row["key"], row["n"]) for row in payload.get("variants", [])]
    return counts


# --- a new experiment -------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignChoice:
    external_id: str
    name: str
    variants: int


@dataclass(frozen=True)
class ProductChoice:
    external_id: str
    name: str
    list_price: object
    currency: str


def campaign_choices(organization: Organization) -> list[CampaignChoice]:
    """The campaigns to choose from, most recent first, with how many message variants each
    has sent (a template test needs two)."""
    rows = (
        Campaign.objects.for_org(organization)
        .annotate(variant_count=Count("messages__variant", distinct=True, filter=~Q(messages__variant="")))
        .order_by("-started_at", "-id")
        .values_list("external_id", "name", "variant_count")[:SUBJECT_CHOICES_LIMIT]
    )
    return [CampaignChoice(*row) for row in rows]


def product_choices(organization: Organization) -> list[ProductChoice]:
    rows = (
        Product.objects.for_org(organization)
        .filter(active=True)
        .order_by("name", "external_id")
        .values_list("external_id", "name", "list_price", "currency")[:SUBJECT_CHOICES_LIMIT]
    )
    return [
        ProductChoice(ext, name, price, currency or organization.currency)
        for ext, name, price, currency in rows
    ]


@dataclass(frozen=True)
class Subject:
    """What a new experiment tests: a campaign's message variants or a product's prices.

    `variant_keys` are the campaign's message variants (sorted; empty for a product);
    `baselines` what the service would plan from when no baseline is given, per metric the
    kind can measure, for the default control (the first key, or any quote of the product).
    """

    kind: str
    campaign: Campaign | None = None
    product: Product | None = None
    variant_keys: tuple[str, ...] = ()
    baselines: dict[str, Baseline] = field(default_factory=dict)

    @property
    def external_id(self) -> str:
        return self.campaign.external_id if self.campaign else self.product.external_id

    @property
    def name(self) -> str:
        return self.campaign.name if self.campaign else self.product.name

    @property
    def metrics(self) -> tuple[str, ...]:
        return KIND_METRICS[self.kind]


def _one(model: type[Campaign] | type[Product], organization: Organization, external_id: str):
    found = model.objects.for_org(organization).filter(external_id=external_id).first()
    if found is None:
        elsewhere = held_elsewhere(model, organization, external_id=external_id)
        raise (OtherOrganizationsObject if elsewhere else Http404)(f"No {model._meta.verbose_name}.")
    return found


def subject_get(
    organization: Organization, *, campaign_id: str = "", product_id: str = "", as_of: dt.datetime
) -> Subject | None:
    """The campaign or product a query string names (None when it names neither); one the
    organization does not hold is a 404."""
    if campaign_id:
        campaign = _one(Campaign, organization, campaign_id)
        keys = tuple(sorted(selectors.campaign_variant_keys(organization, campaign)))
        baselines = {}
        if keys:
            baselines = {
                metric: selectors.campaign_baseline(
                    organization, campaign, metric=metric, control_key=keys[0], as_of=as_of
                )
                for metric in KIND_METRICS[ExperimentKind.CAMPAIGN]
            }
        return Subject(ExperimentKind.CAMPAIGN, campaign=campaign, variant_keys=keys, baselines=baselines)
    if product_id:
        product = _one(Product, organization, product_id)
        baselines = {
            metric: selectors.pricing_baseline(organization, product, metric=metric, as_of=as_of)
            for metric in KIND_METRICS[ExperimentKind.PRICING]
        }
        return Subject(ExperimentKind.PRICING, product=product, baselines=baselines)
    return None


# --- one experiment ------------------------------------------------------------------------------


def history(experiment: Experiment) -> QuerySet[ExperimentEvent]:
    """The decision history, oldest first, with each actor (one query)."""
    return selectors.experiment_events(experiment).select_related("actor")


# --- pricing suggestions -----------------------------------------------------------------------


def with_price_test(suggestions: QuerySet) -> QuerySet:
    """Pricing suggestions annotated with `price_test_id`: their latest price test (None
    without one), read in the suggestions' own query."""
    latest = (
        Experiment.objects.filter(
            organization_id=OuterRef("organization_id"), pricing_suggestion_id=OuterRef("pk")
        )
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    return suggestions.annotate(price_test_id=Subquery(latest))
