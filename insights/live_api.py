"""`POST /api/v1/bi/ws-ticket`: a one-use ticket for the live-metrics socket (docs/live.md)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from core.api import ApiView, StrictCharField, error_responses, inline_serializer, output, utc_text
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

    class TicketInputSerializer(serializers.Serializer):
        # The body is optional and read like any other (a malformed one is a 400, another
        # content type a 415), so the endpoint behaves as every write does.
        clientId = StrictCharField(
            required=False, max_length=100, help_text="your name for the socket, echoed in logs"
        )

    @extend_schema(
        summary="A one-use ticket (valid 60 s) for the live-metrics WebSocket",
        request=TicketInputSerializer,
        responses={201: TICKET, **error_responses(400, 401, 403, 415)},
        tags=["live metrics"],
    )
    def post(self, request):
        body = self.TicketInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, expires = tickets.ticket_issue(request.user, now=timezone.now())
        return output(
            type(TICKET),
            {
                "ticket": token,
                "expiresAt": utc_text(expires),
                "url": f"/ws/bi-dashboard?ticket={token}",
            },
            status_code=201,
        )
