from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """Performance metrics, the analytics API and the manager dashboard (read-only)."""

    name = "analytics"
    verbose_name = "Analytics"
