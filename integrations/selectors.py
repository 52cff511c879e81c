"""Reads of outbound webhooks (org-scoped: another organization's id is a 404)."""

from django.db.models import QuerySet

from agents.exceptions import NotFound
from integrations.models import WebhookDelivery, WebhookEndpoint
from tickets.ids import uuid_parse


def webhook_endpoint_list(*, organization_id) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization_id=organization_id).order_by(
        "created_at", "pk"
    )


def webhook_endpoint_get(*, organization_id, endpoint_id) -> WebhookEndpoint:
    endpoint = (
        webhook_endpoint_list(organization_id=organization_id)
        .filter(pk=uuid_parse(endpoint_id, field="id", what="webhook"))
        .first()
    )
    if endpoint is None:
        raise NotFound(f"Webhook {endpoint_id!s:.60} not found.")
    return endpoint


def webhook_delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first (one query per page, no joins needed)."""
    return WebhookDelivery.objects.filter(endpoint_id=endpoint.pk).order_by("-created_at", "-pk")


def webhook_delivery_get(*, endpoint: WebhookEndpoint, delivery_id) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint.pk,
            organization_id=endpoint.organization_id,
            pk=uuid_parse(delivery_id, field="delivery_id", what="delivery"),
        )
        .select_related("endpoint")
        .first()
    )
    if delivery is None:
        raise NotFound(f"Delivery {delivery_id!s:.60} not found.")
    return delivery
