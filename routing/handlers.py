"""Event handlers and signal receivers of the routing app (connected in RoutingConfig.ready).

Handlers are idempotent: a ticket that already has an agent is left alone."""

from tickets import lifecycle
from tickets.models import Ticket, TicketEvent

ORDER_ROUTING = 40  # after the SLA clocks, the score and escalation have followed the change


def _route_if_unassigned(event: TicketEvent, trigger: str) -> None:
    from routing.services import ticket_route

    ticket = Ticket.objects.filter(pk=event.ticket_id).only("assignee", "status").first()
    if ticket is None or ticket.status not in lifecycle.ACTIVE_STATUSES:
        return
    if ticket.assignee_id is not None:
        assignee = ticket.assignee
        if trigger == "creation" or (assignee.is_active and assignee.availability == "available"):
            return  # a reopened ticket stays with an agent who is there
    ticket_route(ticket=ticket, trigger=trigger)


def on_ticket_created(event: TicketEvent) -> None:
    _route_if_unassigned(event, "creation")


def on_status_changed(event: TicketEvent) -> None:
    reopened = (
        event.payload.get("from") in lifecycle.DONE_STATUSES
        and event.payload.get("to") in lifecycle.ACTIVE_STATUSES
    )
    if reopened:
        _route_if_unassigned(event, "reopen")


def on_availability_changed(sender, *, agent, previous, current, actor, **kwargs) -> None:
    from routing.services import agent_availability_changed

    agent_availability_changed(agent=agent, previous=previous, current=current, actor=actor)
