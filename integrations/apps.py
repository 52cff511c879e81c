from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Gorgias, Zendesk, email/SMS/chat connectors and webhooks."""

    name = "integrations"
    verbose_name = "Integrations"

    def ready(self):
        from integrations import tasks  # noqa: F401 (registers the Celery tasks)
        from integrations.handlers import on_webhook_event
        from integrations.webhooks import AUTOMATION_KIND, EVENT_TYPES
        from tickets.events import register

        # Last (after clocks, score, escalation, automations): a receiver reading the
        # ticket back sees what those handlers did with the same event.
        for kind in (*EVENT_TYPES, AUTOMATION_KIND):
            register(kind, on_webhook_event, name="integrations.webhooks", order=200)

        from integrations.providers.push import pushes_feed

        # Agent replies and status changes on Zendesk / Gorgias tickets go back there.
        for kind in ("message.created", "ticket.status_changed"):
            register(kind, pushes_feed, name="integrations.provider_push", order=210)
