"""Outbound webhooks: everyone in the organization reads, managers and admins write, test
and replay; another organization's id (endpoint or delivery) is a 404."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from agents.permissions import IsManagerOrReadOnly
from agents.principals import caller_actor
from integrations.api import serializers as s
from integrations.selectors import (
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_endpoint_get,
    webhook_endpoint_list,
)
from integrations.services import (
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_ping,
)
from tickets.api.representations import paged

OBJECT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
DELIVERY_ID = OpenApiParameter("delivery_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number (from 1)."),
    OpenApiParameter(
        "limit", int, description=f"Page size, 1-{s.MAX_LIMIT} (larger is capped); 50."
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary="Outbound webhook endpoints",
        parameters=PAGE_PARAMETERS,
        responses=s.WebhookListSerializer,
    ),
    retrieve=extend_schema(
        summary="A webhook endpoint", parameters=[OBJECT_ID], responses=s.WebhookSerializer
    ),
    create=extend_schema(
        summary="Subscribe an endpoint (the answer shows its signing secret, once)",
        request=s.WebhookWriteSerializer,
        responses={201: s.WebhookCreatedSerializer},
    ),
    partial_update=extend_schema(
        summary="Change an endpoint (active: true turns a disabled one back on)",
        parameters=[OBJECT_ID],
        request=s.WebhookWriteSerializer(partial=True),
        responses=s.WebhookSerializer,
    ),
    destroy=extend_schema(
        summary="Delete an endpoint and its deliveries",
        parameters=[OBJECT_ID],
        responses={204: None},
    ),
)
class WebhookViewSet(viewsets.GenericViewSet):
    permission_classes = [IsManagerOrReadOnly]
    serializer_class = s.WebhookSerializer
    lookup_value_regex = "[^/]+"  # malformed ids reach the view and get a clear 400

    def _org(self):
        return self.request.user.organization_id

    def _actor(self):
        return caller_actor(self.request.user)[0]

    def _get(self, pk):
        return webhook_endpoint_get(organization_id=self._org(), endpoint_id=pk)

    def get_queryset(self):
        return webhook_endpoint_list(organization_id=self._org())

    def _page(self, request, queryset, key, data):
        return paged(request, queryset, key=key, data=data, default_limit=50, max_limit=s.MAX_LIMIT)

    def list(self, request):
        return self._page(request, self.get_queryset(), "webhooks", s.webhook_data)

    def retrieve(self, request, pk=None):
        return Response(s.webhook_data(self._get(pk)))

    def create(self, request):
        body = s.WebhookWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(
            organization=request.user.organization,
            data=dict(body.validated_data),
            actor=self._actor(),
        )
        answer = {**s.webhook_data(endpoint), "secret": endpoint.secret}
        return Response(answer, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        endpoint = self._get(pk)
        body = s.WebhookWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_update(
            endpoint=endpoint, data=dict(body.validated_data), actor=self._actor()
        )
        return Response(s.webhook_data(endpoint))

    def destroy(self, request, pk=None):
        webhook_endpoint_delete(endpoint=self._get(pk), actor=self._actor())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Send a webhook.test ping (queued; see its delivery)",
        parameters=[OBJECT_ID],
        request=None,
        responses={202: s.DeliverySerializer},
    )
    @action(detail=True, methods=["post"], url_path="test", url_name="test")
    def ping(self, request, pk=None):
        s.EmptySerializer(data=request.data or {}).is_valid(raise_exception=True)
        delivery = webhook_ping(endpoint=self._get(pk), actor=self._actor())
        return Response(s.delivery_data(delivery), status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="The endpoint's deliveries, newest first",
        parameters=[OBJECT_ID, *PAGE_PARAMETERS],
        responses=s.DeliveryListSerializer,
    )
    @action(detail=True, methods=["get"], url_path="deliveries", url_name="deliveries")
    def deliveries(self, request, pk=None):
        endpoint = self._get(pk)
        return self._page(
            request, webhook_delivery_list(endpoint=endpoint), "deliveries", s.delivery_data
        )

    @extend_schema(
        summary="Send a delivery again (a new delivery with the same webhook-id and body)",
        parameters=[OBJECT_ID, DELIVERY_ID],
        request=None,
        responses={202: s.DeliverySerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[^/]+)/replay",
        url_name="replay",
    )
    def replay(self, request, pk=None, delivery_id=None):
        s.EmptySerializer(data=request.data or {}).is_valid(raise_exception=True)
        delivery = webhook_delivery_get(endpoint=self._get(pk), delivery_id=delivery_id)
        replay = webhook_delivery_replay(delivery=delivery, actor=self._actor())
        return Response(s.delivery_data(replay), status=status.HTTP_202_ACCEPTED)
