from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agent analytics"

    def ready(self) -> None:
        from agents import catalogue
        from agents.statistics import FAMILY
        from core.stats.families import family_register

        family_register(FAMILY)
        catalogue.register()
