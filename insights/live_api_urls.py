"""/api/v1/bi/ws-ticket (DESIGN section 9.7)."""

from django.urls import path

from insights import live_api

urlpatterns = [path("ws-ticket", live_api.TicketView.as_view(), name="live-api-ticket")]
