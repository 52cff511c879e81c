"""Event handlers of the rules app (registered in RulesConfig.ready)."""

from rules.services import rescore_enqueue, ticket_score_refresh
from tickets.models import TicketEvent


def on_ticket_changed(event: TicketEvent) -> None:
    # Idempotent: recomputing a score from the ticket's current state twice is harmless.
    ticket_score_refresh(ticket_id=event.ticket_id)


def on_customer_changed(*, customer_id, fields: list[str]) -> None:
    # Tier (and later intelligence) feeds the score: rescore their open tickets.
    if "tier" in fields or "intelligence" in fields:
        rescore_enqueue(customer_id=customer_id)
