from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Manager analytics"

    def ready(self) -> None:
        from core.stats.families import family_register
        from insights import catalogue
        from insights.statistics import FAMILY, PERFORMANCE_FAMILY

        family_register(FAMILY)
        family_register(PERFORMANCE_FAMILY)
        catalogue.register()
