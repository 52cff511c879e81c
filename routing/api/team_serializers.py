"""Teams (with their routing settings) and skills: input bodies, and the answers."""

from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from agents.models import Skill, Team
from routing.models import AwayPolicy, Strategy
from tickets.api.serializers import PaginationSerializer, StrictBooleanField, choice
from tickets.models import Channel

MAX_LIMIT = 200


def _ids(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.UUIDField(), max_length=500, **kwargs)


# --- Teams ----------------------------------------------------------------------------


class TeamWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    routing_strategy = choice(Strategy.values, required=False)
    calendar_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="A business calendar of the organization: the team's working hours; "
        "null means always.",
    )
    on_agent_away = choice(AwayPolicy.values, required=False)
    is_default = StrictBooleanField(
        required=False,
        help_text="New tickets naming no team go to this team; setting it clears the "
        "previous default team.",
    )
    member_ids = _ids(required=False, help_text="The team's agents (replaces them).")


class TeamMemberSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class TeamSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    routing_strategy = serializers.ChoiceField(choices=Strategy.values)
    calendar_id = serializers.UUIDField(allow_null=True)
    on_agent_away = serializers.ChoiceField(choices=AwayPolicy.values)
    is_default = serializers.BooleanField()
    member_ids = serializers.ListField(child=serializers.UUIDField())
    member_count = serializers.IntegerField()
    members = TeamMemberSerializer(many=True)


class TeamListSerializer(serializers.Serializer):
    teams = TeamSerializer(many=True)
    pagination = PaginationSerializer()


def team_data(team: Team) -> dict:
    """The answer for a team read with team_list_for_organization (no further query)."""
    try:
        routing = team.routing
    except Team.routing.RelatedObjectDoesNotExist:
        routing = None
    members = list(team.members.all())
    return {
        "id": team.pk,
        "name": team.name,
        "description": team.description,
        "routing_strategy": routing.strategy if routing else Strategy.MANUAL.value,
        "calendar_id": routing.calendar_id if routing else None,
        "on_agent_away": routing.on_agent_away if routing else AwayPolicy.KEEP.value,
        "is_default": routing.is_default if routing else False,
        "member_ids": [m.pk for m in members],
        "member_count": len(members),
        "members": [{"id": m.pk, "name": m.name or m.email} for m in members],
    }


# --- Skills ---------------------------------------------------------------------------


class SkillWriteSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=64),
        max_length=100,
        required=False,
        default=list,
        help_text="Ticket tags that require the skill (trimmed, lower-cased).",
    )
    channels = serializers.ListField(
        child=serializers.CharField(max_length=16),
        max_length=20,
        required=False,
        default=list,
        help_text=f"Ticket channels that require the skill: {', '.join(Channel.values)}.",
    )
    agent_ids = _ids(required=False, help_text="The agents holding the skill (replaces them).")


class SkillSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    channels = serializers.ListField(child=serializers.CharField())
    agent_ids = serializers.ListField(child=serializers.UUIDField())


class SkillListSerializer(serializers.Serializer):
    skills = SkillSerializer(many=True)
    pagination = PaginationSerializer()


def skill_data(skill: Skill) -> dict:
    """The answer for a skill read with skill_list_for_organization (no further query)."""
    return {
        "id": skill.pk,
        "name": skill.name,
        "description": skill.description,
        "tags": list(skill.tags or []),
        "channels": list(skill.channels or []),
        "agent_ids": [a.pk for a in skill.agents.all()],
    }
