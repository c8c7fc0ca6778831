from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Manager analytics"

    def ready(self) -> None:
        from crm.events import on_ingested
        from insights.services import insights_rollups_mark_stale

        on_ingested(insights_rollups_mark_stale)
