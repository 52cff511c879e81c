"""Email, SMS and chat channels: input bodies and answers. The inbound secret is shown
once (creation, rotation); the Twilio auth token is write-only."""

from django.urls import reverse
from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from tickets.api.serializers import PaginationSerializer, StrictBooleanField

MAX_LIMIT = 100
INBOUND_URLS = {
    "email": "email-inbound",
    "sms": "sms-twilio-inbound",
    "chat": "chat-inbound",
}


class ChannelWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=["email", "sms", "chat"])
    name = serializers.CharField(max_length=120)
    address = serializers.EmailField(required=False, allow_blank=True, help_text="Email.")
    phone_number = serializers.CharField(
        max_length=20, required=False, allow_blank=True, help_text="SMS: E.164."
    )
    account_sid = serializers.RegexField(
        r"^AC[0-9a-fA-F]{32}$", required=False, allow_blank=True, help_text="SMS: Twilio."
    )
    auth_token = serializers.CharField(
        max_length=200, required=False, write_only=True, help_text="SMS: Twilio auth token."
    )
    base_url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, help_text="SMS: Twilio API address."
    )
    callback_url = serializers.URLField(
        max_length=2000, required=False, allow_blank=True, help_text="Chat: replies go here."
    )
    enabled = StrictBooleanField(required=False)

    def validate_address(self, value):
        return value.lower()


class ChannelSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()
    phone_number = serializers.CharField()
    account_sid = serializers.CharField()
    base_url = serializers.CharField()
    callback_url = serializers.CharField()
    enabled = serializers.BooleanField()
    has_auth_token = serializers.BooleanField()
    inbound_url = serializers.CharField(help_text="The path to point the service at.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ChannelCreatedSerializer(ChannelSerializer):
    secret = serializers.CharField(
        help_text="Email and chat: the X-Channel-Secret value, shown only here (and on "
        "rotation); empty for SMS (Twilio signs with the auth token)."
    )


class ChannelListSerializer(serializers.Serializer):
    channels = ChannelSerializer(many=True)
    pagination = PaginationSerializer()


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new X-Channel-Secret, shown only here.")


class EmptySerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    pass


def channel_data(channel) -> dict:
    return {
        "id": channel.pk,
        "kind": channel.kind,
        "name": channel.name,
        "address": channel.address,
        "phone_number": channel.phone_number,
        "account_sid": channel.account_sid,
        "base_url": channel.base_url,
        "callback_url": channel.callback_url,
        "enabled": channel.enabled,
        "has_auth_token": bool(channel.auth_token),
        "inbound_url": reverse(
            f"v1:{INBOUND_URLS[channel.kind]}", kwargs={"channel_id": str(channel.pk)}
        ),
        "created_at": channel.created_at,
        "updated_at": channel.updated_at,
    }
