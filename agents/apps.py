from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agent analytics"

    def ready(self) -> None:
        from agents.services import agent_metrics_mark_stale
        from crm.events import on_ingested

        on_ingested(agent_metrics_mark_stale)
