"""/api/v1/bi/experiments (DESIGN section 9.4), exactly the contract's paths (no trailing slash)."""

from django.urls import path

from insights.experiments import api

urlpatterns = [
    path("experiments", api.ExperimentsView.as_view(), name="experiments-api-list"),
    path(
        "experiments/from-suggestion",
        api.FromSuggestionView.as_view(),
        name="experiments-api-from-suggestion",
    ),
    path("experiments/<int:experiment_id>", api.DetailView.as_view(), name="experiments-api-detail"),
    path("experiments/<int:experiment_id>/start", api.StartView.as_view(), name="experiments-api-start"),
    path("experiments/<int:experiment_id>/stop", api.StopView.as_view(), name="experiments-api-stop"),
    path("experiments/<int:experiment_id>/decide", api.DecideView.as_view(), name="experiments-api-decide"),
    path(
        "experiments/<int:experiment_id>/results", api.ResultsView.as_view(), name="experiments-api-results"
    ),
    path(
        "experiments/<int:experiment_id>/assignment",
        api.AssignmentView.as_view(),
        name="experiments-api-assignment",
    ),
]
