from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from agents.models import Agent
from agents.roles import ROLE_CHOICES


class AgentSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    teams = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    skills = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    team_ids = serializers.PrimaryKeyRelatedField(source="teams", many=True, read_only=True)
    skill_ids = serializers.PrimaryKeyRelatedField(source="skills", many=True, read_only=True)

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
            "team_ids",
            "skill_ids",
            "is_active",
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
        choices=Agent.Availability.choices,
        error_messages={
            "invalid_choice": '"{input}" is not valid; allowed values: available, away, offline.'
        },
    )


class AgentListSerializer(serializers.Serializer):
    agents = AgentSerializer(many=True)


def _role_field(**kwargs) -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=ROLE_CHOICES,
        error_messages={
            "invalid_choice": '"{input}" is not valid; allowed values: agent, manager, admin.'
        },
        **kwargs,
    )


def _id_list(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.UUIDField(), max_length=500, **kwargs)


class AgentListParamsSerializer(serializers.Serializer):
    include_inactive = serializers.BooleanField(
        default=False, help_text="Managers: also list deactivated agents."
    )


class AgentInviteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    role = _role_field(default="agent")
    capacity = serializers.IntegerField(min_value=0, max_value=500, default=10)
    skill_ids = _id_list(required=False, default=list)
    team_ids = _id_list(required=False, default=list)


class AgentInvitedSerializer(AgentSerializer):
    temporary_password = serializers.CharField(
        help_text="Shown once: hand it to the agent, who should change it."
    )

    class Meta(AgentSerializer.Meta):
        fields = [*AgentSerializer.Meta.fields, "temporary_password"]


class AgentUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    role = _role_field(required=False)
    capacity = serializers.IntegerField(min_value=0, max_value=500, required=False)
    availability = serializers.ChoiceField(
        choices=Agent.Availability.choices,
        required=False,
        error_messages={
            "invalid_choice": '"{input}" is not valid; allowed values: available, away, offline.'
        },
    )
    skill_ids = _id_list(required=False)
    team_ids = _id_list(required=False)
    is_active = serializers.BooleanField(required=False)

    def validate_is_active(self, value):
        if not isinstance(self.initial_data.get("is_active"), bool):
            raise serializers.ValidationError("Must be true or false.")
        return value
