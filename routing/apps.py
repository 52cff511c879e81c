from django.apps import AppConfig


class RoutingConfig(AppConfig):
    """Teams' routing settings, assignment, auto-routing and rebalancing."""

    name = "routing"
    verbose_name = "Routing & assignment"

    def ready(self):
        from agents.signals import agent_availability_changed
        from routing.handlers import (
            ORDER_ROUTING,
            on_availability_changed,
            on_status_changed,
            on_ticket_created,
        )
        from tickets.event_kinds import TICKET_CREATED, TICKET_STATUS_CHANGED
        from tickets.events import register

        register(
            TICKET_CREATED.name, on_ticket_created, name="routing.route_new", order=ORDER_ROUTING
        )
        register(
            TICKET_STATUS_CHANGED.name,
            on_status_changed,
            name="routing.route_reopened",
            order=ORDER_ROUTING,
        )
        agent_availability_changed.connect(
            on_availability_changed, dispatch_uid="routing.availability"
        )
