"""Zendesk / Gorgias accounts and their sync runs: input bodies and answers. Secrets
are write-only: an answer says whether one is set, never what it is."""

from django.urls import reverse
from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from tickets.api.serializers import PaginationSerializer, StrictBooleanField

MAX_LIMIT = 100


class IntegrationAccountWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    provider = serializers.ChoiceField(choices=["zendesk", "gorgias"])
    name = serializers.CharField(max_length=120)
    subdomain = serializers.RegexField(
        r"^[A-Za-z0-9-]{1,63}$",
        required=False,
        allow_blank=True,
        help_text="Zendesk: {subdomain}.zendesk.com.",
    )
    domain = serializers.RegexField(
        r"^[A-Za-z0-9-]{1,63}$",
        required=False,
        allow_blank=True,
        help_text="Gorgias: {domain}.gorgias.com.",
    )
    base_url = serializers.URLField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="Overrides the provider address (a proxy or a stand-in).",
    )
    email = serializers.EmailField(required=False, allow_blank=True, help_text="Zendesk API user.")
    username = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Gorgias API user (email)."
    )
    api_token = serializers.CharField(
        max_length=500, required=False, write_only=True, help_text="Zendesk API token."
    )
    api_key = serializers.CharField(
        max_length=500, required=False, write_only=True, help_text="Gorgias API key."
    )
    webhook_secret = serializers.CharField(
        max_length=500,
        required=False,
        write_only=True,
        help_text="Zendesk: the webhook's signing secret. Gorgias: the value the HTTP "
        "integration sends in X-Webhook-Secret.",
    )
    enabled = StrictBooleanField(required=False)
    sync_interval_minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False)
    rate_limit_per_minute = serializers.IntegerField(min_value=0, max_value=100_000, required=False)
    ignore_senders = serializers.ListField(
        child=serializers.EmailField(), max_length=200, required=False
    )
    ignore_tags = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=200, required=False
    )

    def validate_ignore_senders(self, value):
        return sorted({v.lower() for v in value})

    def validate_ignore_tags(self, value):
        return sorted({v.strip().lower() for v in value if v.strip()})


class IntegrationAccountSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    provider = serializers.CharField()
    name = serializers.CharField()
    subdomain = serializers.CharField()
    domain = serializers.CharField()
    base_url = serializers.CharField()
    email = serializers.CharField()
    username = serializers.CharField()
    has_api_secret = serializers.BooleanField()
    has_webhook_secret = serializers.BooleanField()
    webhook_url = serializers.CharField(help_text="Where the provider's webhooks go (path).")
    enabled = serializers.BooleanField()
    sync_interval_minutes = serializers.IntegerField()
    rate_limit_per_minute = serializers.IntegerField()
    ignore_senders = serializers.ListField(child=serializers.CharField())
    ignore_tags = serializers.ListField(child=serializers.CharField())
    sync_cursor = serializers.CharField(help_text="Where the next incremental sync starts.")
    last_sync_at = serializers.DateTimeField(allow_null=True)
    last_sync_status = serializers.CharField(help_text="never, running, ok or failed.")
    last_sync_error = serializers.CharField()
    tickets_imported = serializers.IntegerField()
    messages_imported = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class IntegrationAccountListSerializer(serializers.Serializer):
    accounts = IntegrationAccountSerializer(many=True)
    pagination = PaginationSerializer()


class SyncRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full = serializers.BooleanField()
    trigger = serializers.CharField(help_text="manual, api or beat.")
    status = serializers.CharField(help_text="running, ok, failed or abandoned.")
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    pages = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    messages_created = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField())


class SyncRunListSerializer(serializers.Serializer):
    runs = SyncRunSerializer(many=True)
    pagination = PaginationSerializer()


class SyncRequestSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    full = StrictBooleanField(
        required=False, default=False, help_text="Walk everything again instead of from the cursor."
    )


def account_data(account) -> dict:
    return {
        "id": account.pk,
        "provider": account.provider,
        "name": account.name,
        "subdomain": account.subdomain,
        "domain": account.domain,
        "base_url": account.base_url,
        "email": account.email,
        "username": account.username,
        "has_api_secret": bool(account.api_secret),
        "has_webhook_secret": bool(account.webhook_secret),
        "webhook_url": reverse(
            f"v1:{account.provider}-webhook", kwargs={"account_id": str(account.pk)}
        ),
        "enabled": account.enabled,
        "sync_interval_minutes": account.sync_interval_minutes,
        "rate_limit_per_minute": account.rate_limit_per_minute,
        "ignore_senders": account.ignore_senders,
        "ignore_tags": account.ignore_tags,
        "sync_cursor": account.sync_cursor,
        "last_sync_at": account.last_sync_at,
        "last_sync_status": account.last_sync_status,
        "last_sync_error": account.last_sync_error,
        "tickets_imported": account.tickets_imported,
        "messages_imported": account.messages_imported,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


def run_data(run) -> dict:
    return {
        "id": run.pk,
        "full": run.full,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "pages": run.pages,
        "created": run.created,
        "updated": run.updated,
        "skipped": run.skipped,
        "failed": run.failed,
        "messages_created": run.messages_created,
        "errors": [str(e) for e in run.errors],
    }
