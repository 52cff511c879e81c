"""Outbound webhooks: the endpoints an organization subscribes, and each message sent.

An endpoint receives the events named in `events` (integrations/webhooks.py lists them),
signed with its own secret (Standard Webhooks). A delivery is one message to one
endpoint: its exact body (what is signed), its state, its attempts and, while pending,
when the next attempt is due (retries live in the database, so a worker restart loses
none).
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from agents.history import history_user
from agents.models import Organization


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000, help_text="http(s) URL that receives the POSTs.")
    events = models.JSONField(
        default=list,
        help_text='Event types sent here, e.g. ["ticket.created", "sla.breached"]; '
        '"automation.*" for every send_webhook_event action.',
    )
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=500, blank=True)
    # Needed to sign every message, so kept as is; shown once, when the endpoint is made.
    secret = models.CharField(max_length=100, editable=False)
    disabled_reason = models.CharField(max_length=500, blank=True, editable=False)
    # First failure since the last success: after WEBHOOK_DISABLE_AFTER_SECONDS the
    # endpoint is deactivated.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(
        get_user=history_user, excluded_fields=["secret", "failing_since", "updated_at"]
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["organization", "created_at"], name="webhook_endpoint_org")]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=100)
    # The TicketEvent it carries (not a foreign key: a delivery outlives a deleted ticket).
    source_event_id = models.BigIntegerField(null=True, blank=True)
    # `webhook-id`: the same for every attempt and replay of one message.
    message_id = models.CharField(max_length=64)
    body = models.TextField(help_text="The exact JSON body sent (what is signed).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    replay_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # The outbox may run its handler twice: one message per event and endpoint.
            models.UniqueConstraint(
                fields=["endpoint", "source_event_id"],
                condition=Q(source_event_id__isnull=False, replay_of__isnull=True),
                name="webhook_delivery_once_per_event",
            )
        ]
        indexes = [
            # The sender's "what is due" (pending rows only: a small part of the table).
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_list"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.endpoint_id} ({self.status})"


from integrations.channel_models import ChannelAccount, ChannelReceipt  # noqa: E402,F401
from integrations.provider_models import (  # noqa: E402,F401 - the provider connectors
    InboundEvent,
    IntegrationAccount,
    Provider,
    ProviderPush,
    SyncRun,
)
