from django.urls import path

from insights import api, tabs
from insights.api.tabs import tab_view

urlpatterns = [
    path("overview", api.OverviewView.as_view(), name="insights-api-overview"),
    *(
        path(f"tabs/{name}", tab_view(name).as_view(), name=f"insights-api-tab-{name}")
        for name in tabs.DATA_TABS
    ),
]
