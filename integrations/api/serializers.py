"""Outbound webhooks: input bodies and answers."""

import json

from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.webhooks import ALL_AUTOMATION, EVENT_TYPES
from tickets.api.serializers import PaginationSerializer, StrictBooleanField

MAX_LIMIT = 100

EVENTS_HELP = (
    f"Event types sent to this endpoint: {', '.join(EVENT_TYPES)}; "
    f'"{ALL_AUTOMATION}" for every send_webhook_event action of the automations, or one '
    "such action's custom event name."
)


class WebhookWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    url = serializers.CharField(
        max_length=2000,
        help_text="http(s) URL; private, loopback and link-local addresses are refused.",
    )
    events = serializers.ListField(
        child=serializers.JSONField(), max_length=50, help_text=EVENTS_HELP
    )
    active = StrictBooleanField(required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)


class WebhookSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField()
    description = serializers.CharField()
    disabled_reason = serializers.CharField(help_text="Why it was disabled automatically.")
    failing_since = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_ + base64), shown only in this answer."
    )


class WebhookListSerializer(serializers.Serializer):
    webhooks = WebhookSerializer(many=True)
    pagination = PaginationSerializer()


class DeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event_type = serializers.CharField()
    event_id = serializers.IntegerField(allow_null=True, help_text="The ticket event sent.")
    message_id = serializers.CharField(help_text="The webhook-id header.")
    status = serializers.CharField(help_text="pending, succeeded or failed.")
    attempts = serializers.IntegerField()
    response_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField(
        allow_null=True, help_text="When the next attempt is due (pending only)."
    )
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    replay_of = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    payload = serializers.JSONField(help_text="The body sent: {type, timestamp, data}.")


class DeliveryListSerializer(serializers.Serializer):
    deliveries = DeliverySerializer(many=True)
    pagination = PaginationSerializer()


class EmptySerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    pass


def webhook_data(endpoint: WebhookEndpoint) -> dict:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": list(endpoint.events or []),
        "active": endpoint.active,
        "description": endpoint.description,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }


def delivery_data(delivery: WebhookDelivery) -> dict:
    try:
        payload = json.loads(delivery.body)
    except ValueError:
        payload = None
    return {
        "id": delivery.pk,
        "event_type": delivery.event_type,
        "event_id": delivery.source_event_id,
        "message_id": delivery.message_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_code": delivery.response_code,
        "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
        "last_attempt_at": delivery.last_attempt_at,
        "replay_of": delivery.replay_of_id,
        "created_at": delivery.created_at,
        "payload": payload,
    }
