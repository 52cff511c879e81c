from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from tickets.models import Assignment


class AssignSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    agent_id = serializers.UUIDField(required=False, allow_null=True)
    team_id = serializers.UUIDField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    override_capacity = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if not attrs.get("agent_id") and not attrs.get("team_id"):
            raise serializers.ValidationError(
                {"agent_id": ["Name the agent_id or the team_id to assign the ticket to."]}
            )
        return attrs


class RouteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """No fields: the ticket's team and its strategy decide."""


class NamedRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class AssignmentSerializer(serializers.ModelSerializer):
    from_agent = serializers.SerializerMethodField()
    to_agent = serializers.SerializerMethodField()
    from_team = serializers.SerializerMethodField()
    to_team = serializers.SerializerMethodField()
    by = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = [
            "id",
            "kind",
            "from_agent",
            "to_agent",
            "from_team",
            "to_team",
            "by",
            "reason",
            "capacity_overridden",
            "explanation",
            "created_at",
        ]

    @staticmethod
    def _ref(obj) -> dict | None:
        return {"id": str(obj.pk), "name": str(obj)} if obj is not None else None

    def get_from_agent(self, obj) -> NamedRefSerializer(allow_null=True):
        return self._ref(obj.from_agent)

    def get_to_agent(self, obj) -> NamedRefSerializer(allow_null=True):
        return self._ref(obj.to_agent)

    def get_from_team(self, obj) -> NamedRefSerializer(allow_null=True):
        return self._ref(obj.from_team)

    def get_to_team(self, obj) -> NamedRefSerializer(allow_null=True):
        return self._ref(obj.to_team)

    def get_by(self, obj) -> NamedRefSerializer(allow_null=True):
        return self._ref(obj.by)


class AssignmentListSerializer(serializers.Serializer):
    assignments = AssignmentSerializer(many=True)
    count = serializers.IntegerField()


class RoutingAnswerSerializer(serializers.Serializer):
    ticket_id = serializers.UUIDField()
    outcome = serializers.ChoiceField(choices=["assigned", "queued"])
    assignee = NamedRefSerializer(allow_null=True)
    team = NamedRefSerializer(allow_null=True)
    explanation = serializers.DictField(
        help_text="Why this agent: strategy, team, trigger, whether inside working hours, "
        "required skills, each candidate (open tickets, capacity, eligible, or skipped: "
        "away, offline, outside_hours, at_capacity, missing_skill, excluded, with a detail)"
        ", the chosen agent and the reason."
    )
    assignment = AssignmentSerializer(allow_null=True)
