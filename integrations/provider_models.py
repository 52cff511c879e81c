"""Zendesk and Gorgias connections: the account, each sync run, each webhook received
and each change pushed back to the provider.

Credentials are write-only and stored sealed (integrations/secrets.py). A sync run is
also the per-account lock: at most one `running` run per account (a partial unique
constraint), so two workers or a beat and a manual sync never import at once.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from agents.history import history_user
from agents.models import Organization


class Provider(models.TextChoices):
    ZENDESK = "zendesk", "Zendesk"
    GORGIAS = "gorgias", "Gorgias"


DEFAULT_RATE_LIMITS = {"zendesk": 400, "gorgias": 120}


class IntegrationAccount(models.Model):
    class SyncStatus(models.TextChoices):
        NEVER = "never"
        RUNNING = "running"
        OK = "ok"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="integration_accounts"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    name = models.CharField(max_length=120)
    subdomain = models.CharField(
        max_length=100, blank=True, help_text="Zendesk: the {subdomain}.zendesk.com part."
    )
    domain = models.CharField(
        max_length=100, blank=True, help_text="Gorgias: the {domain}.gorgias.com part."
    )
    base_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="Overrides the address derived from subdomain/domain (a proxy, a stand-in).",
    )
    email = models.EmailField(blank=True, help_text="Zendesk: the API user's email.")
    username = models.CharField(
        max_length=200, blank=True, help_text="Gorgias: the API user's email (username)."
    )
    # Sealed (Fernet): the Zendesk API token or the Gorgias API key, and the webhook secret.
    api_secret = models.TextField(blank=True, editable=False)
    webhook_secret = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    sync_interval_minutes = models.PositiveIntegerField(default=5)
    rate_limit_per_minute = models.PositiveIntegerField(
        default=0,
        help_text="Requests per minute this backend allows itself (0: the provider's usual "
        "plan limit: Zendesk 400, Gorgias 120). 429 answers are honoured either way.",
    )
    # Noise filters for webhooks and imports: messages from these sender addresses, and
    # tickets with these tags, are skipped.
    ignore_senders = models.JSONField(default=list, blank=True)
    ignore_tags = models.JSONField(default=list, blank=True)

    # Where the next incremental sync starts (Zendesk: the export's after_cursor;
    # Gorgias: the updated_datetime watermark), committed page by page.
    sync_cursor = models.TextField(blank=True, editable=False)
    last_sync_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_sync_status = models.CharField(
        max_length=10, choices=SyncStatus.choices, default=SyncStatus.NEVER, editable=False
    )
    last_sync_error = models.TextField(blank=True, editable=False)
    tickets_imported = models.PositiveIntegerField(default=0, editable=False)
    messages_imported = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(
        get_user=history_user,
        excluded_fields=[
            "api_secret",
            "webhook_secret",
            "sync_cursor",
            "last_sync_at",
            "last_sync_status",
            "last_sync_error",
            "tickets_imported",
            "messages_imported",
            "updated_at",
        ],
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider", "name"], name="integration_account_name_unique"
            ),
            models.CheckConstraint(
                condition=Q(provider__in=["zendesk", "gorgias"]),
                name="integration_account_provider_valid",
            ),
            models.CheckConstraint(
                condition=Q(sync_interval_minutes__gte=1), name="integration_interval_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()}: {self.name}"

    @property
    def requests_per_minute(self) -> int:
        return self.rate_limit_per_minute or DEFAULT_RATE_LIMITS[self.provider]


class SyncRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        FAILED = "failed"
        ABANDONED = "abandoned", "abandoned (the process stopped)"

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(IntegrationAccount, on_delete=models.CASCADE, related_name="runs")
    full = models.BooleanField(default=False)
    trigger = models.CharField(max_length=16, default="manual")  # manual, beat, api
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Moved on every committed page; a running run silent for long was killed.
    heartbeat_at = models.DateTimeField(default=timezone.now)
    cursor_start = models.TextField(blank=True)
    cursor_end = models.TextField(blank=True)
    pages = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    messages_created = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # The account's sync lock: one running run at a time.
            models.UniqueConstraint(
                fields=["account"], condition=Q(status="running"), name="sync_run_one_running"
            ),
        ]
        indexes = [models.Index(fields=["account", "-started_at"], name="sync_run_account_idx")]

    def __str__(self) -> str:
        return f"{self.account} sync {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class InboundEvent(models.Model):
    """A provider webhook as received: stored first (so the answer is fast and nothing is
    lost), processed by a task; `dedupe_key` makes a repeated delivery one effect."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        IGNORED = "ignored"
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        IntegrationAccount, on_delete=models.CASCADE, related_name="inbound_events"
    )
    dedupe_key = models.CharField(max_length=128)
    external_ticket_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "dedupe_key"], name="inbound_event_once_per_account"
            )
        ]
        indexes = [
            models.Index(
                fields=["received_at"], condition=Q(status="pending"), name="inbound_pending_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} webhook {self.external_ticket_id or self.dedupe_key[:12]}"


class ProviderPush(models.Model):
    """One change sent out: an agent reply (`reply`) or a status (`status`) back to the
    provider, or a reply on the ticket's email, SMS or chat channel. Retried with
    backoff until sent or out of attempts; a manager can retry a failed one. The
    message's delivery state mirrors its reply push."""

    class Kind(models.TextChoices):
        REPLY = "reply"
        STATUS = "status"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # Either a provider account (Zendesk, Gorgias) or a channel (email, SMS, chat).
    account = models.ForeignKey(
        IntegrationAccount,
        on_delete=models.CASCADE,
        related_name="pushes",
        null=True,
        blank=True,
    )
    channel = models.ForeignKey(
        "integrations.ChannelAccount",
        on_delete=models.CASCADE,
        related_name="pushes",
        null=True,
        blank=True,
    )
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        "tickets.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    event_id = models.BigIntegerField(help_text="The outbox event it was made from.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    external_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "kind"], name="provider_push_once_per_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="provider_push_due_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.account or self.channel} ({self.status})"
