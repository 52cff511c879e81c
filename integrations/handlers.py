"""Outbox handlers of the integrations app."""

from integrations.services import webhook_deliveries_feed
from tickets.models import TicketEvent


def on_webhook_event(event: TicketEvent) -> None:
    """Queue the event to the subscribed webhook endpoints (idempotent: one delivery per
    event and endpoint)."""
    webhook_deliveries_feed(event=event)
