"""Email, SMS and chat channels: each a way in (an inbound URL authenticated by the
channel's secret, or Twilio's signature) and, later, a way out.

The inbound `secret` (email, chat) is generated, shown once and rotatable; it and the
Twilio auth token are stored sealed (integrations/secrets.py). A `ChannelReceipt` per
inbound message, unique per channel and key (the email's Message-ID, Twilio's
MessageSid, the chat message's external_id), makes a repeated delivery one effect.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from agents.history import history_user
from agents.models import Organization


class ChannelAccount(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email"
        SMS = "sms"
        CHAT = "chat"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="channel_accounts"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=120)
    address = models.EmailField(blank=True, help_text="Email: the support address.")
    phone_number = models.CharField(
        max_length=20, blank=True, help_text="SMS: the Twilio number (E.164, +15551234567)."
    )
    account_sid = models.CharField(max_length=64, blank=True, help_text="SMS: Twilio's AC…")
    base_url = models.URLField(
        max_length=500, blank=True, help_text="SMS: overrides Twilio's API address."
    )
    callback_url = models.URLField(
        max_length=2000, blank=True, help_text="Chat: where agents' replies are POSTed."
    )
    # Sealed: the inbound secret (email, chat) and the Twilio auth token (SMS).
    secret = models.TextField(blank=True, editable=False)
    auth_token = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        get_user=history_user, excluded_fields=["secret", "auth_token", "updated_at"]
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "name"], name="channel_name_unique_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["email", "sms", "chat"]), name="channel_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"


class ChannelReceipt(models.Model):
    """One inbound message accepted on a channel (or ignored: an auto-reply, a bounce)."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="receipts")
    key = models.CharField(max_length=255)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey(
        "tickets.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=16, default="threaded")  # new, threaded, ignored
    note = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="channel_receipt_once")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.key[:40]} ({self.outcome})"
