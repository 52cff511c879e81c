"""Reads of teams and skills for the management API (org-scoped: a foreign id is 404)."""

from django.db.models import Prefetch, QuerySet

from agents.exceptions import NotFound
from agents.models import Agent, Skill, Team
from tickets.ids import uuid_parse


def _members():
    return Prefetch("members", queryset=Agent.objects.only("id", "name", "email").order_by("name"))


def team_list_for_organization(*, organization_id) -> QuerySet[Team]:
    """The organization's teams by name, each with its routing row and members (two
    queries whatever the number of teams)."""
    return (
        Team.objects.filter(organization_id=organization_id)
        .select_related("routing")
        .prefetch_related(_members())
        .order_by("name", "pk")
    )


def team_get_for_organization(*, organization_id, team_id) -> Team:
    team = (
        team_list_for_organization(organization_id=organization_id)
        .filter(pk=uuid_parse(team_id, field="id", what="team"))
        .first()
    )
    if team is None:
        raise NotFound(f"Team {team_id!s:.60} not found.")
    return team


def skill_list_for_organization(*, organization_id) -> QuerySet[Skill]:
    """The organization's skills by name, with the ids of the agents holding them."""
    return (
        Skill.objects.filter(organization_id=organization_id)
        .prefetch_related(Prefetch("agents", queryset=Agent.objects.only("id").order_by("pk")))
        .order_by("name", "pk")
    )


def skill_get_for_organization(*, organization_id, skill_id) -> Skill:
    skill = (
        skill_list_for_organization(organization_id=organization_id)
        .filter(pk=uuid_parse(skill_id, field="id", what="skill"))
        .first()
    )
    if skill is None:
        raise NotFound(f"Skill {skill_id!s:.60} not found.")
    return skill


__all__ = [
    "skill_get_for_organization",
    "skill_list_for_organization",
    "team_get_for_organization",
    "team_list_for_organization",
]
