from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from agents.models import Agent


class AgentSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    teams = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    skills = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Agent
        fields = [
            "id",
            "email",
            "name",
            "organization",
            "role",
            "availability",
            "capacity",
            "teams",
            "skills",
        ]


class CallerSerializer(serializers.Serializer):
    """Who the API sees: an agent, or an organization API key."""

    kind = serializers.ChoiceField(choices=["agent", "api_key"])
    organization = serializers.CharField()
    role = serializers.CharField()
    agent = AgentSerializer(allow_null=True)
    api_key = serializers.CharField(allow_null=True)


class TokenCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, max_length=256)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class AgentAvailabilitySerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    availability = serializers.ChoiceField(
        choices=["available", "away", "offline"],
        error_messages={
            "invalid_choice": '"{input}" is not valid; allowed values: available, away, offline.'
        },
    )


class AgentListSerializer(serializers.Serializer):
    agents = AgentSerializer(many=True)
