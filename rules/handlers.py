"""Event handlers of the rules app (registered in RulesConfig.ready)."""

from rules.services import ticket_score_refresh
from tickets.models import TicketEvent


def on_ticket_changed(event: TicketEvent) -> None:
    # Idempotent: recomputing a score from the ticket's current state twice is harmless.
    ticket_score_refresh(ticket_id=event.ticket_id)
