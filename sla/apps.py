from django.apps import AppConfig


class SlaConfig(AppConfig):
    """SLA policies, business calendars, clocks, the breach scan and escalation."""

    name = "sla"
    verbose_name = "SLA"

    def ready(self):
        from sla.handlers import on_customer_changed, on_sla_transition, on_ticket_changed
        from tickets.event_kinds import CUSTOMER_UPDATED, SLA_KINDS, TICKET_CHANGE_KINDS
        from tickets.events import ORDER_ESCALATION, ORDER_SLA_CLOCKS, register

        for kind in TICKET_CHANGE_KINDS:
            register(kind, on_ticket_changed, name="sla.clocks", order=ORDER_SLA_CLOCKS)
        for kind in SLA_KINDS:
            register(kind, on_sla_transition, name="sla.escalation", order=ORDER_ESCALATION)
        register(
            CUSTOMER_UPDATED.name,
            on_customer_changed,
            name="sla.customer_rematch",
            order=ORDER_SLA_CLOCKS,
        )

        from sla.api.enrich import sla_detail_enrich, sla_list_enrich
        from tickets.api.extensions import detail_enricher_register, list_enricher_register

        detail_enricher_register(sla_detail_enrich)
        list_enricher_register(sla_list_enrich)
