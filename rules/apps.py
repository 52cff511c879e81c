from django.apps import AppConfig


class RulesConfig(AppConfig):
    """The smart score and prioritization rules (and later automations)."""

    name = "rules"
    verbose_name = "Rules & prioritization"

    def ready(self):
        from rules.handlers import on_customer_changed, on_ticket_changed
        from tickets.events import customer_listener_register, register

        # Every kind of ticket change can move the score (priority, status, a new message).
        for kind in (
            "ticket.created",
            "ticket.updated",
            "ticket.status_changed",
            "ticket.assigned",
            "ticket.escalated",
            "message.created",
            "sla.at_risk",
            "sla.breached",
        ):
            register(kind, on_ticket_changed)
        customer_listener_register(on_customer_changed)

        from rules.services import tickets_rescore_live
        from tickets.api.extensions import rescorer_register

        rescorer_register(tickets_rescore_live)
