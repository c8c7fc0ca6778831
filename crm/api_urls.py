from django.urls import path

from crm import api_ingest

app_name = "crm-api"

urlpatterns = [
    path("ingest/<str:entity>/", api_ingest.IngestView.as_view(), name="ingest"),
    path("webhooks/messages/", api_ingest.MessageWebhookView.as_view(), name="webhook-messages"),
]
