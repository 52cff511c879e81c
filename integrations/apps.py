from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Gorgias, Zendesk, email/SMS/chat connectors and webhooks."""

    name = "integrations"
    verbose_name = "Integrations"
