"""`POST /api/v1/bi/ws-ticket`: a one-use ticket for the live-metrics socket (docs/live.md)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from core.api import ApiView, error_responses, inline_serializer, output
from crm.permissions import IsAgent
from insights import tickets

TICKET = inline_serializer(
    "LiveTicket",
    {
        "ticket": serializers.CharField(help_text="pass as ?ticket= to WS /ws/bi-dashboard; one use"),
        "expiresAt": serializers.DateTimeField(help_text="60 seconds from now"),
        "url": serializers.CharField(help_text="the socket's path with the ticket"),
    },
)


class TicketView(ApiView):
    permission_classes = [IsAgent]

    @extend_schema(
        summary="A one-use ticket (valid 60 s) for the live-metrics WebSocket",
        request=None,
        responses={201: TICKET, **error_responses(401, 403)},
        tags=["live metrics"],
    )
    def post(self, request):
        token, expires = tickets.ticket_issue(request.user, now=timezone.now())
        return output(
            type(TICKET),
            {
                "ticket": token,
                "expiresAt": expires.astimezone(dt.UTC).isoformat(),
                "url": f"/ws/bi-dashboard?ticket={token}",
            },
            status_code=201,
        )
