"""The experiment pages (docs/experiments.md, "Pages"); the JSON API is api_urls.py."""

from django.urls import path

from insights.experiments import views

urlpatterns = [
    path("experiments", views.experiments_list, name="experiments-list"),
    path("experiments/new", views.experiment_new, name="experiments-new"),
    path(
        "experiments/from-suggestion/<int:suggestion_id>",
        views.experiment_from_suggestion,
        name="experiments-from-suggestion",
    ),
    path("experiments/<int:experiment_id>", views.experiment_detail, name="experiments-detail"),
    path("experiments/<int:experiment_id>/results", views.experiment_results, name="experiments-results"),
    path("experiments/<int:experiment_id>/start", views.experiment_start, name="experiments-start"),
    path("experiments/<int:experiment_id>/stop", views.experiment_stop, name="experiments-stop"),
    path("experiments/<int:experiment_id>/decide", views.experiment_decide, name="experiments-decide"),
]
