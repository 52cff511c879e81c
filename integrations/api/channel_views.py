"""Email, SMS and chat: channels (managers only; another organization's id is a 404)
and their inbound endpoints (authenticated by the channel's secret or Twilio's
signature, not by a session or key)."""

import hmac
import json

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.permissions import IsManager
from agents.principals import caller_actor
from integrations.api import channel_serializers as s
from integrations.channels.accounts import (
    channel_create,
    channel_delete,
    channel_get,
    channel_list,
    channel_secret_rotate,
    channel_update,
)
from integrations.channels.chat_in import chat_receive
from integrations.channels.email_in import TooLarge, email_receive
from integrations.channels.sms_in import sms_receive, sms_status, twilio_valid
from integrations.models import ChannelAccount
from integrations.secrets import SecretUnreadable, secret_open
from tickets.api.representations import paged
from tickets.ids import uuid_parse

OBJECT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number (from 1)."),
    OpenApiParameter("limit", int, description=f"Page size, 1-{s.MAX_LIMIT}; 50."),
]


@extend_schema_view(
    list=extend_schema(
        summary="Email, SMS and chat channels",
        parameters=PAGE_PARAMETERS,
        responses=s.ChannelListSerializer,
    ),
    retrieve=extend_schema(
        summary="A channel", parameters=[OBJECT_ID], responses=s.ChannelSerializer
    ),
    create=extend_schema(
        summary="Add a channel (the answer shows its inbound secret, once)",
        request=s.ChannelWriteSerializer,
        responses={201: s.ChannelCreatedSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a channel",
        parameters=[OBJECT_ID],
        request=s.ChannelWriteSerializer(partial=True),
        responses=s.ChannelSerializer,
    ),
    destroy=extend_schema(
        summary="Remove a channel (its tickets stay)", parameters=[OBJECT_ID], responses={204: None}
    ),
)
class ChannelViewSet(viewsets.GenericViewSet):
    permission_classes = [IsManager]
    serializer_class = s.ChannelSerializer
    lookup_value_regex = "[^/]+"

    def _org(self):
        return self.request.user.organization_id

    def _actor(self):
        return caller_actor(self.request.user)[0]

    def _get(self, pk):
        return channel_get(organization_id=self._org(), channel_id=pk)

    def get_queryset(self):
        return channel_list(organization_id=self._org())

    def list(self, request):
        return paged(
            request,
            self.get_queryset(),
            key="channels",
            data=s.channel_data,
            default_limit=50,
            max_limit=s.MAX_LIMIT,
        )

    def retrieve(self, request, pk=None):
        return Response(s.channel_data(self._get(pk)))

    def create(self, request):
        body = s.ChannelWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        channel, secret = channel_create(
            organization=request.user.organization,
            data=dict(body.validated_data),
            actor=self._actor(),
        )
        return Response({**s.channel_data(channel), "secret": secret}, status=201)

    def partial_update(self, request, pk=None):
        channel = self._get(pk)
        body = s.ChannelWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        channel = channel_update(
            channel=channel, data=dict(body.validated_data), actor=self._actor()
        )
        return Response(s.channel_data(channel))

    def destroy(self, request, pk=None):
        channel_delete(channel=self._get(pk), actor=self._actor())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Rotate the inbound secret (email, chat): the old one stops working",
        parameters=[OBJECT_ID],
        request=None,
        responses=s.SecretSerializer,
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret", url_name="rotate-secret")
    def rotate_secret(self, request, pk=None):
        s.EmptySerializer(data=request.data or {}).is_valid(raise_exception=True)
        secret = channel_secret_rotate(channel=self._get(pk), actor=self._actor())
        return Response({"secret": secret})


class _Raw(BaseParser):
    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return None


def _error(code: int, name: str, detail: str) -> Response:
    return Response({"error": {"code": name, "message": detail}}, status=code)


INBOUND_RESPONSES = {
    202: OpenApiTypes.OBJECT,
    400: OpenApiTypes.OBJECT,
    401: OpenApiTypes.OBJECT,
    404: OpenApiTypes.OBJECT,
    413: OpenApiTypes.OBJECT,
}


class _Inbound(APIView):
    kind = ""
    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [_Raw]
    throttle_classes = []
    max_bytes = 1024 * 1024

    def _channel(self, channel_id) -> ChannelAccount:
        channel = ChannelAccount.objects.filter(
            pk=uuid_parse(channel_id, field="channel_id", what="channel"),
            kind=self.kind,
            enabled=True,
        ).first()
        if channel is None:
            raise NotFound(f"No enabled {self.kind} channel {channel_id!s:.60}.")
        return channel

    def _too_big(self, request) -> bool:
        try:
            return int(request.META.get("CONTENT_LENGTH") or 0) > self.max_bytes
        except ValueError:
            return True

    def _raw(self, request) -> bytes:
        django_request = request._request
        if hasattr(django_request, "_body"):  # a middleware read it already (JSON checks)
            return django_request._body
        return django_request.read(self.max_bytes + 1)

    def _secret_ok(self, channel, request) -> bool:
        given = request.headers.get("X-Channel-Secret", "")
        try:
            expected = secret_open(channel.secret)
        except SecretUnreadable:
            return False
        return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())

    def _answer(self, outcome):
        receipt = outcome.receipt
        return Response(
            {
                "received": True,
                "duplicate": outcome.duplicate,
                "outcome": receipt.outcome,
                "note": receipt.note,
                "ticket_id": receipt.ticket_id,
                "message_id": receipt.message_id,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class EmailInboundView(_Inbound):
    kind = "email"

    @property
    def max_bytes(self):
        return settings.EMAIL_MESSAGE_MAX_BYTES + 1024 * 1024

    @extend_schema(
        summary="Inbound email: a raw RFC 822 message (X-Channel-Secret)",
        description="The body is the raw message as mail services forward it, sent as "
        "Content-Type message/rfc822 (or application/octet-stream).",
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses=INBOUND_RESPONSES,
        auth=[],
    )
    def post(self, request, channel_id):
        if self._too_big(request):
            return _error(413, "PAYLOAD_TOO_LARGE", "The message is over the size limit.")
        channel = self._channel(channel_id)
        if not self._secret_ok(channel, request):
            return _error(401, "UNAUTHORIZED", "X-Channel-Secret is missing or wrong.")
        raw = self._raw(request)
        if len(raw) > self.max_bytes:
            return _error(413, "PAYLOAD_TOO_LARGE", "The message is over the size limit.")
        try:
            outcome = email_receive(channel, raw)
        except TooLarge as exc:
            return _error(413, "PAYLOAD_TOO_LARGE", exc.detail)
        return self._answer(outcome)


class ChatInboundView(_Inbound):
    kind = "chat"

    @extend_schema(
        summary="Inbound chat message (X-Channel-Secret)",
        request={"application/json": OpenApiTypes.OBJECT},
        responses=INBOUND_RESPONSES,
        auth=[],
    )
    def post(self, request, channel_id):
        if self._too_big(request):
            return _error(413, "PAYLOAD_TOO_LARGE", "The body is over 1 MB.")
        channel = self._channel(channel_id)
        if not self._secret_ok(channel, request):
            return _error(401, "UNAUTHORIZED", "X-Channel-Secret is missing or wrong.")
        raw = self._raw(request)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "INVALID", "The body is not JSON.")
        return self._answer(chat_receive(channel, body))


class TwilioInboundView(_Inbound):
    kind = "sms"
    parser_classes = [_Raw]

    @extend_schema(
        summary="Inbound SMS, Twilio's message webhook and status callback (X-Twilio-Signature)",
        request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
        responses={200: OpenApiTypes.STR, 400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT},
        auth=[],
    )
    def post(self, request, channel_id):
        if self._too_big(request):
            return _error(413, "PAYLOAD_TOO_LARGE", "The body is over 1 MB.")
        channel = self._channel(channel_id)
        params = {k: v for k, v in request._request.POST.items()}
        url = request._request.build_absolute_uri()
        signature = request.headers.get("X-Twilio-Signature", "")
        if not twilio_valid(channel, url, params, signature):
            return _error(401, "UNAUTHORIZED", "X-Twilio-Signature does not match.")
        if "MessageStatus" in params and "Body" not in params:
            sms_status(channel, params)  # a status callback for a reply we sent
        else:
            sms_receive(channel, params)
        # Twilio reads TwiML back: an empty response sends nothing to the customer.
        return HttpResponse(
            '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
            content_type="text/xml",
        )
