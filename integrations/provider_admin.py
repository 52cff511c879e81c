"""Zendesk / Gorgias in the admin: managers connect accounts (secrets write-only, through
the same validation as the API), start a sync, read runs and received webhooks, and
send a failed push-back again."""

from django import forms
from django.contrib import admin, messages

from agents.admin_history import ScopedHistoryAdmin
from agents.admin_scoping import OrganizationScopedAdmin, ReadOnlyAdminMixin
from agents.exceptions import DomainError
from integrations.models import InboundEvent, IntegrationAccount, ProviderPush, SyncRun
from integrations.providers.accounts import account_check, account_create, account_update
from integrations.providers.push import push_retry
from integrations.providers.scheduling import sync_queue
from integrations.providers.sync import SyncBusy

WRITABLE = [
    "provider",
    "name",
    "subdomain",
    "domain",
    "base_url",
    "email",
    "username",
    "enabled",
    "sync_interval_minutes",
    "rate_limit_per_minute",
    "ignore_senders",
    "ignore_tags",
]


class IntegrationAccountForm(forms.ModelForm):
    base_url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="Overrides the address derived from subdomain/domain (a proxy, a stand-in).",
    )
    api_secret_input = forms.CharField(
        label="API token / key",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Zendesk API token or Gorgias API key. Leave empty to keep the stored one.",
    )
    webhook_secret_input = forms.CharField(
        label="Webhook secret",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Zendesk: the webhook's signing secret. Gorgias: the X-Webhook-Secret value. "
        "Leave empty to keep the stored one.",
    )

    class Meta:
        model = IntegrationAccount
        fields = ["organization", *WRITABLE]

    def data_for_service(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in WRITABLE if name in self.cleaned_data}
        data["ignore_senders"] = data.get("ignore_senders") or []
        data["ignore_tags"] = data.get("ignore_tags") or []
        for name in ("subdomain", "domain", "base_url", "email", "username"):
            data[name] = data.get(name) or ""
        secret = self.cleaned_data.get("api_secret_input")
        if secret:
            data["api_token" if data.get("provider") == "zendesk" else "api_key"] = secret
        if self.cleaned_data.get("webhook_secret_input"):
            data["webhook_secret"] = self.cleaned_data["webhook_secret_input"]
        return data

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        data = self.data_for_service()
        current = None
        if not self.instance._state.adding:
            current = IntegrationAccount.objects.get(pk=self.instance.pk)
            data.pop("provider", None)
        try:
            account_check(account=current, data=data)
        except DomainError as exc:
            field = exc.field if exc.field in self.fields else None
            if exc.field in ("api_token", "api_key"):
                field = "api_secret_input"
            raise forms.ValidationError({field: exc.detail} if field else exc.detail) from None
        return cleaned


@admin.register(IntegrationAccount)
class IntegrationAccountAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    form = IntegrationAccountForm
    list_display = [
        "name",
        "provider",
        "organization",
        "enabled",
        "last_sync_status",
        "last_sync_at",
        "tickets_imported",
        "messages_imported",
    ]
    list_filter = ["provider", "enabled", "last_sync_status"]
    search_fields = ["name", "subdomain", "domain"]
    readonly_fields = [
        "sync_cursor",
        "last_sync_at",
        "last_sync_status",
        "last_sync_error",
        "tickets_imported",
        "messages_imported",
        "created_at",
        "updated_at",
    ]
    actions = ["sync_now"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "base_url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "provider"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        data = form.data_for_service()
        if change:
            data.pop("provider", None)
            account = IntegrationAccount.objects.get(pk=obj.pk)
            account_update(account=account, data=data, actor=request.user)
            return
        organization = obj.organization if request.user.is_superuser else request.user.organization
        account = account_create(organization=organization, data=data, actor=request.user)
        obj.pk = account.pk
        obj._state.adding = False

    @admin.action(description="Sync the selected accounts now")
    def sync_now(self, request, queryset):
        started = 0
        for account in queryset:
            try:
                sync_queue(account, full=False, trigger="manual")
                started += 1
            except SyncBusy as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"{started} sync(s) queued.", messages.SUCCESS)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = [
        "started_at",
        "account",
        "full",
        "trigger",
        "status",
        "pages",
        "created",
        "updated",
        "skipped",
        "failed",
        "messages_created",
        "finished_at",
    ]
    list_filter = ["status", "full", "trigger"]
    list_select_related = ["account"]
    show_full_result_count = False


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = [
        "received_at",
        "account",
        "external_ticket_id",
        "status",
        "attempts",
        "processed_at",
    ]
    list_filter = ["status"]
    list_select_related = ["account"]
    search_fields = ["external_ticket_id"]
    show_full_result_count = False


@admin.register(ProviderPush)
class ProviderPushAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    """Replies and status changes sent back to Zendesk / Gorgias, with their state."""

    list_display = [
        "created_at",
        "account",
        "kind",
        "ticket",
        "status",
        "attempts",
        "next_attempt_at",
        "short_error",
        "external_id",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["account", "ticket"]
    show_full_result_count = False
    actions = ["retry"]

    @admin.display(description="Last error")
    def short_error(self, obj):
        return (obj.last_error or "")[:120]

    def has_retry_permission(self, request):
        return request.user.is_superuser or getattr(request.user, "is_manager", False)

    @admin.action(description="Send the selected pushes again", permissions=["retry"])
    def retry(self, request, queryset):
        count = 0
        for push in queryset.exclude(status=ProviderPush.Status.SENT):
            push_retry(push)
            count += 1
        self.message_user(request, f"{count} push(es) queued again.", messages.SUCCESS)
