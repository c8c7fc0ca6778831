"""WebSocket routes; each app's consumers are added here."""

from django.urls import path

from insights.consumers import LiveMetricsConsumer

websocket_urlpatterns: list = [path("ws/bi-dashboard", LiveMetricsConsumer.as_asgi())]
