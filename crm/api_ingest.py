"""The REST and webhook doors of ingestion (docs/ingestion.md). Thin: check the request's
shape, call crm.ingestion, render the report.

POST /api/v1/ingest/<entity>/  a JSON list of records; an organization API key or an
                               admin's JWT. 200 all stored, 207 some rejected, 422 all
                               rejected (error shape, the report in details).
POST /api/v1/webhooks/messages/  one signed message (crm.ingestion.webhooks). 201 stored.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.authentication import JWTAuthentication

from core.api import ApiView, ErrorDetailSerializer, ErrorSerializer, error_responses, output
from core.errors import PayloadTooLarge, error_body
from core.parsers import JSONParser
from core.throttles import ScopedThrottle
from crm.auth import ApiKeyAuthentication
from crm.ingestion import ENTITIES, IngestResult, ingest_records
from crm.ingestion import cells as cell_kinds
from crm.ingestion.report import show
from crm.ingestion.schemas import SPECS, Column
from crm.ingestion.webhooks import (
    ORGANIZATION_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    message_webhook_receive,
)
from crm.permissions import CanIngest

JSON_MEDIA_TYPES = ("application/json",)


class InvalidBody(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The body must be a JSON list of records."


class UnknownEntity(exceptions.NotFound):
    def __init__(self, entity: str) -> None:
        super().__init__(f"Unknown entity {show(entity)}; use one of: {', '.join(ENTITIES)}.")


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How /api/schema/ describes crm.auth.ApiKeyAuthentication."""

    target_class = "crm.auth.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An organization API key: `Api-Key <key>`.",
        }


# --- the request's schema: the records are validated by crm.ingestion (row by row, into the
# report), which tests/api/test_schema_conformance.py checks against these --------------------


def _schema_field(column: Column) -> serializers.Field:
    kind = column.kind
    common: dict[str, Any] = {"required": column.required, "allow_null": not column.required}
    if isinstance(kind, cell_kinds.Timestamp):
        return serializers.DateTimeField(**common, help_text="ISO 8601; UTC when there is no offset.")
    if isinstance(kind, cell_kinds.Choice):
        return serializers.ChoiceField(choices=kind.choices, allow_blank=not column.required, **common)
    if isinstance(kind, cell_kinds.Integer):
        return serializers.IntegerField(min_value=kind.minimum, max_value=kind.maximum, **common)
    if isinstance(kind, cell_kinds.Money):
        return serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False, **common)
    if isinstance(kind, cell_kinds.Boolean):
        return serializers.BooleanField(**common)
    if isinstance(kind, cell_kinds.JsonObject):
        return serializers.DictField(**common)
    if isinstance(kind, cell_kinds.Tags):
        return serializers.ListField(
            child=serializers.CharField(max_length=cell_kinds.MAX_TAG_CHARS), **common
        )
    text: dict[str, Any] = {**common, "allow_blank": not column.required}
    if isinstance(kind, cell_kinds.Email):
        help_text = "A member's e-mail." if column.ref else ""
        return serializers.EmailField(**text, help_text=help_text)
    max_length = getattr(kind, "max_length", None)
    help_text = f"external_id of a record of {column.ref}." if column.ref else ""
    return serializers.CharField(max_length=max_length, **text, help_text=help_text)


def _record_serializer(entity: str) -> type[serializers.Serializer]:
    fields = {column.name: _schema_field(column) for column in SPECS[entity].columns}
    name = "".join(part.title() for part in entity.split("_"))
    return type(f"Ingest{name}Record", (serializers.Serializer,), fields)


RECORD_SERIALIZERS = {entity: _record_serializer(entity) for entity in ENTITIES}


class IngestRowErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="0-based position of the record in the list.")
    column = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class IngestReportSerializer(serializers.Serializer):
    entity = serializers.ChoiceField(choices=ENTITIES)
    received = serializers.IntegerField()
    stored = serializers.IntegerField()
    rejected = serializers.IntegerField()
    errors = IngestRowErrorSerializer(many=True, help_text="The first 1000 problems; the counts are exact.")
    warnings = serializers.ListField(child=serializers.CharField())


class IngestRejectedDetailSerializer(ErrorDetailSerializer):
    details = IngestReportSerializer(help_text="The report: why each record was rejected.")


class IngestRejectedSerializer(serializers.Serializer):
    """422: the error shape, with the report as its details."""

    error = IngestRejectedDetailSerializer()


def _report(result: IngestResult) -> dict[str, Any]:
    return {
        "entity": result.entity,
        "received": result.rows_total,
        "stored": result.rows_stored,
        "rejected": result.rows_rejected,
        "errors": [
            {"index": error.row, "column": error.column, "reason": error.reason} for error in result.errors
        ],
        "warnings": list(result.warnings),
    }


ERROR_RESPONSES = {
    **error_responses(
        400,
        401,
        403,
        404,
        413,
        415,
        descriptions={
            400: "The body is not a JSON list.",
            403: "Neither an organization API key nor an admin.",
            404: "Unknown entity.",
            413: "More records than CRM_INGEST_MAX_BATCH, or a body over the upload limit.",
        },
    ),
    422: IngestRejectedSerializer,
}


class IngestView(ApiView):
    authentication_classes = [JWTAuthentication, ApiKeyAuthentication]
    permission_classes = [CanIngest]
    parser_classes = [JSONParser]
    throttle_scope = "ingest"

    @extend_schema(
        operation_id="ingest_records",
        summary="Upsert a batch of records of one entity, keyed by external_id.",
        description=(
            "A JSON list of at most CRM_INGEST_MAX_BATCH (10,000) records. The organization is the "
            "caller's; fields naming another organization are ignored. 200: every record stored; 207: some "
            "rejected (see errors); 422: every record rejected (the report is in error.details)."
        ),
        tags=["ingestion"],
        parameters=[OpenApiParameter("entity", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(ENTITIES))],
        request=PolymorphicProxySerializer(
            component_name="IngestRecords",
            serializers=list(RECORD_SERIALIZERS.values()),
            resource_type_field_name=None,
            many=True,
        ),
        responses={200: IngestReportSerializer, 207: IngestReportSerializer, **ERROR_RESPONSES},
    )
    def post(self, request: Request, entity: str) -> Response:
        if entity not in ENTITIES:
            raise UnknownEntity(entity)
        records = request.data
        if not isinstance(records, list):
            raise InvalidBody()
        cap = settings.CRM_INGEST_MAX_BATCH
        if len(records) > cap:
            raise PayloadTooLarge(
                f"A batch holds at most {cap} records; this one has {len(records)}. Split it."
            )
        result = ingest_records(
            organization=request.user.organization,
            entity=entity,
            records=records,
            first_row=0,
            door="api",
            started_by=request.user,
        )
        report = _report(result)
        if result.rows_rejected and not result.rows_stored:
            return output(
                IngestRejectedSerializer,
                error_body("all_rejected", f"All {result.rows_rejected} records were rejected.", report),
                status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        return output(
            IngestReportSerializer,
            report,
            status_code=status.HTTP_207_MULTI_STATUS if result.rows_rejected else status.HTTP_200_OK,
        )


class MessageWebhookView(ApiView):
    # The HMAC signature is the authentication: no session, no JWT, no CSRF.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []
    # A CRM posts every chat message from one address: counted under `ingest` per address,
    # not under the lower `anon` limit for people browsing without signing in.
    throttle_classes = [ScopedThrottle]
    throttle_scope = "ingest"

    @extend_schema(
        operation_id="webhook_message",
        summary="Receive one chat message, signed with the organization's webhook secret.",
        description=(
            f"{SIGNATURE_HEADER} is 'sha256=' + hex HMAC-SHA256(webhook_secret, f'{{timestamp}}.' + raw body). "
            "Deliveries more than 300 seconds away from the server time, or whose message external_id was "
            "already received, are refused."
        ),
        tags=["ingestion"],
        parameters=[
            OpenApiParameter(ORGANIZATION_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(
                TIMESTAMP_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="Unix time in seconds.",
            ),
            OpenApiParameter(SIGNATURE_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
        ],
        request=RECORD_SERIALIZERS["messages"],
        responses={
            201: IngestReportSerializer,
            **error_responses(
                400,
                401,
                409,
                413,
                415,
                descriptions={
                    401: "Unknown organization, bad signature, or a timestamp outside the window.",
                    409: "This message was already received.",
                },
            ),
        },
    )
    def post(self, request: Request) -> Response:
        if request.content_type.split(";")[0].strip().lower() not in JSON_MEDIA_TYPES:
            return output(
                ErrorSerializer,
                error_body("unsupported_media_type", "Send the message as application/json."),
                status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        try:
            result = message_webhook_receive(
                organization_slug=request.headers.get(ORGANIZATION_HEADER),
                timestamp=request.headers.get(TIMESTAMP_HEADER),
                signature=request.headers.get(SIGNATURE_HEADER),
                body=request.body,
                now=timezone.now(),
            )
        except WebhookRejected as exc:
            return output(
                ErrorSerializer, error_body(exc.code, exc.message, exc.details), status_code=exc.status
            )
        return output(IngestReportSerializer, _report(result), status_code=status.HTTP_201_CREATED)
