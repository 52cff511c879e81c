"""Outbound webhooks in the admin: managers set up endpoints (the signing secret is shown
once, when one is added) and read, and replay, deliveries of their organization."""

from django import forms
from django.contrib import admin, messages

from agents.admin_history import ScopedHistoryAdmin
from agents.admin_scoping import OrganizationScopedAdmin, ReadOnlyAdminMixin
from agents.exceptions import DomainError
from integrations import channel_admin, provider_admin  # noqa: F401  (register their models)
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services import (
    webhook_deliveries_replay,
    webhook_endpoint_create,
    webhook_endpoint_update,
)
from integrations.ssrf import url_check
from integrations.webhooks import events_clean


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["organization", "url", "events", "active", "description"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            url_check(url)
        except DomainError as exc:
            raise forms.ValidationError(exc.detail) from None
        return url

    def clean_events(self):
        try:
            return events_clean(self.cleaned_data["events"])
        except DomainError as exc:
            raise forms.ValidationError(f"{exc.field}: {exc.detail}") from None


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "organization", "active", "events_shown", "failing_since", "created_at"]
    list_filter = ["organization", "active"]
    search_fields = ["url", "description"]
    readonly_fields = ["disabled_reason", "failing_since", "created_at", "updated_at"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="Events")
    def events_shown(self, obj):
        return ", ".join(obj.events or [])

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in ("url", "events", "active")}
        data["description"] = form.cleaned_data.get("description", "")
        if change:
            webhook_endpoint_update(endpoint=obj, data=data, actor=request.user)
            obj.refresh_from_db()
            return
        organization = obj.organization if request.user.is_superuser else request.user.organization
        endpoint = webhook_endpoint_create(organization=organization, data=data, actor=request.user)
        obj.pk, obj.secret = endpoint.pk, endpoint.secret
        obj._state.adding = False
        messages.warning(
            request,
            f"Webhook {endpoint.url} created. Copy its signing secret now; it will not be "
            f"shown again: {endpoint.secret}",
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    """Each message to each endpoint: pending (with its next attempt), succeeded, or
    failed after its last attempt. Any can be replayed (sent again as a new delivery)."""

    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "response_code",
        "next_attempt_at",
        "short_error",
    ]
    list_filter = ["status", "event_type"]
    list_select_related = ["endpoint"]
    search_fields = ["event_type", "message_id", "last_error"]
    show_full_result_count = False
    actions = ["replay"]

    @admin.display(description="Last error")
    def short_error(self, obj):
        return (obj.last_error or "")[:120]

    def has_replay_permission(self, request):
        return request.user.is_superuser or getattr(request.user, "is_manager", False)

    @admin.action(description="Replay the selected deliveries", permissions=["replay"])
    def replay(self, request, queryset):
        count = webhook_deliveries_replay(
            deliveries=queryset.select_related("endpoint"), actor=request.user
        )
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)
