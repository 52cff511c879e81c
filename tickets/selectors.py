"""Read queries for tickets, messages, customers and events, scoped to an organization."""

import uuid

from django.db.models import Count, QuerySet

from agents.exceptions import DomainError, NotFound
from tickets.models import Customer, Message, Ticket, TicketEvent


def uuid_parse(value, *, field: str, what: str) -> uuid.UUID:
    """A UUID from client input, or a 400 that says what was wrong."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise DomainError(f"{value!s:.60} is not a valid {what} id.", field=field) from None


def ticket_list_for_organization(*, organization_id) -> QuerySet[Ticket]:
    return (
        Ticket.objects.filter(organization_id=organization_id)
        .select_related("customer")
        .prefetch_related("tags")
    )


def ticket_get_for_organization(*, organization_id, ticket_id, for_update=False) -> Ticket:
    pk = uuid_parse(ticket_id, field="ticket_id", what="ticket")
    ticket = (
        Ticket.objects.select_related("customer", "assignee", "team")
        .filter(organization_id=organization_id, pk=pk)
        .first()
    )
    if ticket is None:
        raise NotFound(f"Ticket {pk} not found.")
    return ticket


def ticket_messages(*, ticket: Ticket, internal: bool | None = None) -> QuerySet[Message]:
    messages = Message.objects.filter(ticket=ticket).order_by("created_at", "id")
    if internal is not None:
        messages = messages.filter(is_internal=internal)
    return messages


def ticket_events(*, ticket: Ticket) -> QuerySet[TicketEvent]:
    return TicketEvent.objects.filter(ticket=ticket).order_by("-created_at", "-id")


def customer_list_for_organization(*, organization_id) -> QuerySet[Customer]:
    return (
        Customer.objects.filter(organization_id=organization_id)
        .annotate(tickets_count=Count("tickets"))
        .order_by("name", "external_id")
    )


def customer_get_for_organization(*, organization_id, customer_id: str) -> Customer:
    customer = (
        Customer.objects.filter(organization_id=organization_id, external_id=customer_id)
        .annotate(tickets_count=Count("tickets"))
        .first()
    )
    if customer is None:
        raise NotFound(f"Customer {customer_id!s:.60} not found.")
    return customer
