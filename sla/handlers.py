"""Event handlers of the SLA app (registered in SlaConfig.ready)."""

from sla.clocks import sla_reconcile, sla_rematch
from sla.escalation import escalate_for_event
from tickets.models import Ticket, TicketEvent


def on_ticket_changed(event: TicketEvent) -> None:
    # Clocks follow the ticket's state as of this event; idempotent.
    sla_reconcile(ticket_id=event.ticket_id, at=event.created_at)


def on_sla_transition(event: TicketEvent) -> None:
    escalate_for_event(event)


def on_customer_changed(event: TicketEvent) -> None:
    # A tier change may change which policy applies to the customer's open tickets.
    if "tier" in event.payload.get("fields", ()):
        sla_rematch(Ticket.objects.filter(customer_id=event.customer_id))
