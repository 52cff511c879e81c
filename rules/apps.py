from django.apps import AppConfig


class RulesConfig(AppConfig):
    """The smart score, prioritization rules, automation rules and macros."""

    name = "rules"
    verbose_name = "Rules & prioritization"

    def ready(self):
        from rules.handlers import on_customer_changed, on_ticket_changed
        from tickets.event_kinds import CUSTOMER_UPDATED, SLA_KINDS, TICKET_CHANGE_KINDS
        from tickets.events import ORDER_AUTOMATIONS, ORDER_SCORE, register

        # Every kind of ticket change can move the score (priority, status, a new message,
        # an SLA transition): after the SLA clocks have followed it.
        for kind in (*TICKET_CHANGE_KINDS, *SLA_KINDS):
            register(kind, on_ticket_changed, name="rules.rescore", order=ORDER_SCORE)
        register(
            CUSTOMER_UPDATED.name,
            on_customer_changed,
            name="rules.customer_rescore",
            order=ORDER_SCORE,
        )

        # Automations run after the SLA clocks, the score and routing have followed the
        # event, so their conditions see the ticket as those left it.
        from rules.automation.engine import EVENT_KINDS, rules_run_for_event

        for kind in EVENT_KINDS:
            register(kind, rules_run_for_event, name="rules.automations", order=ORDER_AUTOMATIONS)

        from rules.services import tickets_rescore_live
        from tickets.api.extensions import rescorer_register

        rescorer_register(tickets_rescore_live)
