from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Team & agents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from agents import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from agents.credential_invalidation import credential_invalidation_connect

        credential_invalidation_connect()
