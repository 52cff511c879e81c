"""Automation rules over the API: input bodies and answers. The deep shape of
`conditions` and `actions` is checked by rules.automation.schema (errors name the
path, e.g. conditions.all[0].operator); these serializers check the envelope."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from rules.models import AutomationRule, RuleRun
from tickets.api.serializers import PaginationSerializer, StrictBooleanField, choice

MAX_LIMIT = 200


class ConditionSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="e.g. subject, priority, customer.tier, tags.")
    operator = serializers.CharField(help_text="is, is_not, contains, in, gt, is_set, ...")
    value = serializers.JSONField(required=False, help_text="Its type follows the field.")


class ConditionsSerializer(serializers.Serializer):
    all = ConditionSerializer(many=True, required=False, help_text="Every one must hold.")
    any = ConditionSerializer(
        many=True, required=False, help_text="When not empty, one of them must hold."
    )


class ActionSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="set_priority, add_tags, assign_team, ...")
    value = serializers.JSONField(required=False)


@extend_schema_field(ConditionsSerializer)
class ConditionsField(serializers.JSONField):
    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError('Expected an object: {"all": [...], "any": [...]}.')
        return super().to_internal_value(data)


@extend_schema_field(ActionSerializer(many=True))
class ActionsField(serializers.JSONField):
    def to_internal_value(self, data):
        if not isinstance(data, list):
            raise serializers.ValidationError('Expected a list: [{"type": ..., "value": ...}].')
        return super().to_internal_value(data)


class AutomationWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    active = StrictBooleanField(required=False)
    position = serializers.IntegerField(
        required=False,
        min_value=-1_000_000,
        max_value=1_000_000,
        help_text="Lower runs first; default: after the last rule.",
    )
    stop_processing = StrictBooleanField(required=False)
    trigger = choice(AutomationRule.Trigger.values)
    conditions = ConditionsField(required=False)
    actions = ActionsField()


class AutomationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    active = serializers.BooleanField()
    position = serializers.IntegerField()
    stop_processing = serializers.BooleanField()
    trigger = serializers.ChoiceField(choices=AutomationRule.Trigger.values)
    conditions = ConditionsSerializer()
    actions = ActionSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AutomationListSerializer(serializers.Serializer):
    automations = AutomationSerializer(many=True)
    pagination = PaginationSerializer()


def automation_data(rule: AutomationRule) -> dict:
    return {
        "id": rule.pk,
        "name": rule.name,
        "description": rule.description,
        "active": rule.active,
        "position": rule.position,
        "stop_processing": rule.stop_processing,
        "trigger": rule.trigger,
        "conditions": rule.conditions or {"all": [], "any": []},
        "actions": rule.actions or [],
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
    }


class ListParamsSerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, max_value=1_000_000, default=1)
    limit = serializers.IntegerField(min_value=1, default=50)


class AutomationFilterSerializer(ListParamsSerializer):
    trigger = choice(AutomationRule.Trigger.values, required=False)
    # A query string: true/false (and 1/0); anything else is a 400 naming it.
    active = serializers.BooleanField(required=False)


class RunFilterSerializer(ListParamsSerializer):
    outcome = choice(RuleRun.Outcome.values, required=False)


class RunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    rule_id = serializers.UUIDField()
    ticket_id = serializers.UUIDField()
    trigger = serializers.CharField()
    event_id = serializers.IntegerField(allow_null=True)
    period_key = serializers.CharField()
    depth = serializers.IntegerField()
    actions = serializers.ListField(child=serializers.JSONField())
    outcome = serializers.ChoiceField(choices=RuleRun.Outcome.values)
    error = serializers.CharField()
    created_at = serializers.DateTimeField()


class RunListSerializer(serializers.Serializer):
    runs = RunSerializer(many=True)
    pagination = PaginationSerializer()


def run_data(run: RuleRun) -> dict:
    return {
        "id": run.pk,
        "rule_id": run.rule_id,
        "ticket_id": run.ticket_id,
        "trigger": run.trigger,
        "event_id": run.event_id,
        "period_key": run.period_key,
        "depth": run.depth,
        "actions": run.actions or [],
        "outcome": run.outcome,
        "error": run.error,
        "created_at": run.created_at,
    }


class DryRunParamsSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=200, required=False, default=50)


class ReplaySerializer(AutomationWriteSerializer):
    name = serializers.CharField(max_length=120, required=False, default="(unsaved rule)")
    since = serializers.DateTimeField(help_text="Replay the events from this moment.")
    until = serializers.DateTimeField(required=False, help_text="Up to this moment (now).")


class PlannedTicketSerializer(serializers.Serializer):
    ticket_id = serializers.UUIDField()
    subject = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.CharField()
    actions = serializers.ListField(child=serializers.JSONField())


class DryRunSerializer(serializers.Serializer):
    rule_id = serializers.UUIDField(allow_null=True)
    trigger = serializers.CharField()
    evaluated_at = serializers.DateTimeField()
    matching_tickets = serializers.IntegerField()
    tickets = PlannedTicketSerializer(many=True)
    truncated = serializers.BooleanField()


class ReplayHitSerializer(PlannedTicketSerializer):
    event_id = serializers.IntegerField()
    event = serializers.CharField()
    at = serializers.DateTimeField()


class ReplayAnswerSerializer(serializers.Serializer):
    trigger = serializers.CharField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    events_scanned = serializers.IntegerField()
    truncated = serializers.BooleanField()
    hits = ReplayHitSerializer(many=True)
    basis = serializers.CharField(required=False)
