"""Event handlers of the rules app (registered in RulesConfig.ready)."""

from rules.services import scores_refresh, ticket_score_refresh
from tickets.models import TicketEvent


def on_ticket_changed(event: TicketEvent) -> None:
    # Idempotent: recomputing a score from the ticket's current state twice is harmless.
    ticket_score_refresh(ticket_id=event.ticket_id)


def on_customer_changed(event: TicketEvent) -> None:
    # Tier and intelligence feed the score: rescore the customer's open tickets.
    if {"tier", "intelligence"} & set(event.payload.get("fields", ())):
        scores_refresh(customer_id=event.customer_id)
