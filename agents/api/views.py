from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api.serializers import (
    AgentAvailabilitySerializer,
    AgentListSerializer,
    AgentSerializer,
    CallerSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)
from agents.authentication import AgentTokenAuthentication
from agents.exceptions import DomainError
from agents.lockout import lockout_response
from agents.models import Agent, AgentToken
from agents.principals import ApiKeyPrincipal
from agents.services import agent_availability_set, agent_token_create, agent_token_revoke
from agents.throttling import LoginRateThrottle


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
    """The organization's agents; `me` is the logged-in agent."""

    serializer_class = AgentSerializer

    def get_queryset(self):
        return (
            Agent.objects.filter(organization_id=self.request.user.organization_id, is_active=True)
            .select_related("organization")
            .prefetch_related("teams", "skills")
            .order_by("name", "email")
        )

    @extend_schema(summary="Active agents of the organization", responses=AgentListSerializer)
    def list(self, request):
        return Response({"agents": AgentSerializer(self.get_queryset(), many=True).data})

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
    @action(detail=False, methods=["get", "patch"])
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
