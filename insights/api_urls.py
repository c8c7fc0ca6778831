from django.urls import path

from insights import api

urlpatterns = [
    path("overview", api.OverviewView.as_view(), name="insights-api-overview"),
]
