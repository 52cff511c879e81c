"""Assignment endpoints on a ticket: assign, transfer, route on demand, and the history."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.principals import caller_actor
from routing.api.serializers import (
    AssignmentListSerializer,
    AssignmentSerializer,
    AssignSerializer,
    RouteSerializer,
    RoutingAnswerSerializer,
)
from routing.selectors import assignments_for_ticket
from routing.services import RouteResult, ticket_assign_manual, ticket_route
from tickets.selectors import ticket_get_for_organization

HISTORY_LIMIT = 200


def _answer(result: RouteResult, before_id) -> dict:
    ticket = result.ticket
    latest = assignments_for_ticket(ticket=ticket).first()
    created = latest if latest is not None and latest.pk != before_id else None

    def ref(obj):
        return {"id": obj.pk, "name": str(obj)} if obj is not None else None

    return RoutingAnswerSerializer(
        {
            "ticket_id": ticket.pk,
            "outcome": result.outcome,
            "assignee": ref(ticket.assignee),
            "team": ref(ticket.team),
            "explanation": result.explanation,
            "assignment": created,
        }
    ).data


class _TicketAssignmentView(APIView):
    def _ticket(self, ticket_id):
        return ticket_get_for_organization(
            organization_id=self.request.user.organization_id, ticket_id=ticket_id
        )

    def _latest_id(self, ticket):
        return assignments_for_ticket(ticket=ticket).values_list("id", flat=True).first()


class TicketAssignView(_TicketAssignmentView):
    transfer = False

    @extend_schema(
        summary="Assign the ticket to an agent (of a team) or to a team's queue",
        description="The agent must be an active agent of the organization, a member of "
        "`team_id` when given, with free capacity (409 otherwise); a manager may assign "
        "over capacity with `override_capacity: true` and a `reason`. A ticket sent to a "
        "team alone is routed at once by the team's strategy.",
        request=AssignSerializer,
        responses=RoutingAnswerSerializer,
    )
    def post(self, request, ticket_id):
        ticket = self._ticket(ticket_id)  # a foreign ticket is 404 whatever the body
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        before = self._latest_id(ticket)
        actor, label = caller_actor(request.user)
        result = ticket_assign_manual(
            ticket=ticket,
            actor=actor,
            actor_label=label,
            caller_is_manager=request.user.is_manager,
            transfer=self.transfer,
            **body.validated_data,
        )
        return Response(_answer(result, before))


class TicketTransferView(TicketAssignView):
    transfer = True

    @extend_schema(
        summary="Transfer the ticket to another agent or team",
        description="Like assign, recorded as a transfer: the ticket must be with someone "
        "(or some team's queue) and must move.",
        request=AssignSerializer,
        responses=RoutingAnswerSerializer,
    )
    def post(self, request, ticket_id):
        return super().post(request, ticket_id)


class TicketRouteView(_TicketAssignmentView):
    @extend_schema(
        summary="Route the ticket now by its team's strategy, and say why",
        description="Uses the ticket's team (or the organization's default team). "
        "When nobody can take it now, when the team routes manually or there is no team, "
        "`outcome` is `queued` and `explanation.why` says why; with a strategy it also "
        "lists every candidate and why each was skipped.",
        request=RouteSerializer,
        responses=RoutingAnswerSerializer,
    )
    def post(self, request, ticket_id):
        ticket = self._ticket(ticket_id)
        RouteSerializer(data=request.data or {}).is_valid(raise_exception=True)
        before = self._latest_id(ticket)
        actor, label = caller_actor(request.user)
        result = ticket_route(ticket=ticket, actor=actor, trigger="on_demand")
        return Response(_answer(result, before))


class TicketAssignmentsView(_TicketAssignmentView):
    @extend_schema(
        summary="The ticket's assignment history, newest first",
        description=f"From, to, by whom, kind (manual, auto, transfer, escalation, "
        f"rebalance), reason, routing's explanation and when; the newest {HISTORY_LIMIT}.",
        responses=AssignmentListSerializer,
    )
    def get(self, request, ticket_id):
        ticket = self._ticket(ticket_id)
        rows = assignments_for_ticket(ticket=ticket)
        page = list(rows[:HISTORY_LIMIT])
        count = len(page) if len(page) < HISTORY_LIMIT else rows.count()
        return Response({"assignments": AssignmentSerializer(page, many=True).data, "count": count})
