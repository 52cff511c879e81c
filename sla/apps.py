from django.apps import AppConfig

TICKET_KINDS = (
    "ticket.created",
    "ticket.updated",
    "ticket.status_changed",
    "ticket.assigned",
    "ticket.escalated",
    "message.created",
)


class SlaConfig(AppConfig):
    """SLA policies, business calendars, clocks, the breach scan and escalation."""

    name = "sla"
    verbose_name = "SLA"

    def ready(self):
        from sla.handlers import on_customer_changed, on_sla_transition, on_ticket_changed
        from tickets.events import customer_listener_register, register

        for kind in TICKET_KINDS:
            register(kind, on_ticket_changed)
        register("sla.at_risk", on_sla_transition)
        register("sla.breached", on_sla_transition)
        customer_listener_register(on_customer_changed)

        from sla.api.enrich import sla_detail_enrich, sla_list_enrich
        from tickets.api.extensions import detail_enricher_register, list_enricher_register

        detail_enricher_register(sla_detail_enrich)
        list_enricher_register(sla_list_enrich)
