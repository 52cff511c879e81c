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
    was_done = event.payload.get("from") in lifecycle.DONE_STATUSES
    now_done = event.payload.get("to") in lifecycle.DONE_STATUSES
    if was_done and not now_done:
        _route_if_unassigned(event, "reopen")
    elif now_done and not was_done:
        _capacity_freed(event)


def _capacity_freed(event: TicketEvent) -> None:
    """A ticket was resolved or closed: its agent has a free slot, so their teams'
    queues may move now rather than at the next periodic drain."""
    from routing.services import queues_drain

    ticket = Ticket.objects.filter(pk=event.ticket_id).only("assignee").first()
    if ticket is None or ticket.assignee_id is None:
        return
    team_ids = list(ticket.assignee.teams.values_list("pk", flat=True))
    if team_ids:
        queues_drain(organization_id=event.organization_id, team_ids=team_ids)


def on_availability_changed(sender, *, agent, previous, current, actor, **kwargs) -> None:
    from routing.services import agent_availability_changed

    agent_availability_changed(agent=agent, previous=previous, current=current, actor=actor)
