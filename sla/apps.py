from django.apps import AppConfig


class SlaConfig(AppConfig):
    """SLA policies, business calendars, clocks and escalation (issue #6)."""

    name = "sla"
    verbose_name = "SLA"
