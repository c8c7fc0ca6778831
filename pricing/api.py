"""The pricing API under /api/v1/bi/ (DESIGN section 9.5; docs/pricing.md).

Thin adapters: bind the body or query through the Input serializer, call one service or
read, answer through the Output serializer (the one definition of the shape).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from core.api import ApiView, error_responses, inline_serializer, output, query_input, utc_text
from core.pagination import newest_first_page
from crm.permissions import IsManager, IsOrgAdmin
from pricing import selectors, services
from pricing.models import PricingSuggestion, SuggestionStatus

TAGS = ["pricing"]
MAX_PRODUCTS = 500
DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def _member(member) -> dict | None:
    return None if member is None else {"id": member.pk, "name": member.display_name}


def _money(value) -> float | None:
    return None if value is None else float(value)


def suggestion_out(s: PricingSuggestion) -> dict[str, Any]:
    return {
        "id": s.pk,
        "product": s.product.external_id,
        "productName": s.product.name,
        "tier": s.tier,
        "currency": s.currency,
        "currentPrice": float(s.current_price),
        "suggestedPrice": float(s.suggested_price),
        "changePct": float(s.change_pct),
        "elasticity": {
            "estimate": s.elasticity,
            "low": s.elasticity_low,
            "high": s.elasticity_high,
            "n": s.elasticity_n,
            "method": s.elasticity_method,
        },
        "expectedRevenueChangePct": {
            "estimate": s.revenue_change_pct,
            "low": s.revenue_change_low,
            "high": s.revenue_change_high,
        },
        "churnRisk": {
            "probability": s.churn_probability,
            "customersAffected": s.churn_customers,
            "low": s.analysis.get("churn", {}).get("low"),
            "high": s.analysis.get("churn", {}).get("high"),
            "basis": s.analysis.get("churn", {}).get("basis", ""),
        },
        "competitorPosition": {
            "median": _money(s.competitor_median),
            "percentile": s.competitor_percentile,
            "n": s.analysis.get("competitor", {}).get("n", 0),
        },
        "confidence": s.confidence,
        "rationale": s.rationale,
        "status": s.status,
        "requestedBy": _member(s.requested_by),
        "createdAt": utc_text(s.created_at),
        "expiresAt": utc_text(s.expires_at),
        "decidedBy": _member(s.decided_by),
        "decidedAt": utc_text(s.decided_at),
        "decisionNotes": s.decision_notes,
        "effectiveAt": utc_text(s.effective_at),
        "appliedAt": utc_text(s.applied_at),
        "previousPrice": _money(s.previous_price),
        "rolledBackBy": _member(s.rolled_back_by),
        "rolledBackAt": utc_text(s.rolled_back_at),
    }


def detail_out(s: PricingSuggestion) -> dict[str, Any]:
    trail = selectors.audit_trail(s)
    return {
        **suggestion_out(s),
        "analysis": s.analysis,
        "audit": [
            {
                "action": entry.action.removeprefix("pricing."),
                "actor": entry.actor_label,
                "at": utc_text(entry.at),
                "notes": (entry.after or {}).get("notes", ""),
            }
            for entry in trail
        ],
    }


# --- the answers' shapes ------------------------------------------------------------------

_interval = {
    "estimate": serializers.FloatField(),
    "low": serializers.FloatField(),
    "high": serializers.FloatField(),
}
MEMBER = inline_serializer(
    "PricingMember", {"id": serializers.IntegerField(), "name": serializers.CharField()}, allow_null=True
)
# Answers document the status as text (other components name choice sets "status" too); the
# list's query parameter keeps the enum.
STATUS = serializers.CharField(help_text="proposed, approved, applied, rolled_back, rejected or expired")
SUGGESTION_FIELDS = {
    "id": serializers.IntegerField(),
    "product": serializers.CharField(help_text="the product's external_id"),
    "productName": serializers.CharField(),
    "tier": serializers.CharField(),
    "currency": serializers.CharField(),
    "currentPrice": serializers.FloatField(help_text="the list price the analysis started from"),
    "suggestedPrice": serializers.FloatField(),
    "changePct": serializers.FloatField(help_text="(suggested - current) / current x 100, one decimal"),
    "elasticity": inline_serializer(
        "PricingElasticity",
        {
            **_interval,
            "n": serializers.IntegerField(help_text="decided quotes behind the fit"),
            "method": serializers.CharField(),
        },
        help_text="price elasticity of demand at the current price, with its 90% interval",
    ),
    "expectedRevenueChangePct": inline_serializer(
        "PricingRevenueChange", _interval, help_text="expected revenue over 90 days, % change, 90% interval"
    ),
    "churnRisk": inline_serializer(
        "PricingChurnRisk",
        {
            "probability": serializers.FloatField(help_text="0-1"),
            "customersAffected": serializers.IntegerField(),
            "low": serializers.FloatField(allow_null=True),
            "high": serializers.FloatField(allow_null=True),
            "basis": serializers.CharField(help_text="price_changes, baseline_only or none"),
        },
    ),
    "competitorPosition": inline_serializer(
        "PricingCompetitorPosition",
        {
            "median": serializers.FloatField(allow_null=True),
            "percentile": serializers.FloatField(
                allow_null=True, help_text="0-100: where the current price sits among competitors"
            ),
            "n": serializers.IntegerField(help_text="competitors observed"),
        },
    ),
    "confidence": serializers.FloatField(help_text="0-1"),
    "rationale": serializers.CharField(),
    "status": STATUS,
    "requestedBy": MEMBER,
    "createdAt": serializers.DateTimeField(),
    "expiresAt": serializers.DateTimeField(help_text="a proposed suggestion expires then"),
    "decidedBy": MEMBER,
    "decidedAt": serializers.DateTimeField(allow_null=True),
    "decisionNotes": serializers.CharField(allow_blank=True),
    "effectiveAt": serializers.DateTimeField(allow_null=True, help_text="approval + 30 days"),
    "appliedAt": serializers.DateTimeField(allow_null=True),
    "previousPrice": serializers.FloatField(allow_null=True, help_text="the price a rollback restores"),
    "rolledBackBy": MEMBER,
    "rolledBackAt": serializers.DateTimeField(allow_null=True),
}
SUGGESTION = inline_serializer("PricingSuggestion", SUGGESTION_FIELDS)
SKIPPED = inline_serializer(
    "PricingSkipped",
    {
        "product": serializers.CharField(),
        "name": serializers.CharField(),
        "code": serializers.CharField(
            help_text="too_few_quotes, one_outcome, no_price_variation, no_fit, no_change or change_pending"
        ),
        "reason": serializers.CharField(),
    },
    many=True,
)
GENERATED = inline_serializer(
    "PricingGenerated",
    {
        "runId": serializers.IntegerField(),
        "generatedAt": serializers.DateTimeField(),
        "suggestions": inline_serializer("PricingSuggestionItem", SUGGESTION_FIELDS, many=True),
        "skipped": SKIPPED,
    },
)
DETAIL = inline_serializer(
    "PricingSuggestionDetail",
    {
        **SUGGESTION_FIELDS,
        "analysis": serializers.DictField(help_text="curve, win probabilities, demand, churn, constraints"),
        "audit": inline_serializer(
            "PricingAuditEntry",
            {
                "action": serializers.CharField(),
                "actor": serializers.CharField(),
                "at": serializers.DateTimeField(),
                "notes": serializers.CharField(allow_blank=True),
            },
            many=True,
        ),
    },
)
PAGE = inline_serializer(
    "PricingSuggestionPage",
    {
        "results": inline_serializer("PricingSuggestionRow", SUGGESTION_FIELDS, many=True),
        "nextCursor": serializers.CharField(allow_null=True, help_text="pass as ?cursor= for the next page"),
        "limit": serializers.IntegerField(),
    },
)
ERRORS = error_responses(
    400,
    401,
    403,
    404,
    descriptions={
        400: "Bad input; error.details names the field.",
        403: "Your role does not allow this (code permission_denied), or you requested the suggestion (code four_eyes).",
        404: "No such suggestion in your organization.",
    },
)
WRITE_ERRORS = {**ERRORS, **error_responses(415)}


def _now() -> dt.datetime:
    return timezone.now()


class GenerateView(ApiView):
    permission_classes = [IsManager]

    class GenerateInputSerializer(serializers.Serializer):
        productIds = serializers.ListField(
            child=serializers.CharField(max_length=100),
            required=False,
            allow_empty=False,
            max_length=MAX_PRODUCTS,
            help_text="products' external ids; default all active products",
        )

    @extend_schema(
        summary="Analyse products and propose prices (each product: a suggestion or a reason it was skipped)",
        request=GenerateInputSerializer,
        responses={200: GENERATED, **WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request):
        body = self.GenerateInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = body.validated_data.get("productIds")
        generated = services.suggestions_generate(
            organization=request.user.organization,
            requested_by=request.user,
            product_ids=None if ids is None else list(dict.fromkeys(ids)),
            now=_now(),
        )
        suggestions = list(
            selectors.suggestions(request.user.organization).filter(
                pk__in=[s.pk for s in generated.suggestions]
            )
        )
        return output(
            type(GENERATED),
            {
                "runId": generated.run.pk,
                "generatedAt": utc_text(generated.run.at),
                "suggestions": [suggestion_out(s) for s in suggestions],
                "skipped": generated.skipped,
            },
        )


class DecideView(ApiView):
    permission_classes = [IsOrgAdmin]

    class DecideInputSerializer(serializers.Serializer):
        suggestionId = serializers.IntegerField(min_value=1)
        decision = serializers.ChoiceField(["approve", "reject"])
        notes = serializers.CharField(max_length=services.NOTES_MAX_LENGTH, help_text="required: why")

    @extend_schema(
        summary="Approve (effective in 30 days, customers notified) or reject a proposed suggestion",
        request=DecideInputSerializer,
        responses={
            200: SUGGESTION,
            **WRITE_ERRORS,
            **error_responses(409, descriptions={409: "The suggestion is no longer proposed."}),
        },
        tags=TAGS,
    )
    def post(self, request):
        body = self.DecideInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        suggestion = services.suggestion_decide(
            organization=request.user.organization,
            actor=request.user,
            suggestion_id=data["suggestionId"],
            decision=data["decision"],
            notes=data["notes"],
            now=_now(),
        )
        return output(
            type(SUGGESTION),
            suggestion_out(services.suggestion_get(request.user.organization, suggestion.pk)),
        )


class RollbackView(ApiView):
    permission_classes = [IsOrgAdmin]

    class RollbackInputSerializer(serializers.Serializer):
        notes = serializers.CharField(max_length=services.NOTES_MAX_LENGTH, help_text="required: why")

    @extend_schema(
        summary="Restore the price an applied suggestion replaced",
        request=RollbackInputSerializer,
        parameters=[OpenApiParameter("suggestion_id", int, OpenApiParameter.PATH)],
        responses={
            200: SUGGESTION,
            **WRITE_ERRORS,
            **error_responses(409, descriptions={409: "The suggestion is not applied."}),
        },
        tags=TAGS,
    )
    def post(self, request, suggestion_id: int):
        body = self.RollbackInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        suggestion = services.suggestion_rollback(
            organization=request.user.organization,
            actor=request.user,
            suggestion_id=suggestion_id,
            notes=body.validated_data["notes"],
            now=_now(),
        )
        return output(
            type(SUGGESTION),
            suggestion_out(services.suggestion_get(request.user.organization, suggestion.pk)),
        )


class ListView(ApiView):
    permission_classes = [IsManager]

    class ListInputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(SuggestionStatus.values, required=False)
        product = serializers.CharField(max_length=100, required=False, help_text="a product's external id")
        cursor = serializers.CharField(max_length=200, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)

    @extend_schema(
        summary="Pricing suggestions, newest first, in pages",
        operation_id="pricing_suggestions_list",
        parameters=[ListInputSerializer],
        responses={200: PAGE, **ERRORS},
        tags=TAGS,
    )
    def get(self, request):
        params = query_input(self.ListInputSerializer, request)
        rows = selectors.suggestions(request.user.organization)
        if params.get("status"):
            rows = rows.filter(status=params["status"])
        if params.get("product"):
            rows = rows.filter(product__external_id=params["product"])
        page, next_cursor = newest_first_page(rows, cursor=params.get("cursor"), limit=params["limit"])
        return output(
            type(PAGE),
            {
                "results": [suggestion_out(s) for s in page],
                "nextCursor": next_cursor,
                "limit": params["limit"],
            },
        )


class DetailView(ApiView):
    permission_classes = [IsManager]

    @extend_schema(
        summary="One suggestion with its analysis and audit trail",
        operation_id="pricing_suggestion_retrieve",
        parameters=[OpenApiParameter("suggestion_id", int, OpenApiParameter.PATH)],
        responses={200: DETAIL, **ERRORS},
        tags=TAGS,
    )
    def get(self, request, suggestion_id: int):
        return output(
            type(DETAIL), detail_out(services.suggestion_get(request.user.organization, suggestion_id))
        )
