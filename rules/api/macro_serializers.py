"""Macros over the API: input bodies and answers."""

from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from rules.api.automation_serializers import ActionSerializer, ActionsField
from rules.macros.render import PLACEHOLDERS
from rules.models import Macro
from tickets.api.serializers import PaginationSerializer, StrictBooleanField

PLACEHOLDER_HELP = "Placeholders: " + ", ".join("{{" + p + "}}" for p in PLACEHOLDERS) + "."


class MacroWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=120)
    body = serializers.CharField(
        max_length=20_000, required=False, allow_blank=True, help_text=PLACEHOLDER_HELP
    )
    actions = ActionsField(required=False, help_text="Automation actions, applied on send.")
    active = StrictBooleanField(required=False)


class MacroSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    body = serializers.CharField()
    actions = ActionSerializer(many=True)
    active = serializers.BooleanField()
    usage_count = serializers.IntegerField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class MacroListSerializer(serializers.Serializer):
    macros = MacroSerializer(many=True)
    pagination = PaginationSerializer()


def macro_data(macro: Macro) -> dict:
    return {
        "id": macro.pk,
        "name": macro.name,
        "body": macro.body,
        "actions": macro.actions or [],
        "active": macro.active,
        "usage_count": macro.usage_count,
        "last_used_at": macro.last_used_at,
        "created_at": macro.created_at,
        "updated_at": macro.updated_at,
    }


class ApplyMacroSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    macro_id = serializers.UUIDField()
    send = StrictBooleanField(
        required=False,
        default=False,
        help_text="false: only render the reply; true: apply the actions and send it.",
    )


class ApplyMacroAnswerSerializer(serializers.Serializer):
    rendered = serializers.CharField()
    sent = serializers.BooleanField()
    message_id = serializers.UUIDField(allow_null=True)
    actions = serializers.ListField(child=serializers.JSONField())
