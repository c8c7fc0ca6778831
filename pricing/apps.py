from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "pricing"
    verbose_name = "Pricing"

    def ready(self) -> None:
        from crm.events import on_ingested
        from pricing import catalogue
        from pricing.listeners import products_ingested

        catalogue.register()
        # A loaded list price that differs from the last recorded one is a price change.
        on_ingested(products_ingested)
