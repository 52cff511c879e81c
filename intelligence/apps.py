from django.apps import AppConfig


class IntelligenceConfig(AppConfig):
    """The Quimbi client, kept customer intelligence and the endpoints built on it."""

    name = "intelligence"
    verbose_name = "Customer intelligence"

    def ready(self):
        from intelligence.api.enrich import intelligence_detail_enrich
        from intelligence.selectors import recommendation_columns
        from tickets.api.extensions import (
            detail_annotations_register,
            detail_enricher_register,
            detail_related_register,
            list_related_register,
        )

        detail_enricher_register(intelligence_detail_enrich)
        list_related_register("customer__intelligence")
        detail_related_register("customer__intelligence")
        detail_annotations_register(recommendation_columns)
