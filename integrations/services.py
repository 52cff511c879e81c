"""Every write of outbound webhooks: endpoints, pings, replays, and the outbox's feed."""

import base64
import logging
import secrets

from celery import current_app
from django.db import transaction
from django.utils import timezone

from agents.exceptions import Conflict
from agents.models import Agent, Organization
from integrations import webhooks
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.ssrf import url_check
from tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

SEND_TASK = "integrations.webhook_send"
EDITABLE = ("url", "events", "active", "description")


def secret_generate() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _clean(data: dict) -> dict:
    cleaned = {k: v for k, v in data.items() if k in EDITABLE}
    if "url" in cleaned:
        url_check(cleaned["url"])  # a refused address is a 400 naming `url`
    if "events" in cleaned:
        cleaned["events"] = webhooks.events_clean(cleaned["events"])
    if "description" in cleaned:
        cleaned["description"] = (cleaned["description"] or "").strip()
    return cleaned


@transaction.atomic
def webhook_endpoint_create(
    *, organization: Organization, data: dict, actor: Agent | None
) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret (the caller shows it once)."""
    cleaned = {"active": True, **_clean(data)}
    endpoint = WebhookEndpoint(organization=organization, secret=secret_generate(), **cleaned)
    endpoint._history_user = actor
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, data: dict, actor: Agent | None
) -> WebhookEndpoint:
    """Change url, events, active or description. Turning an endpoint back on clears why
    it was disabled and starts its failure clock afresh."""
    cleaned = _clean(data)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    changed = [name for name, value in cleaned.items() if getattr(endpoint, name) != value]
    if not changed:
        return endpoint
    for name in changed:
        setattr(endpoint, name, cleaned[name])
    if "active" in changed and endpoint.active:
        endpoint.disabled_reason, endpoint.failing_since = "", None
        changed += ["disabled_reason", "failing_since"]
    endpoint._history_user = actor
    endpoint.save(update_fields=[*changed, "updated_at"])
    if "active" in changed and endpoint.active:
        _send_after_commit([endpoint.pk])  # what waited for it goes now
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: Agent | None) -> None:
    endpoint._history_user = actor
    endpoint.delete()


@transaction.atomic
def webhook_ping(*, endpoint: WebhookEndpoint, actor: Agent | None) -> WebhookDelivery:
    """Queue a `webhook.test` message to the endpoint (sent even if it is disabled, so a
    fixed receiver can be checked before turning it back on)."""
    message_id, body = webhooks.ping_body(endpoint.pk)
    delivery = WebhookDelivery.objects.create(
        organization_id=endpoint.organization_id,
        endpoint=endpoint,
        event_type=webhooks.TEST_TYPE,
        message_id=message_id,
        body=body,
    )
    _send_after_commit([endpoint.pk])
    return delivery


@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery, actor: Agent | None) -> WebhookDelivery:
    """Send a message again, as a new delivery with the same `webhook-id` and body (a
    receiver that deduplicates by id sees the same message)."""
    endpoint = delivery.endpoint
    if not endpoint.active and delivery.event_type != webhooks.TEST_TYPE:
        raise Conflict("The endpoint is disabled; turn it back on (active: true) to replay.")
    replay = WebhookDelivery.objects.create(
        organization_id=delivery.organization_id,
        endpoint_id=delivery.endpoint_id,
        event_type=delivery.event_type,
        source_event_id=delivery.source_event_id,
        message_id=delivery.message_id,
        body=delivery.body,
        replay_of=delivery,
    )
    _send_after_commit([delivery.endpoint_id])
    return replay


def webhook_deliveries_replay(*, deliveries, actor: Agent | None) -> int:
    """The admin's action: replay each delivery of an active endpoint."""
    count = 0
    for delivery in deliveries:
        try:
            webhook_delivery_replay(delivery=delivery, actor=actor)
        except Conflict:
            continue
        count += 1
    return count


# --- The outbox's feed ----------------------------------------------------------------


def webhook_deliveries_feed(*, event: TicketEvent) -> int:
    """Queue `event` to every active endpoint of its organization subscribed to its type:
    one INSERT in the outbox handler's transaction (a second run adds nothing: one
    delivery per event and endpoint), sending after commit. Returns how many were new."""
    event_type = webhooks.event_type_of(event)
    if event_type is None or event.ticket_id is None:
        return 0
    automation = event.kind == webhooks.AUTOMATION_KIND
    endpoint_ids = [
        pk
        for pk, events in WebhookEndpoint.objects.filter(
            organization_id=event.organization_id, active=True
        ).values_list("pk", "events")
        if webhooks.subscribed(events or [], event_type, automation=automation)
    ]
    if not endpoint_ids:
        return 0
    ticket = Ticket.objects.select_related("customer").filter(pk=event.ticket_id).first()
    if ticket is None:
        return 0
    body = webhooks.event_body(event, event_type, ticket)
    now = timezone.now()
    created = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                organization_id=event.organization_id,
                endpoint_id=endpoint_id,
                event_type=event_type,
                source_event_id=event.pk,
                message_id=webhooks.event_message_id(event.pk),
                body=body,
                next_attempt_at=now,
                created_at=now,
            )
            for endpoint_id in endpoint_ids
        ],
        ignore_conflicts=True,
    )
    _send_after_commit(endpoint_ids)
    return len(created)


def _send_after_commit(endpoint_ids: list) -> None:
    ids = [str(pk) for pk in endpoint_ids]

    def send():
        try:
            current_app.send_task(SEND_TASK, kwargs={"endpoint_ids": ids})
        except Exception:  # broker down: the beat's due scan sends them
            logger.warning("webhook send for %d endpoint(s) not queued; beat will", len(ids))

    transaction.on_commit(send)
