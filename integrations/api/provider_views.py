"""Zendesk / Gorgias: accounts (managers only; another organization's id is a 404), their
sync runs, and the providers' webhooks (authenticated by signature or shared secret,
not by a session or key)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.exceptions import Conflict
from agents.permissions import IsManager
from agents.principals import caller_actor
from integrations.api import provider_serializers as s
from integrations.models import IntegrationAccount
from integrations.providers.accounts import (
    account_create,
    account_delete,
    account_get,
    account_list,
    account_update,
    run_list,
)
from integrations.providers.inbound import (
    MAX_BODY,
    Unauthorized,
    gorgias_verify,
    inbound_receive,
    zendesk_verify,
)
from integrations.providers.scheduling import sync_queue
from integrations.providers.sync import SyncBusy
from tickets.api.representations import paged
from tickets.ids import uuid_parse

OBJECT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number (from 1)."),
    OpenApiParameter("limit", int, description=f"Page size, 1-{s.MAX_LIMIT}; 50."),
]


@extend_schema_view(
    list=extend_schema(
        summary="Zendesk and Gorgias accounts",
        parameters=PAGE_PARAMETERS,
        responses=s.IntegrationAccountListSerializer,
    ),
    retrieve=extend_schema(
        summary="An integration account",
        parameters=[OBJECT_ID],
        responses=s.IntegrationAccountSerializer,
    ),
    create=extend_schema(
        summary="Connect a Zendesk or Gorgias account (secrets are write-only)",
        request=s.IntegrationAccountWriteSerializer,
        responses={201: s.IntegrationAccountSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an account (a secret sent replaces the stored one)",
        parameters=[OBJECT_ID],
        request=s.IntegrationAccountWriteSerializer(partial=True),
        responses=s.IntegrationAccountSerializer,
    ),
    destroy=extend_schema(
        summary="Disconnect an account (imported tickets stay)",
        parameters=[OBJECT_ID],
        responses={204: None},
    ),
)
class IntegrationAccountViewSet(viewsets.GenericViewSet):
    permission_classes = [IsManager]
    serializer_class = s.IntegrationAccountSerializer
    lookup_value_regex = "[^/]+"

    def _org(self):
        return self.request.user.organization_id

    def _actor(self):
        return caller_actor(self.request.user)[0]

    def _get(self, pk):
        return account_get(organization_id=self._org(), account_id=pk)

    def get_queryset(self):
        return account_list(organization_id=self._org())

    def _page(self, request, queryset, key, data):
        return paged(request, queryset, key=key, data=data, default_limit=50, max_limit=s.MAX_LIMIT)

    def list(self, request):
        return self._page(request, self.get_queryset(), "accounts", s.account_data)

    def retrieve(self, request, pk=None):
        return Response(s.account_data(self._get(pk)))

    def create(self, request):
        body = s.IntegrationAccountWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        account = account_create(
            organization=request.user.organization,
            data=dict(body.validated_data),
            actor=self._actor(),
        )
        return Response(s.account_data(account), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        account = self._get(pk)
        body = s.IntegrationAccountWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        account = account_update(
            account=account, data=dict(body.validated_data), actor=self._actor()
        )
        return Response(s.account_data(account))

    def destroy(self, request, pk=None):
        account_delete(account=self._get(pk), actor=self._actor())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Queue a sync now (409 while one runs)",
        parameters=[OBJECT_ID],
        request=s.SyncRequestSerializer,
        responses={202: s.SyncRunSerializer},
    )
    @action(detail=True, methods=["post"], url_path="sync", url_name="sync")
    def sync(self, request, pk=None):
        account = self._get(pk)
        body = s.SyncRequestSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        if not account.enabled:
            raise Conflict("The account is disabled: enable it to sync.")
        try:
            run = sync_queue(account, full=body.validated_data["full"], trigger="api")
        except SyncBusy as exc:
            raise Conflict(str(exc)) from exc
        return Response(s.run_data(run), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The account's sync runs, newest first",
        parameters=[OBJECT_ID, *PAGE_PARAMETERS],
        responses=s.SyncRunListSerializer,
    )
    @action(detail=True, methods=["get"], url_path="runs", url_name="runs")
    def runs(self, request, pk=None):
        return self._page(request, run_list(account=self._get(pk)), "runs", s.run_data)


class _RawBody(BaseParser):
    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return None


class _ProviderWebhook(APIView):
    """Shared by both providers: size cap, account lookup, verification, storage."""

    provider = ""
    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [_RawBody]
    throttle_classes = []

    def verify(self, account, request, body):  # pragma: no cover - overridden
        raise NotImplementedError

    def dedupe_key(self, request) -> str:
        return ""

    def post(self, request, account_id):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            return _error(413, "PAYLOAD_TOO_LARGE", "The body is over 1 MB.")
        account = IntegrationAccount.objects.filter(
            pk=uuid_parse(account_id, field="account_id", what="integration account"),
            provider=self.provider,
        ).first()
        if account is None:
            raise NotFound(f"No {self.provider} account {account_id!s:.60}.")
        body = request.body
        if len(body) > MAX_BODY:
            return _error(413, "PAYLOAD_TOO_LARGE", "The body is over 1 MB.")
        try:
            self.verify(account, request, body)
        except Unauthorized as exc:
            return _error(401, "UNAUTHORIZED", str(exc))
        event, duplicate = inbound_receive(
            account, body=body, headers=request.headers, dedupe=self.dedupe_key(request)
        )
        return Response(
            {"received": True, "duplicate": duplicate, "id": event.pk},
            status=status.HTTP_202_ACCEPTED,
        )


def _error(code: int, name: str, detail: str) -> Response:
    return Response({"error": {"code": name, "message": detail}}, status=code)


WEBHOOK_RESPONSES = {
    202: OpenApiTypes.OBJECT,
    400: OpenApiTypes.OBJECT,
    401: OpenApiTypes.OBJECT,
    404: OpenApiTypes.OBJECT,
    413: OpenApiTypes.OBJECT,
}


class ZendeskWebhookView(_ProviderWebhook):
    provider = "zendesk"

    @extend_schema(
        summary="Zendesk webhook (signed: X-Zendesk-Webhook-Signature + timestamp)",
        request={"application/json": OpenApiTypes.OBJECT},
        responses=WEBHOOK_RESPONSES,
        auth=[],
    )
    def post(self, request, account_id):
        return super().post(request, account_id)

    def verify(self, account, request, body):
        zendesk_verify(account, request.headers, body)

    def dedupe_key(self, request) -> str:
        invocation = request.headers.get("X-Zendesk-Webhook-Invocation-Id", "")
        return f"invocation:{invocation}" if invocation else ""


class GorgiasWebhookView(_ProviderWebhook):
    provider = "gorgias"

    @extend_schema(
        summary="Gorgias HTTP integration (X-Webhook-Secret)",
        request={"application/json": OpenApiTypes.OBJECT},
        responses=WEBHOOK_RESPONSES,
        auth=[],
    )
    def post(self, request, account_id):
        return super().post(request, account_id)

    def verify(self, account, request, body):
        gorgias_verify(account, request.headers)
