"""The managers' pricing page and its HTMX endpoint (docs/pricing.md)."""

from django.urls import path

from pricing import views

urlpatterns = [
    path("pricing", views.pricing_page, name="pricing-page"),
    path("pricing/generate", views.pricing_generate, name="pricing-generate"),
]
