"""Teams (with their routing settings) and skills: everyone in the organization reads,
managers and admins write; another organization's id is a 404."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response

from agents.permissions import IsManagerOrReadOnly
from agents.principals import caller_actor
from routing.api import team_serializers as s
from routing.team_selectors import (
    skill_get_for_organization,
    skill_list_for_organization,
    team_get_for_organization,
    team_list_for_organization,
)
from routing.team_services import (
    skill_create,
    skill_delete,
    skill_update,
    team_create,
    team_delete,
    team_update,
)
from tickets.api.representations import paged

OBJECT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number (from 1)."),
    OpenApiParameter(
        "limit", int, description=f"Page size, 1-{s.MAX_LIMIT} (larger is capped); 100."
    ),
]


class _Managed(viewsets.GenericViewSet):
    permission_classes = [IsManagerOrReadOnly]
    lookup_value_regex = "[^/]+"  # malformed ids reach the view and get a clear 400
    key = ""  # the list's key in the answer

    def _org(self):
        return self.request.user.organization_id

    def _actor(self):
        return caller_actor(self.request.user)[0]

    def _page(self, request, queryset, data):
        return paged(
            request, queryset, key=self.key, data=data, default_limit=100, max_limit=s.MAX_LIMIT
        )


@extend_schema_view(
    list=extend_schema(
        summary="Teams, by name", parameters=PAGE_PARAMETERS, responses=s.TeamListSerializer
    ),
    retrieve=extend_schema(summary="A team", parameters=[OBJECT_ID], responses=s.TeamSerializer),
    create=extend_schema(
        summary="Create a team", request=s.TeamWriteSerializer, responses={201: s.TeamSerializer}
    ),
    partial_update=extend_schema(
        summary="Change a team, its routing settings or its members",
        parameters=[OBJECT_ID],
        request=s.TeamWriteSerializer(partial=True),
        responses=s.TeamSerializer,
    ),
    destroy=extend_schema(
        summary="Delete a team (its tickets lose the team)",
        parameters=[OBJECT_ID],
        responses={204: None},
    ),
)
class TeamViewSet(_Managed):
    serializer_class = s.TeamSerializer
    key = "teams"

    def get_queryset(self):
        return team_list_for_organization(organization_id=self._org())

    def _get(self, pk):
        return team_get_for_organization(organization_id=self._org(), team_id=pk)

    def list(self, request):
        return self._page(request, self.get_queryset(), s.team_data)

    def retrieve(self, request, pk=None):
        return Response(s.team_data(self._get(pk)))

    def create(self, request):
        body = s.TeamWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        team = team_create(
            organization=request.user.organization,
            data=dict(body.validated_data),
            actor=self._actor(),
        )
        return Response(s.team_data(self._get(team.pk)), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        team = self._get(pk)
        body = s.TeamWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        team_update(team=team, data=dict(body.validated_data), actor=self._actor())
        return Response(s.team_data(self._get(pk)))

    def destroy(self, request, pk=None):
        team_delete(team=self._get(pk), actor=self._actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="Skills, by name", parameters=PAGE_PARAMETERS, responses=s.SkillListSerializer
    ),
    retrieve=extend_schema(summary="A skill", parameters=[OBJECT_ID], responses=s.SkillSerializer),
    create=extend_schema(
        summary="Create a skill: the ticket tags and channels that require it",
        request=s.SkillWriteSerializer,
        responses={201: s.SkillSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a skill or the agents holding it",
        parameters=[OBJECT_ID],
        request=s.SkillWriteSerializer(partial=True),
        responses=s.SkillSerializer,
    ),
    destroy=extend_schema(summary="Delete a skill", parameters=[OBJECT_ID], responses={204: None}),
)
class SkillViewSet(_Managed):
    serializer_class = s.SkillSerializer
    key = "skills"

    def get_queryset(self):
        return skill_list_for_organization(organization_id=self._org())

    def _get(self, pk):
        return skill_get_for_organization(organization_id=self._org(), skill_id=pk)

    def list(self, request):
        return self._page(request, self.get_queryset(), s.skill_data)

    def retrieve(self, request, pk=None):
        return Response(s.skill_data(self._get(pk)))

    def create(self, request):
        body = s.SkillWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        skill = skill_create(
            organization=request.user.organization,
            data=dict(body.validated_data),
            actor=self._actor(),
        )
        return Response(s.skill_data(self._get(skill.pk)), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        skill = self._get(pk)
        body = s.SkillWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        skill_update(skill=skill, data=dict(body.validated_data), actor=self._actor())
        return Response(s.skill_data(self._get(pk)))

    def destroy(self, request, pk=None):
        skill_delete(skill=self._get(pk), actor=self._actor())
        return Response(status=status.HTTP_204_NO_CONTENT)
