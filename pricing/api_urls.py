"""/api/v1/bi/: pricing (DESIGN section 9.5), exactly the contract's paths (no trailing slash)."""

from django.urls import path

from pricing import api

urlpatterns = [
    path("pricing-optimization", api.GenerateView.as_view(), name="pricing-api-generate"),
    path("approve-pricing", api.DecideView.as_view(), name="pricing-api-decide"),
    path("pricing-suggestions", api.ListView.as_view(), name="pricing-api-list"),
    path("pricing-suggestions/<int:suggestion_id>", api.DetailView.as_view(), name="pricing-api-detail"),
    path(
        "pricing-suggestions/<int:suggestion_id>/rollback",
        api.RollbackView.as_view(),
        name="pricing-api-rollback",
    ),
]
