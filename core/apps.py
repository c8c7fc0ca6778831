from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Kernel"

    def ready(self) -> None:
        from core.stats.refresh import statistics_mark_stale
        from crm.events import on_ingested

        # One listener for every family: each marks the days the ingested entity can change.
        on_ingested(statistics_mark_stale)
