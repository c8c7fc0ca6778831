"""The experiments API under /api/v1/bi/experiments (DESIGN section 9.4; docs/experiments.md).

Thin adapters: bind the body or query through the operation's Input serializer, call one
service or selector, answer through its Output serializer (the one definition of the shape).
Managers and admins run experiments; every member may ask which price a contact sees.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers

from core.api import (
    ApiView,
    NumberField,
    StrictCharField,
    error_responses,
    inline_serializer,
    output,
    query_input,
    utc_text,
)
from core.errors import ApplicationError
from core.pagination import newest_first_page
from crm.permissions import IsAgent, IsManager
from insights.experiments import readout, selectors, services
from insights.experiments.assignment import assign
from insights.experiments.models import (
    Experiment,
    ExperimentKind,
    ExperimentMethod,
    ExperimentMetric,
    ExperimentScope,
    ExperimentStatus,
)

TAGS = ["experiments"]
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_VARIANTS = 10
EXPERIMENT_ID = OpenApiParameter("experiment_id", int, OpenApiParameter.PATH)


def _member(member) -> dict | None:
    return None if member is None else {"id": member.pk, "name": member.display_name}


def experiment_out(e: Experiment) -> dict[str, Any]:
    return {
        "id": e.pk,
        "name": e.name,
        "hypothesis": e.hypothesis,
        "kind": e.kind,
        "campaign": None if e.campaign is None else {"id": e.campaign.external_id, "name": e.campaign.name},
        "product": None if e.product is None else {"id": e.product.external_id, "name": e.product.name},
        "scope": e.scope,
        "metric": e.metric,
        "method": e.method,
        "alpha": e.alpha,
        "power": e.power,
        "baselineRate": e.baseline_rate,
        "baselineSd": e.baseline_sd,
        "minimumDetectableEffect": e.minimum_detectable_effect,
        "requiredSampleSize": e.required_sample_size,
        "status": e.status,
        "decision": e.decision or None,
        "winner": e.winner_key or None,
        "decisionReason": e.decision_reason,
        "suggestionId": e.pricing_suggestion_id,
        "createdBy": _member(e.created_by),
        "createdAt": utc_text(e.created_at),
        "startedAt": utc_text(e.started_at),
        "stoppedAt": utc_text(e.stopped_at),
        "decidedAt": utc_text(e.decided_at),
        "variants": [
            {
                "key": v.key,
                "weight": v.weight,
                "price": None if v.price is None else float(v.price),
                "control": v.position == 0,
            }
            for v in e.variants.all()
        ],
    }


def detail_out(e: Experiment) -> dict[str, Any]:
    return {
        **experiment_out(e),
        "events": [
            {"action": ev.action, "actor": ev.actor_label, "at": utc_text(ev.at), "payload": ev.payload}
            for ev in selectors.experiment_events(e)
        ],
    }


# --- the answers' shapes ------------------------------------------------------------------

_reference = {
    "id": serializers.CharField(help_text="the record's external_id"),
    "name": serializers.CharField(),
}
EXPERIMENT_FIELDS = {
    "id": serializers.IntegerField(),
    "name": serializers.CharField(),
    "hypothesis": serializers.CharField(allow_blank=True),
    "kind": serializers.CharField(help_text="campaign or pricing"),
    "campaign": inline_serializer("ExperimentCampaign", _reference, allow_null=True),
    "product": inline_serializer("ExperimentProduct", _reference, allow_null=True),
    "scope": serializers.CharField(
        help_text="campaign experiments: since_start (messages sent since the start) or whole_campaign"
    ),
    "metric": serializers.CharField(
        help_text="reply_rate, read_rate, conversion_rate or revenue_per_contact"
    ),
    "method": serializers.CharField(help_text="frequentist, bayesian or sequential"),
    "alpha": serializers.FloatField(),
    "power": serializers.FloatField(),
    "baselineRate": serializers.FloatField(
        allow_null=True, help_text="the control's rate planned from (revenue: money per contact)"
    ),
    "baselineSd": serializers.FloatField(
        allow_null=True, help_text="revenue_per_contact: the standard deviation planned from"
    ),
    "minimumDetectableEffect": serializers.FloatField(help_text="absolute; negative: a drop"),
    "requiredSampleSize": serializers.IntegerField(help_text="observations each variant needs"),
    "status": serializers.CharField(help_text="draft, running, stopped or decided"),
    "decision": serializers.CharField(allow_null=True, help_text="stop: winner or stop: no difference"),
    "winner": serializers.CharField(allow_null=True, help_text="the winning variant's key"),
    "decisionReason": serializers.CharField(allow_blank=True),
    "suggestionId": serializers.IntegerField(allow_null=True, help_text="the pricing suggestion it tests"),
    "createdBy": inline_serializer(
        "ExperimentMember",
        {"id": serializers.IntegerField(), "name": serializers.CharField()},
        allow_null=True,
    ),
    "createdAt": serializers.DateTimeField(),
    "startedAt": serializers.DateTimeField(allow_null=True),
    "stoppedAt": serializers.DateTimeField(allow_null=True),
    "decidedAt": serializers.DateTimeField(allow_null=True),
    "variants": inline_serializer(
        "ExperimentVariant",
        {
            "key": serializers.CharField(),
            "weight": serializers.FloatField(),
            "price": serializers.FloatField(allow_null=True),
            "control": serializers.BooleanField(help_text="the first variant is the control"),
        },
        many=True,
    ),
}
EXPERIMENT = inline_serializer("Experiment", EXPERIMENT_FIELDS)
DETAIL = inline_serializer(
    "ExperimentDetail",
    {
        **EXPERIMENT_FIELDS,
        "events": inline_serializer(
            "ExperimentEvent",
            {
                "action": serializers.CharField(help_text="created, started, stopped, decided or looked"),
                "actor": serializers.CharField(),
                "at": serializers.DateTimeField(),
                "payload": serializers.DictField(
                    help_text="the numbers of that moment: the plan (created), the results (stopped, "
                    "decided, looked)"
                ),
            },
            many=True,
        ),
    },
)
PAGE = inline_serializer(
    "ExperimentPage",
    {
        "results": inline_serializer("ExperimentRow", EXPERIMENT_FIELDS, many=True),
        "nextCursor": serializers.CharField(allow_null=True, help_text="pass as ?cursor= for the next page"),
        "limit": serializers.IntegerField(),
    },
)
_number = {"allow_null": True}
RESULTS = inline_serializer(
    "ExperimentResults",
    {
        "id": serializers.IntegerField(),
        "status": serializers.CharField(),
        "kind": serializers.CharField(),
        "metric": serializers.CharField(),
        "method": serializers.CharField(),
        "alpha": serializers.FloatField(),
        "asOf": serializers.DateTimeField(),
        "window": inline_serializer(
            "ExperimentWindow",
            {
                "start": serializers.DateTimeField(
                    allow_null=True, help_text="null: the campaign's first message"
                ),
                "end": serializers.DateTimeField(help_text="the stop, or now"),
            },
            allow_null=True,
            help_text="the sends or quotes measured, [start, end); null before the start",
        ),
        "requiredSampleSize": serializers.IntegerField(),
        "variants": inline_serializer(
            "ExperimentVariantResult",
            {
                "key": serializers.CharField(),
                "weight": serializers.FloatField(),
                "price": serializers.FloatField(allow_null=True),
                "n": serializers.IntegerField(
                    help_text="delivered messages, messaged contacts, decided quotes or quoted subjects"
                ),
                "conversions": serializers.IntegerField(
                    help_text="replied, read, converted or won (revenue: the units with revenue)"
                ),
                "rate": NumberField(**_number, help_text="conversions / n (revenue: money per unit)"),
                "ciLow": NumberField(**_number, help_text="Wilson (rates) or Student t (revenue), 1 - alpha"),
                "ciHigh": NumberField(**_number),
                "revenue": NumberField(**_number, help_text="revenue_per_contact: the variant's revenue"),
                "offAssignment": serializers.IntegerField(
                    allow_null=True,
                    help_text="pricing: decided quotes at another price than the assigned one (counted)",
                ),
            },
            many=True,
        ),
        "test": inline_serializer(
            "ExperimentTest",
            {
                "name": serializers.CharField(
                    help_text="two-proportion z, Pearson chi-square, Welch t or Welch F"
                ),
                "statistic": NumberField(),
                "df": NumberField(**_number),
                "dfDenominator": NumberField(**_number, help_text="Welch F only"),
                "pValue": NumberField(),
            },
            allow_null=True,
            help_text="null while there is no variation to test",
        ),
        "comparisons": inline_serializer(
            "ExperimentComparison",
            {
                "key": serializers.CharField(),
                "controlKey": serializers.CharField(),
                "difference": NumberField(**_number, help_text="variant - control"),
                "ciLow": NumberField(**_number, help_text="Newcombe (rates) or Welch (revenue)"),
                "ciHigh": NumberField(**_number),
                "statistic": NumberField(**_number),
                "pValue": NumberField(**_number),
                "pValueAdjusted": NumberField(**_number, help_text="Holm-adjusted over the comparisons"),
                "sequential": inline_serializer(
                    "ExperimentSequentialLook",
                    {
                        "informationFraction": NumberField(),
                        "boundary": NumberField(**_number, help_text="the |z| to reach now"),
                        "pValue": NumberField(),
                        "pValueAdjusted": NumberField(),
                    },
                    allow_null=True,
                    help_text="the sequential method only",
                ),
            },
            many=True,
        ),
        "bayesian": inline_serializer(
            "ExperimentBayesian",
            {
                "key": serializers.CharField(),
                "probabilityBest": NumberField(),
                "expectedLoss": NumberField(help_text="the rate given up by choosing this variant"),
            },
            many=True,
            allow_null=True,
            help_text="Beta(1, 1) priors; null for revenue_per_contact",
        ),
        "srm": inline_serializer(
            "ExperimentSampleRatio",
            {"pValue": NumberField(), "mismatch": serializers.BooleanField(help_text="p < 0.001")},
            allow_null=True,
            help_text="the observed split against the weights; null before any observation",
        ),
        "decision": serializers.CharField(help_text="keep running, stop: winner or stop: no difference"),
        "winner": serializers.CharField(allow_null=True),
        "reason": serializers.CharField(),
    },
)
ASSIGNMENT = inline_serializer(
    "ExperimentAssignment",
    {
        "experimentId": serializers.IntegerField(),
        "status": serializers.CharField(),
        "active": serializers.BooleanField(help_text="running: quote this price; otherwise the list price"),
        "subject": serializers.CharField(help_text="contact:<external_id> or lead:<external_id>"),
        "variant": serializers.CharField(),
        "price": serializers.FloatField(),
    },
)
ERRORS = error_responses(
    400,
    401,
    403,
    404,
    descriptions={
        400: "Bad input; error.details names the field.",
        404: "No such experiment (or campaign, product, suggestion, contact) in your organization.",
    },
)
WRITE_ERRORS = {**ERRORS, **error_responses(415)}
TRANSITION_ERRORS = {
    **WRITE_ERRORS,
    **error_responses(409, descriptions={409: "The experiment's status does not allow this."}),
}


def _now():
    return timezone.now()


# Wrapped in allOf, the enum stays inline: drf-spectacular names every top-level enum of a
# component after its property, and the sales' "kind" (new, recurring, ...) already holds
# that name, so a second "kind" enum would be a naming collision (a schema warning).
@extend_schema_field(
    {"allOf": [{"type": "string", "enum": ExperimentKind.values}], "description": "campaign or pricing"}
)
class KindField(serializers.ChoiceField):
    """campaign or pricing."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ExperimentKind.values, **kwargs)


class VariantInputSerializer(serializers.Serializer):
    key = StrictCharField(max_length=50, help_text="campaign: a `variant` value of the campaign's messages")
    weight = serializers.FloatField(min_value=0, max_value=1, help_text="share of subjects; weights sum to 1")
    price = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="pricing: the price quoted",
    )


class ExperimentsView(ApiView):
    permission_classes = [IsManager]

    class CreateInputSerializer(serializers.Serializer):
        name = StrictCharField(max_length=services.NAME_MAX_LENGTH)
        hypothesis = StrictCharField(required=False, allow_blank=True, max_length=5000)
        kind = KindField()
        campaignId = StrictCharField(required=False, max_length=100, help_text="campaign: its external_id")
        productId = StrictCharField(required=False, max_length=100, help_text="pricing: its external_id")
        variants = VariantInputSerializer(
            many=True, min_length=2, max_length=MAX_VARIANTS, help_text="the first is the control"
        )
        metric = serializers.ChoiceField(ExperimentMetric.values)
        alpha = serializers.FloatField(default=0.05, min_value=0, max_value=1, help_text="in (0, 1)")
        power = serializers.FloatField(default=0.8, min_value=0, max_value=1, help_text="in (0, 1)")
        baselineRate = serializers.FloatField(
            required=False, allow_null=True, help_text="default: the control's rate so far"
        )
        baselineSd = serializers.FloatField(
            required=False,
            allow_null=True,
            min_value=0,
            help_text="revenue_per_contact: default the control's standard deviation so far",
        )
        minimumDetectableEffect = serializers.FloatField(
            help_text="absolute: a rate difference (0.02 = two points) or money per contact; "
            "negative plans for a drop"
        )
        method = serializers.ChoiceField(ExperimentMethod.values, default=ExperimentMethod.SEQUENTIAL)
        scope = serializers.ChoiceField(
            ExperimentScope.values,
            default=ExperimentScope.SINCE_START,
            help_text="campaign: since_start or whole_campaign (every message of the campaign)",
        )

    class ListInputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(ExperimentStatus.values, required=False)
        kind = KindField(required=False)
        cursor = serializers.CharField(max_length=200, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)

    @extend_schema(
        summary="Experiments, newest first, in pages",
        operation_id="experiments_list",
        parameters=[ListInputSerializer],
        responses={200: PAGE, **ERRORS},
        tags=TAGS,
    )
    def get(self, request):
        params = query_input(self.ListInputSerializer, request)
        rows = selectors.experiments(request.user.organization).prefetch_related("variants")
        if params.get("status"):
            rows = rows.filter(status=params["status"])
        if params.get("kind"):
            rows = rows.filter(kind=params["kind"])
        page, next_cursor = newest_first_page(rows, cursor=params.get("cursor"), limit=params["limit"])
        return output(
            type(PAGE),
            {
                "results": [experiment_out(e) for e in page],
                "nextCursor": next_cursor,
                "limit": params["limit"],
            },
        )

    @extend_schema(
        summary="Create a draft experiment on a campaign's message variants or a product's prices",
        operation_id="experiments_create",
        request=CreateInputSerializer,
        responses={201: EXPERIMENT, **WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request):
        body = self.CreateInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        experiment = services.experiment_create(
            organization=request.user.organization,
            actor=request.user,
            name=data["name"],
            hypothesis=data.get("hypothesis", ""),
            kind=data["kind"],
            campaign_id=data.get("campaignId"),
            product_id=data.get("productId"),
            variants=[services.VariantSpec(v["key"], v["weight"], v.get("price")) for v in data["variants"]],
            metric=data["metric"],
            alpha=data["alpha"],
            power=data["power"],
            baseline_rate=data.get("baselineRate"),
            baseline_sd=data.get("baselineSd"),
            minimum_detectable_effect=data["minimumDetectableEffect"],
            method=data["method"],
            scope=data["scope"],
            now=_now(),
        )
        return output(type(EXPERIMENT), experiment_out(experiment), status_code=201)


class FromSuggestionView(ApiView):
    permission_classes = [IsManager]

    class FromSuggestionInputSerializer(serializers.Serializer):
        suggestionId = serializers.IntegerField(min_value=1)
        name = StrictCharField(required=False, max_length=services.NAME_MAX_LENGTH)
        method = serializers.ChoiceField(ExperimentMethod.values, default=ExperimentMethod.SEQUENTIAL)
        alpha = serializers.FloatField(default=0.05, min_value=0, max_value=1)
        power = serializers.FloatField(default=0.8, min_value=0, max_value=1)
        minimumDetectableEffect = serializers.FloatField(
            required=False, help_text="default: the change in win probability the suggestion predicts"
        )

    @extend_schema(
        summary="Create a draft price test of a pricing suggestion (current price against suggested, 50/50)",
        request=FromSuggestionInputSerializer,
        responses={
            201: EXPERIMENT,
            **WRITE_ERRORS,
            **error_responses(
                409, descriptions={409: "The suggestion is no longer testable, or already has an open test."}
            ),
        },
        tags=TAGS,
    )
    def post(self, request):
        body = self.FromSuggestionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        experiment = services.experiment_create_from_suggestion(
            organization=request.user.organization,
            actor=request.user,
            suggestion_id=data["suggestionId"],
            name=data.get("name"),
            method=data["method"],
            alpha=data["alpha"],
            power=data["power"],
            minimum_detectable_effect=data.get("minimumDetectableEffect"),
            now=_now(),
        )
        return output(type(EXPERIMENT), experiment_out(experiment), status_code=201)


class DetailView(ApiView):
    permission_classes = [IsManager]

    @extend_schema(
        summary="One experiment with its variants and decision history",
        operation_id="experiment_retrieve",
        parameters=[EXPERIMENT_ID],
        responses={200: DETAIL, **ERRORS},
        tags=TAGS,
    )
    def get(self, request, experiment_id: int):
        experiment = selectors.experiment_get(request.user.organization, experiment_id)
        return output(type(DETAIL), detail_out(experiment))


class TransitionInputSerializer(serializers.Serializer):
    # The body is optional and read like any other (a malformed one is a 400, another content
    # type a 415), so a transition behaves as every write does.
    note = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=services.NOTE_MAX_LENGTH,
        help_text="why, for the history",
    )


class _TransitionView(ApiView):
    permission_classes = [IsManager]
    service = None

    def post(self, request, experiment_id: int):
        body = TransitionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        experiment = type(self).service(
            organization=request.user.organization,
            actor=request.user,
            experiment_id=experiment_id,
            note=body.validated_data.get("note", ""),
            now=_now(),
        )
        return output(type(DETAIL), detail_out(experiment))


class StartView(_TransitionView):
    service = staticmethod(services.experiment_start)

    @extend_schema(
        summary="Start a draft experiment: from now on its messages or quotes count",
        operation_id="experiment_start",
        request=TransitionInputSerializer,
        parameters=[EXPERIMENT_ID],
        responses={200: DETAIL, **TRANSITION_ERRORS},
        tags=TAGS,
    )
    def post(self, request, experiment_id: int):
        return super().post(request, experiment_id)


class StopView(_TransitionView):
    service = staticmethod(services.experiment_stop)

    @extend_schema(
        summary="Stop a running experiment: nothing after now counts, and its results are kept",
        operation_id="experiment_stop",
        request=TransitionInputSerializer,
        parameters=[EXPERIMENT_ID],
        responses={200: DETAIL, **TRANSITION_ERRORS},
        tags=TAGS,
    )
    def post(self, request, experiment_id: int):
        return super().post(request, experiment_id)


class DecideView(_TransitionView):
    service = staticmethod(services.experiment_decide)

    @extend_schema(
        summary="Record the decision the statistics reach now (a winner or no difference)",
        operation_id="experiment_decide",
        request=TransitionInputSerializer,
        parameters=[EXPERIMENT_ID],
        responses={
            200: DETAIL,
            **WRITE_ERRORS,
            **error_responses(
                409,
                descriptions={
                    409: "The experiment is not running or stopped, or the statistics say keep running "
                    "(error.details.reason says why)."
                },
            ),
        },
        tags=TAGS,
    )
    def post(self, request, experiment_id: int):
        return super().post(request, experiment_id)


class ResultsView(ApiView):
    permission_classes = [IsManager]

    @extend_schema(
        summary="The results now: per variant rate and interval, the test, comparisons with the control, "
        "Bayesian, sample-ratio check and the decision",
        operation_id="experiment_results",
        parameters=[EXPERIMENT_ID],
        responses={200: RESULTS, **ERRORS},
        tags=TAGS,
    )
    def get(self, request, experiment_id: int):
        experiment = selectors.experiment_get(request.user.organization, experiment_id)
        reading = services.experiment_look(experiment=experiment, actor=request.user, now=_now())
        return output(type(RESULTS), readout.results_payload(reading))


class AssignmentView(ApiView):
    permission_classes = [IsAgent]

    class AssignmentInputSerializer(serializers.Serializer):
        contact = serializers.CharField(max_length=100, required=False, help_text="a contact's external_id")
        lead = serializers.CharField(
            max_length=100, required=False, help_text="a lead's external_id, for a quote without a contact"
        )

    @extend_schema(
        summary="Which variant, and so which price, a contact (or a lead without one) sees in a price test",
        operation_id="experiment_assignment",
        parameters=[EXPERIMENT_ID, AssignmentInputSerializer],
        responses={
            200: ASSIGNMENT,
            **ERRORS,
            **error_responses(409, descriptions={409: "Not a pricing experiment: it assigns no prices."}),
        },
        tags=TAGS,
    )
    def get(self, request, experiment_id: int):
        params = query_input(self.AssignmentInputSerializer, request)
        experiment = selectors.experiment_get(request.user.organization, experiment_id)
        subject = selectors.assignment_subject(
            request.user.organization, contact_id=params.get("contact"), lead_id=params.get("lead")
        )
        if experiment.kind != ExperimentKind.PRICING:
            raise ApplicationError(
                "A campaign experiment assigns no prices: its messages carry their variant.",
                status=409,
                code="conflict",
            )
        key = assign(experiment.pk, subject, selectors.variant_weights(experiment))
        price = next(v.price for v in experiment.variants.all() if v.key == key)
        return output(
            type(ASSIGNMENT),
            {
                "experimentId": experiment.pk,
                "status": experiment.status,
                "active": experiment.status == ExperimentStatus.RUNNING,
                "subject": subject,
                "variant": key,
                "price": float(price),
            },
        )
