from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.exceptions import NotFound
from agents.permissions import IsManagerOrReadOnly
from agents.principals import caller_actor
from rules.api.serializers import (
    PrioritizedSerializer,
    PrioritizeSerializer,
    RuleListSerializer,
    RuleSerializer,
    RuleWriteSerializer,
)
from rules.filters import RuleFilterSet
from rules.models import Rule
from rules.services import rule_create, rule_delete, rule_update, tickets_prioritize
from tickets.api.representations import ticket_list_item
from tickets.api.schema import filterset_parameters
from tickets.filters import filterset_apply
from tickets.selectors import uuid_parse

RULE_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="Prioritization rules",
        parameters=filterset_parameters(RuleFilterSet),
        responses=RuleListSerializer,
    ),
    retrieve=extend_schema(parameters=[RULE_ID], responses=RuleSerializer),
    create=extend_schema(
        summary="Create a rule (managers); open tickets are rescored in the background",
        request=RuleWriteSerializer,
        responses={201: RuleSerializer},
    ),
    partial_update=extend_schema(
        parameters=[RULE_ID], request=RuleWriteSerializer(partial=True), responses=RuleSerializer
    ),
    destroy=extend_schema(parameters=[RULE_ID], responses={204: None}),
)
class RuleViewSet(viewsets.GenericViewSet):
    permission_classes = [IsManagerOrReadOnly]
    serializer_class = RuleSerializer
    filterset_class = RuleFilterSet
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return Rule.objects.filter(organization_id=self.request.user.organization_id)

    def _rule(self, pk) -> Rule:
        rule = self.get_queryset().filter(pk=uuid_parse(pk, field="id", what="rule")).first()
        if rule is None:
            raise NotFound(f"Rule {pk} not found.")
        return rule

    def list(self, request):
        rules, _ = filterset_apply(RuleFilterSet, request.query_params, self.get_queryset())
        return Response({"rules": RuleSerializer(rules.order_by("name"), many=True).data})

    def retrieve(self, request, pk=None):
        return Response(RuleSerializer(self._rule(pk)).data)

    def create(self, request):
        body = RuleWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actor, _ = caller_actor(request.user)
        rule = rule_create(
            organization=request.user.organization, actor=actor, **body.validated_data
        )
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        rule = self._rule(pk)
        body = RuleWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        actor, _ = caller_actor(request.user)
        rule = rule_update(rule=rule, actor=actor, **body.validated_data)
        return Response(RuleSerializer(rule).data)

    def destroy(self, request, pk=None):
        actor, _ = caller_actor(request.user)
        rule_delete(rule=self._rule(pk), actor=actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PrioritizeView(APIView):
    """Score the given tickets now with the organization's rules (or only `rule_ids`,
    as a what-if that saves nothing) and rank them, highest first."""

    @extend_schema(request=PrioritizeSerializer, responses=PrioritizedSerializer)
    def post(self, request):
        body = PrioritizeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule_ids = body.validated_data.get("rule_ids")
        ranked = tickets_prioritize(
            organization_id=request.user.organization_id,
            ticket_ids=list(dict.fromkeys(body.validated_data["ticket_ids"])),
            rule_ids=rule_ids,
        )
        return Response(
            {
                "tickets": [
                    {**ticket_list_item(t), "rank": i + 1, "score_breakdown": t.score_breakdown}
                    for i, t in enumerate(ranked)
                ],
                "rules_applied": rule_ids,
            }
        )
