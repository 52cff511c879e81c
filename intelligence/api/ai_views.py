"""AI endpoints of the frontend (`/api/ai/tickets/...`) and their v1 names."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api.strict import RejectUnknownFieldsMixin
from agents.exceptions import NotFound
from intelligence.ai import (
    draft_data,
    draft_get,
    recommendation_action_complete,
    recommendation_data,
    recommendation_get,
)
from intelligence.client import QuimbiError, quimbi_configured
from intelligence.selectors import recommendation_exists, recommendation_get_for_ticket
from tickets.selectors import ticket_get_for_organization

TICKET_ID = OpenApiParameter("ticket_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
TONES = [
    "professional_friendly",
    "professional",
    "friendly",
    "formal",
    "empathetic",
    "apologetic",
    "casual",
    "concise",
]


class DraftSerializer(serializers.Serializer):
    ticket_id = serializers.UUIDField()
    draft = serializers.CharField()
    tone = serializers.CharField()
    length = serializers.CharField()
    personalization_applied = serializers.ListField(child=serializers.CharField())
    generated_at = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=["quimbi", "fallback"])


class RegenerateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    tone = serializers.ChoiceField(choices=TONES, required=False)
    length = serializers.ChoiceField(choices=["short", "medium", "long"], required=False)
    include_offer = serializers.BooleanField(required=False)
    template = serializers.CharField(required=False, allow_blank=True, max_length=200)
    # The frontend's type: indexes of recommended actions to mention (accepted, not used yet).
    include_actions = serializers.ListField(
        child=serializers.IntegerField(min_value=0), max_length=100, required=False
    )


class RecommendationSerializer(serializers.Serializer):
    priority = serializers.CharField()
    actions = serializers.ListField(child=serializers.DictField())
    talking_points = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())
    estimated_impact = serializers.DictField()


class CompleteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    completed = serializers.BooleanField(default=True)


def _ticket(request, ticket_id):
    return ticket_get_for_organization(
        organization_id=request.user.organization_id, ticket_id=ticket_id
    )


class DraftView(APIView):
    """GET: the ticket's draft reply (reused until the conversation changes). Always 200:
    when Quimbi is unavailable the draft is a fallback marked `source: fallback`.
    POST: regenerate (tone, length, …)."""

    @extend_schema(
        parameters=[TICKET_ID, OpenApiParameter("tone", str, enum=TONES)], responses=DraftSerializer
    )
    def get(self, request, ticket_id):
        tone = request.query_params.get("tone")
        draft = draft_get(ticket=_ticket(request, ticket_id), tone=tone if tone in TONES else None)
        return Response(draft_data(draft))

    @extend_schema(parameters=[TICKET_ID], request=RegenerateSerializer, responses=DraftSerializer)
    def post(self, request, ticket_id):
        ticket = _ticket(request, ticket_id)
        body = RegenerateSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        draft = draft_get(
            ticket=ticket,
            tone=body.validated_data.get("tone"),
            length=body.validated_data.get("length"),
            regenerate=True,
        )
        return Response(draft_data(draft))


class RecommendationView(APIView):
    @extend_schema(parameters=[TICKET_ID], responses={200: RecommendationSerializer, 503: None})
    def get(self, request, ticket_id):
        ticket = _ticket(request, ticket_id)
        if not quimbi_configured(ticket.organization_id) and not recommendation_exists(
            ticket=ticket
        ):
            return Response(
                {
                    "priority": "normal",
                    "actions": [],
                    "talking_points": [],
                    "warnings": [
                        "Recommendations need the Quimbi platform, which is not "
                        "configured for this organization."
                    ],
                    "estimated_impact": {"retention_probability": 0.5, "revenue_at_risk": 0.0},
                }
            )
        try:
            recommendation = recommendation_get(ticket=ticket)
        except QuimbiError:
            return Response(
                {
                    "detail": "Recommendations are unavailable right now (Quimbi does not "
                    "answer); try again later."
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response(recommendation_data(recommendation))


class RecommendationActionView(APIView):
    @extend_schema(
        parameters=[TICKET_ID, OpenApiParameter("index", int, OpenApiParameter.PATH)],
        request=CompleteSerializer,
        responses=RecommendationSerializer,
    )
    def patch(self, request, ticket_id, index):
        ticket = _ticket(request, ticket_id)
        body = CompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        recommendation = recommendation_get_for_ticket(ticket=ticket)
        if recommendation is None:
            raise NotFound("This ticket has no recommendation yet.")
        recommendation = recommendation_action_complete(
            recommendation=recommendation,
            index=int(index),
            completed=body.validated_data["completed"],
        )
        return Response(recommendation_data(recommendation))
