"""Email, SMS and chat channels in the admin: managers add them (the inbound secret is
shown once, on the next page), change them through the same validation as the API,
and read every message received (or ignored, with why)."""

from django import forms
from django.contrib import admin, messages

from agents.admin_history import ScopedHistoryAdmin
from agents.admin_scoping import OrganizationScopedAdmin, ReadOnlyAdminMixin
from agents.exceptions import DomainError
from integrations.channels.accounts import channel_check, channel_create, channel_update
from integrations.models import ChannelAccount, ChannelReceipt

WRITABLE = [
    "kind",
    "name",
    "address",
    "phone_number",
    "account_sid",
    "base_url",
    "callback_url",
    "enabled",
]


class ChannelAccountForm(forms.ModelForm):
    base_url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    callback_url = forms.URLField(max_length=2000, required=False, assume_scheme="https")
    auth_token_input = forms.CharField(
        label="Twilio auth token",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="SMS only. Leave empty to keep the stored one.",
    )

    class Meta:
        model = ChannelAccount
        fields = ["organization", *WRITABLE]

    def data_for_service(self) -> dict:
        data = {n: self.cleaned_data.get(n) for n in WRITABLE if n in self.cleaned_data}
        for name in ("address", "phone_number", "account_sid", "base_url", "callback_url"):
            data[name] = data.get(name) or ""
        if self.cleaned_data.get("auth_token_input"):
            data["auth_token"] = self.cleaned_data["auth_token_input"]
        return data

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        data = self.data_for_service()
        current = None
        if not self.instance._state.adding:
            current = ChannelAccount.objects.get(pk=self.instance.pk)
            data.pop("kind", None)
        try:
            channel_check(channel=current, data=data)
        except DomainError as exc:
            field = "auth_token_input" if exc.field == "auth_token" else exc.field
            field = field if field in self.fields else None
            raise forms.ValidationError({field: exc.detail} if field else exc.detail) from None
        return cleaned


@admin.register(ChannelAccount)
class ChannelAccountAdmin(OrganizationScopedAdmin, ScopedHistoryAdmin):
    form = ChannelAccountForm
    list_display = ["name", "kind", "organization", "address", "phone_number", "enabled"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "address", "phone_number"]
    readonly_fields = ["created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "kind"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        data = form.data_for_service()
        if change:
            data.pop("kind", None)
            channel_update(
                channel=ChannelAccount.objects.get(pk=obj.pk), data=data, actor=request.user
            )
            return
        organization = obj.organization if request.user.is_superuser else request.user.organization
        channel, secret = channel_create(organization=organization, data=data, actor=request.user)
        obj.pk = channel.pk
        obj._state.adding = False
        if secret:
            messages.warning(
                request,
                f"Channel {channel.name} created. Copy its inbound secret (X-Channel-Secret) "
                f"now; it will not be shown again: {secret}",
            )


@admin.register(ChannelReceipt)
class ChannelReceiptAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ["received_at", "channel", "outcome", "key", "ticket", "note"]
    list_filter = ["outcome"]
    list_select_related = ["channel", "ticket"]
    search_fields = ["key"]
    show_full_result_count = False
