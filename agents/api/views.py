import uuid
from contextlib import contextmanager

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api.serializers import (
    AgentAvailabilitySerializer,
    AgentInvitedSerializer,
    AgentInviteSerializer,
    AgentListParamsSerializer,
    AgentListSerializer,
    AgentSerializer,
    AgentUpdateSerializer,
    CallerSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)
from agents.authentication import AgentTokenAuthentication
from agents.exceptions import DomainError, NotFound
from agents.lockout import lockout_response
from agents.models import Agent, AgentToken
from agents.permissions import IsManagerOrReadOnly, IsOrganizationMember
from agents.principals import ApiKeyPrincipal, caller_actor
from agents.services import (
    FORBIDDEN,
    agent_availability_set,
    agent_invite,
    agent_token_create,
    agent_token_revoke,
    agent_update,
)
from agents.throttling import LoginRateThrottle

AGENT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


def _agent_id(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise DomainError(f"{value!s:.60} is not a valid agent id.", field="id") from None


@contextmanager
def rank_rules_as_403():
    """A rank rule broken (granting a role above one's own, changing one's own role,
    deactivating oneself) is a 403 with the service's explanation."""
    try:
        yield
    except DomainError as exc:
        if exc.code == FORBIDDEN:
            raise PermissionDenied(exc.detail) from None
        raise


class WhoAmIView(APIView):
    """The caller as the API sees it (agent or API key), for clients to check their login."""

    @extend_schema(responses=CallerSerializer)
    def get(self, request):
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            data = {
                "kind": "api_key",
                "organization": user.organization.slug,
                "role": user.role,
                "agent": None,
                "api_key": user.api_key.name,
            }
        else:
            data = {
                "kind": "agent",
                "organization": user.organization.slug,
                "role": user.role,
                "agent": user,
                "api_key": None,
            }
        return Response(CallerSerializer(data).data)


class AuthTokenView(APIView):
    """POST {email, password} -> {token}; DELETE revokes the token sent with the request."""

    throttle_scope = "auth"

    def _is_login(self) -> bool:
        # request is None while drf-spectacular inspects the view
        return getattr(self.request, "method", None) == "POST"

    def get_permissions(self):
        return [AllowAny()] if self._is_login() else super().get_permissions()

    def get_throttles(self):
        return [LoginRateThrottle()] if self._is_login() else super().get_throttles()

    def get_authenticators(self):
        # Logging in must work with a stale session cookie and no CSRF token; the token
        # authenticator stays so that a failed login answers 401 with WWW-Authenticate.
        if self._is_login():
            return [AgentTokenAuthentication()]
        return super().get_authenticators()

    @extend_schema(request=TokenCreateSerializer, responses={201: TokenSerializer}, auth=[])
    def post(self, request):
        body = TokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The Django request, so that django-axes counts the failure and sees a lock-out.
        django_request = request._request
        agent = authenticate(
            django_request,
            email=body.validated_data["email"],
            password=body.validated_data["password"],
        )
        if getattr(django_request, "axes_locked_out", False):
            return lockout_response(django_request)
        if agent is None or agent.organization_id is None:
            raise AuthenticationFailed("Wrong email or password.")
        # A login like the admin's: last_login, and django-axes clears the failures.
        user_logged_in.send(sender=type(agent), request=django_request, user=agent)
        _, raw = agent_token_create(agent=agent, name="api login")
        return Response({"token": raw}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        if not isinstance(request.auth, AgentToken):
            raise NotAuthenticated("Send the token to revoke as 'Authorization: Token <token>'.")
        agent_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AgentViewSet(viewsets.GenericViewSet):
    """The organization's agents; `me` is the logged-in agent. Everyone reads; managers
    and admins invite and edit (nobody above their own role)."""

    serializer_class = AgentSerializer
    permission_classes = [IsManagerOrReadOnly]
    lookup_value_regex = "[^/]+"  # malformed ids reach the view and get a clear 400

    def _all(self):
        return (
            Agent.objects.filter(organization_id=self.request.user.organization_id)
            .select_related("organization")
            .prefetch_related("teams", "skills")
            .order_by("name", "email")
        )

    def get_queryset(self):
        return self._all().filter(is_active=True)

    def _get(self, pk) -> Agent:
        agent = self._all().filter(pk=_agent_id(pk)).first()
        if agent is None:
            raise NotFound(f"Agent {pk!s:.60} not found.")
        return agent

    @extend_schema(
        summary="Agents of the organization (active ones unless include_inactive)",
        parameters=[
            OpenApiParameter(
                "include_inactive",
                bool,
                description="Managers and admins: also list deactivated agents.",
            )
        ],
        responses=AgentListSerializer,
    )
    def list(self, request):
        params = AgentListParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        agents = self.get_queryset()
        if params.validated_data["include_inactive"]:
            if not request.user.is_manager:
                raise PermissionDenied("Only managers and admins list deactivated agents.")
            agents = self._all()
        return Response({"agents": AgentSerializer(agents, many=True).data})

    @extend_schema(
        summary="Invite an agent: the answer shows a temporary password, once",
        request=AgentInviteSerializer,
        responses={201: AgentInvitedSerializer},
    )
    def create(self, request):
        body = AgentInviteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with rank_rules_as_403():
            agent, password = agent_invite(
                organization=request.user.organization,
                caller_role=request.user.role,
                actor=caller_actor(request.user)[0],
                **body.validated_data,
            )
        agent = self._get(agent.pk)
        agent.temporary_password = password
        return Response(AgentInvitedSerializer(agent).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="An agent of the organization", parameters=[AGENT_ID])
    def retrieve(self, request, pk=None):
        return Response(AgentSerializer(self._get(pk)).data)

    @extend_schema(
        summary="Change an agent: name, role, capacity, availability, skills, teams, active",
        description="A manager sets the roles agent and manager; only an admin sets admin; "
        "nobody changes their own role or deactivates themselves (403).",
        parameters=[AGENT_ID],
        request=AgentUpdateSerializer,
        responses=AgentSerializer,
    )
    def partial_update(self, request, pk=None):
        agent = self._get(pk)
        body = AgentUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with rank_rules_as_403():
            agent_update(
                agent=agent,
                caller_role=request.user.role,
                actor=caller_actor(request.user)[0],
                **body.validated_data,
            )
        return Response(AgentSerializer(self._get(pk)).data)

    def _me(self, request) -> Agent:
        if not isinstance(request.user, Agent):
            raise DomainError("This is an API key, not an agent; log in as an agent.")
        return self.get_queryset().get(pk=request.user.pk)

    @extend_schema(methods=["GET"], summary="The logged-in agent", responses=AgentSerializer)
    @extend_schema(
        methods=["PATCH"],
        summary="Set the logged-in agent's availability",
        request=AgentAvailabilitySerializer,
        responses=AgentSerializer,
    )
    @action(detail=False, methods=["get", "patch"], permission_classes=[IsOrganizationMember])
    def me(self, request):
        agent = self._me(request)
        if request.method == "PATCH":
            body = AgentAvailabilitySerializer(data=request.data)
            body.is_valid(raise_exception=True)
            agent_availability_set(
                agent=agent, availability=body.validated_data["availability"], actor=request.user
            )
            agent = self._me(request)
        return Response(AgentSerializer(agent).data)
