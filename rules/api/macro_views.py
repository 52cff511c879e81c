"""Macros: everyone in the organization reads and applies them, managers and admins
write them; another organization's macro or ticket is a 404."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.permissions import IsManagerOrReadOnly
from agents.principals import caller_actor
from rules.api import macro_serializers as s
from rules.api.automation_serializers import MAX_LIMIT
from rules.api.automation_views import PAGE
from rules.macros.filters import MacroFilterSet
from rules.macros.selectors import macro_get, macro_list
from rules.macros.services import macro_apply, macro_create, macro_delete, macro_update
from tickets.api.representations import paged
from tickets.api.schema import filterset_parameters
from tickets.filters import filterset_apply
from tickets.selectors import ticket_get_for_organization

OBJECT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(
        summary="Macros, by name",
        parameters=[*PAGE, *filterset_parameters(MacroFilterSet)],
        responses=s.MacroListSerializer,
    ),
    retrieve=extend_schema(summary="A macro", parameters=[OBJECT_ID], responses=s.MacroSerializer),
    create=extend_schema(
        summary="Create a macro (placeholders and actions validated)",
        request=s.MacroWriteSerializer,
        responses={201: s.MacroSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a macro",
        parameters=[OBJECT_ID],
        request=s.MacroWriteSerializer(partial=True),
        responses=s.MacroSerializer,
    ),
    destroy=extend_schema(summary="Delete a macro", parameters=[OBJECT_ID], responses={204: None}),
)
class MacroViewSet(viewsets.GenericViewSet):
    permission_classes = [IsManagerOrReadOnly]
    serializer_class = s.MacroSerializer
    lookup_value_regex = "[^/]+"

    def _org(self):
        return self.request.user.organization_id

    def _get(self, pk):
        return macro_get(organization_id=self._org(), macro_id=pk)

    def get_queryset(self):
        return macro_list(organization_id=self._org())

    def list(self, request):
        macros, _ = filterset_apply(
            MacroFilterSet, request.query_params, macro_list(organization_id=self._org())
        )
        return paged(
            request, macros, key="macros", data=s.macro_data, default_limit=50, max_limit=MAX_LIMIT
        )

    def retrieve(self, request, pk=None):
        return Response(s.macro_data(self._get(pk)))

    def create(self, request):
        body = s.MacroWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        macro = macro_create(
            organization=request.user.organization,
            data=dict(body.validated_data),
            actor=caller_actor(request.user)[0],
        )
        return Response(s.macro_data(macro), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        macro = self._get(pk)
        body = s.MacroWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        macro = macro_update(
            macro=macro, data=dict(body.validated_data), actor=caller_actor(request.user)[0]
        )
        return Response(s.macro_data(macro))

    def destroy(self, request, pk=None):
        macro_delete(macro=self._get(pk), actor=caller_actor(request.user)[0])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApplyMacroView(APIView):
    @extend_schema(
        summary="Render a macro for the ticket; with send: true also apply its actions, "
        "send the reply to the customer and count the use",
        request=s.ApplyMacroSerializer,
        responses=s.ApplyMacroAnswerSerializer,
    )
    def post(self, request, ticket_id):
        organization_id = request.user.organization_id
        ticket = ticket_get_for_organization(organization_id=organization_id, ticket_id=ticket_id)
        body = s.ApplyMacroSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        macro = macro_get(
            organization_id=organization_id,
            macro_id=body.validated_data["macro_id"],
            field="macro_id",
        )
        actor, label = caller_actor(request.user)
        answer = macro_apply(
            macro=macro,
            ticket=ticket,
            actor=actor,
            actor_label=label,
            send=body.validated_data["send"],
        )
        return Response(answer)
