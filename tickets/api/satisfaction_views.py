"""The customer's satisfaction rating of a ticket (CSAT): read it, record or replace it.

Any authenticated caller of the organization may post: an agent entering what the
customer said, or an API key relaying the customer's rating from a survey."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.principals import caller_actor
from tickets.api import representations as rep
from tickets.api import serializers as s
from tickets.selectors import satisfaction_history, ticket_get_for_organization
from tickets.services import satisfaction_record

TICKET_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


def _answer(ticket, satisfaction) -> dict:
    return {
        "ticket_id": ticket.pk,
        "satisfaction": rep.satisfaction_item(satisfaction),
        "history": [rep.satisfaction_item(v) for v in satisfaction_history(ticket=ticket)],
    }


class TicketSatisfactionView(APIView):
    @extend_schema(
        summary="The customer's satisfaction rating of the ticket (null until rated)",
        parameters=[TICKET_ID],
        responses=s.SatisfactionAnswerSerializer,
    )
    def get(self, request, pk):
        ticket = ticket_get_for_organization(
            organization_id=request.user.organization_id, ticket_id=pk
        )
        return Response(_answer(ticket, getattr(ticket, "satisfaction", None)))

    @extend_schema(
        summary="Record the customer's rating (1-5) of a resolved or closed ticket",
        description="One rating per ticket: a later one replaces it (201 the first time, "
        "200 on a replacement); every version is kept in `history`. A ticket that is not "
        "resolved or closed answers 400.",
        parameters=[TICKET_ID],
        request=s.SatisfactionCreateSerializer,
        responses={200: s.SatisfactionAnswerSerializer, 201: s.SatisfactionAnswerSerializer},
    )
    def post(self, request, pk):
        ticket = ticket_get_for_organization(
            organization_id=request.user.organization_id, ticket_id=pk
        )
        body = s.SatisfactionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        replaced = getattr(ticket, "satisfaction", None) is not None
        actor, label = caller_actor(request.user)
        satisfaction = satisfaction_record(
            ticket=ticket, actor=actor, actor_label=label, **body.validated_data
        )
        return Response(
            _answer(ticket, satisfaction),
            status=status.HTTP_200_OK if replaced else status.HTTP_201_CREATED,
        )
