from django.apps import AppConfig


class IntelligenceConfig(AppConfig):
    """The Quimbi client and cached customer intelligence (issue #8)."""

    name = "intelligence"
    verbose_name = "Customer intelligence"
