"""The JSON API's conventions in code (docs/api.md).

- One view per operation, with its own Input serializer (the query string or the body) and
  Output serializer (the answer): `query_input` binds the query string, `output` answers a
  payload through the Output serializer, so the documented schema is the shape sent.
- One error shape, {"error": {"code", "message", "details"}} (core.errors): `ErrorSerializer`
  documents it and `error_responses` lists the error answers of an operation.
- An empty query value is the same as leaving the parameter out: `ApiSchema` documents that
  (allowEmptyValue) on every optional query parameter of the views that use it.

tests/api/test_schema_conformance.py (schemathesis) checks that the answers match.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import STATUS_CODES

ERROR_DESCRIPTIONS = {
    400: "Bad input: error.details names each field and what is wrong with it.",
    401: "Not authenticated: no credentials, or an expired or invalid token or key.",
    403: "Authenticated, but your role does not allow this.",
    404: "No such object in what you may see (another organization's objects answer the same).",
    406: "The Accept header allows no JSON (the API answers application/json only).",
    409: "The request conflicts with the current state.",
    413: "The body is too large.",
    415: "The body is not application/json.",
    422: "Every record was rejected.",
    429: "Too many requests: the caller's rate limit is reached; the Retry-After header says in "
    "how many seconds to retry.",
    503: "Temporarily unavailable (the database is unreachable); the Retry-After header says when to retry.",
}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=f"what went wrong, for programs: {', '.join(sorted(set(STATUS_CODES.values())))}, "
        "or a more precise code named by the operation"
    )
    message = serializers.CharField(help_text="what went wrong, for people")
    details = serializers.DictField(
        help_text="bad input: {field: [reasons]} (nested fields as `parent.child`); otherwise context, "
        "often empty"
    )


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (core.errors)."""

    error = ErrorDetailSerializer()


def inline_serializer(
    name: str, fields: Mapping[str, serializers.Field], **kwargs: Any
) -> serializers.Serializer:
    """A serializer (class `name`, a schema component) from a dict of fields, for the
    Output serializers of a nested payload, whose parts may be reused.

    drf-spectacular's own inline_serializer gives the dict it is passed to the class, and
    DRF's serializer metaclass pops the fields out of it: the second serializer built from
    the same dict had no fields. And a field instance declared under two names in one
    serializer is bound to the last name only, so one of the two keys went missing. Each
    field is copied here.
    """
    declared = {key: copy.deepcopy(field) for key, field in fields.items()}
    return type(name, (serializers.Serializer,), declared)(**kwargs)


def utc_text(moment: dt.datetime | None) -> str | None:
    """A moment as the API writes it: ISO 8601 in UTC (None stays None)."""
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField turns 12 into "12", which accepts a body the schema (a
    string) says is invalid; this field refuses anything but a JSON string."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.FloatField):
    """An answer's number as computed: a count stays 2 and an amount 2.5, where FloatField
    would write every number as a float (2.0)."""

    def to_representation(self, value: object) -> int | float:
        return value if isinstance(value, int | float) else float(value)


def error_responses(*codes: int, descriptions: Mapping[int, str] | None = None) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation, each in the error shape.

    406, 429 and 503 are always among them: DRF's content negotiation answers 406, before the
    view runs, to an Accept header that no renderer satisfies; every operation is rate limited
    (core.throttles) and answers 503 while the database is unreachable (core.errors).
    """
    descriptions = descriptions or {}
    always = {
        status.HTTP_406_NOT_ACCEPTABLE,
        status.HTTP_429_TOO_MANY_REQUESTS,
        status.HTTP_503_SERVICE_UNAVAILABLE,
    }
    return {
        code: OpenApiResponse(ErrorSerializer, description=descriptions.get(code, ERROR_DESCRIPTIONS[code]))
        for code in sorted({*codes, *always})
    }


def query_input(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The query string bound to an Input serializer: a 400 naming each bad parameter.

    DRF reads a QueryDict like an HTML form: an optional parameter sent empty is not given
    (its default applies), which ApiSchema documents.
    """
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def output(
    serializer_class: type[serializers.Serializer], payload: object, *, status_code: int = status.HTTP_200_OK
) -> Response:
    """Answer `payload` through the operation's Output serializer, the one definition of its shape."""
    return Response(serializer_class(payload).data, status=status_code)


class ApiSchema(AutoSchema):
    """drf-spectacular's schema, stating that an optional query parameter may be sent empty.

    An empty value means "not given" everywhere: DRF serializers and Django forms read a
    query string that way, and the dashboard pages, which share the parsing with the API,
    send empty filters for "all".
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        for parameter in (operation or {}).get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return operation


class ApiView(APIView):
    """The base of every JSON API view: the schema above, and one value per query parameter.

    A parameter sent twice (`?range=7d&range=1y`) is a 400 naming it, rather than one of its
    values being picked silently; `repeatable_parameters` lists those a view reads as lists.
    """

    schema = ApiSchema()
    repeatable_parameters: tuple[str, ...] = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        repeated = sorted(
            name
            for name, values in request.query_params.lists()
            if len(values) > 1 and name not in self.repeatable_parameters
        )
        if repeated:
            raise ValidationError({name: ["Give this parameter once."] for name in repeated})
