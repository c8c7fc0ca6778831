"""The OpenAPI schema builds without warnings and documents every API path."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in (
        "/api/auth/token/",
        "/api/v1/ingest/{entity}/",
        "/api/v1/webhooks/messages/",
        "/agent/analytics/kpis",
        "/agent/analytics/funnel",
        "/agent/analytics/lead-sources",
        "/agent/analytics/revenue-trends",
        "/agent/analytics/activities",
        "/agent/goals",
        "/api/bi/dashboard",
        "/api/bi/insights",
        "/api/bi/insights/missed-opportunities",
        "/api/bi/insights/upsell-potential",
        "/api/bi/metrics",
        "/api/bi/insights/{insight_id}/resolve",
        "/api/bi/opportunities/{opportunity_id}/update-status",
    ):
        assert f"  {path}:" in text, path
