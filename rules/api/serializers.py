from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from rules.models import Rule
from tickets.api.serializers import TicketListItemSerializer, choice


class RuleSerializer(serializers.ModelSerializer):
    """A prioritization rule (answers)."""

    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "type",
            "keywords",
            "boost_amount",
            "active",
            "conditions",
            "created_at",
            "updated_at",
        ]


class RuleWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=120)
    type = choice(Rule.Type.values)
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=100, required=False
    )
    boost_amount = serializers.FloatField(min_value=-100, max_value=100, required=False)
    active = serializers.BooleanField(required=False)
    conditions = serializers.DictField(required=False)


class RuleListSerializer(serializers.Serializer):
    rules = RuleSerializer(many=True)


class PrioritizeSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    ticket_ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=100)
    rule_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, allow_null=True, max_length=100
    )


class PrioritizedTicketSerializer(TicketListItemSerializer):
    rank = serializers.IntegerField()
    score_breakdown = serializers.DictField()


class PrioritizedSerializer(serializers.Serializer):
    tickets = PrioritizedTicketSerializer(many=True)
    rules_applied = serializers.ListField(child=serializers.UUIDField(), allow_null=True)
