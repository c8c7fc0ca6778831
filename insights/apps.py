from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Manager analytics"

    def ready(self) -> None:
        from core.stats.families import family_register
        from crm.events import on_ingested
        from insights import catalogue
        from insights.live import live_ingested
        from insights.statistics import FAMILY, PERFORMANCE_FAMILY

        # Live sockets hear of every committed change of their organization's data.
        on_ingested(live_ingested)
        family_register(FAMILY)
        family_register(PERFORMANCE_FAMILY)
        catalogue.register()
