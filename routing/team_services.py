"""Writes of teams (with their routing settings) and skills, whoever calls: API, admin.

A team's routing lives in its TeamRouting row (strategy, working-hours calendar, what
happens to an away agent's tickets, whether it is the organization's default team); a
team without one routes manually, keeps tickets and works around the clock.
"""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.exceptions import Conflict, DomainError
from agents.models import Agent, Organization, Skill, Team
from routing.models import AwayPolicy, Strategy, TeamRouting
from sla.models import BusinessCalendar
from tickets.models import Channel

_UNSET = object()
ROUTING_FIELDS = ("strategy", "calendar_id", "on_agent_away", "is_default")


def _agents_of(organization_id, ids: Iterable, *, field: str) -> list[Agent]:
    wanted = list(dict.fromkeys(ids))
    agents = list(Agent.objects.filter(organization_id=organization_id, pk__in=wanted))
    found = {a.pk for a in agents}
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise DomainError(f"No agent {', '.join(missing[:5])} in this organization.", field=field)
    return agents


def _calendar_check(organization_id, calendar_id) -> None:
    if calendar_id is None:
        return
    if not BusinessCalendar.objects.filter(
        organization_id=organization_id, pk=calendar_id
    ).exists():
        raise DomainError(
            f"No business calendar {calendar_id} in this organization.", field="calendar_id"
        )


def _name_check(model, organization_id, name: str, *, exclude_pk=None, what: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(f"A {what} needs a name.", field="name")
    same = model.objects.filter(organization_id=organization_id, name__iexact=name)
    if exclude_pk is not None:
        same = same.exclude(pk=exclude_pk)
    if same.exists():
        raise Conflict(f"A {what} named {name!r} already exists.", field="name")
    return name


def _save_unique(obj, *, what: str, **kwargs) -> None:
    try:
        with transaction.atomic():
            obj.save(**kwargs)
    except IntegrityError:
        raise Conflict(f"A {what} named {obj.name!r} already exists.", field="name") from None


# --- Team routing ---------------------------------------------------------------------


@transaction.atomic
def team_routing_set(
    *,
    team: Team,
    actor: Agent | None,
    strategy: str | object = _UNSET,
    calendar_id: object = _UNSET,
    on_agent_away: str | object = _UNSET,
    is_default: bool | object = _UNSET,
) -> TeamRouting:
    """Change `team`'s routing settings (creating its row); arguments left out change
    nothing. Making a team the default clears the organization's previous default."""
    if strategy is not _UNSET and strategy not in Strategy.values:
        raise DomainError(
            f"Unknown routing strategy {strategy!r}; allowed values: {', '.join(Strategy.values)}.",
            field="routing_strategy",
        )
    if on_agent_away is not _UNSET and on_agent_away not in AwayPolicy.values:
        raise DomainError(
            f"Unknown on_agent_away {on_agent_away!r}; allowed values: "
            f"{', '.join(AwayPolicy.values)}.",
            field="on_agent_away",
        )
    if calendar_id is not _UNSET:
        _calendar_check(team.organization_id, calendar_id)
    routing = TeamRouting.objects.select_for_update().filter(team=team).first()
    if routing is None:
        routing = TeamRouting(team=team, organization_id=team.organization_id)
    given = {
        "strategy": strategy,
        "calendar_id": calendar_id,
        "on_agent_away": on_agent_away,
        "is_default": is_default,
    }
    changed = [
        name
        for name, value in given.items()
        if value is not _UNSET and getattr(routing, name) != value
    ]
    if not routing._state.adding and not changed:
        return routing
    if is_default is True and "is_default" in changed:
        previous = TeamRouting.objects.select_for_update().filter(
            organization_id=team.organization_id, is_default=True
        )
        for row in previous.exclude(team=team).order_by("pk"):
            row.is_default = False
            row.updated_at = timezone.now()
            row._history_user = actor
            row._change_reason = f"default team is now {team.name}"
            row.save(update_fields=["is_default", "updated_at"])
    for name in changed:
        setattr(routing, name, given[name])
    routing.organization_id = team.organization_id
    routing.updated_at = timezone.now()
    routing._history_user = actor
    routing._change_reason = "routing: " + (", ".join(changed) or "created")
    try:
        with transaction.atomic():
            routing.save()
    except IntegrityError:
        raise Conflict(
            "Another team became the default at the same time; retry.", field="is_default"
        ) from None
    return routing


# --- Teams ----------------------------------------------------------------------------


def _routing_kwargs(data: dict) -> dict:
    out = {}
    if "routing_strategy" in data:
        out["strategy"] = data["routing_strategy"]
    for name in ("calendar_id", "on_agent_away", "is_default"):
        if name in data:
            out[name] = data[name]
    return out


@transaction.atomic
def team_create(*, organization: Organization, data: dict, actor: Agent | None) -> Team:
    """A team with its routing row: `data` holds name, description, routing_strategy,
    calendar_id, on_agent_away, is_default and member_ids (all but name optional)."""
    name = _name_check(Team, organization.pk, data.get("name", ""), what="team")
    members = _agents_of(organization.pk, data.get("member_ids") or [], field="member_ids")
    routing = _routing_kwargs(data)
    team = Team(organization=organization, name=name, description=data.get("description", ""))
    _save_unique(team, what="team")
    team.members.set(members)
    team_routing_set(team=team, actor=actor, **routing)
    return team


@transaction.atomic
def team_update(*, team: Team, data: dict, actor: Agent | None) -> Team:
    """Change the keys of `data` (as team_create's); member_ids replaces the members."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    fields = []
    if "name" in data:
        name = _name_check(
            Team, team.organization_id, data["name"], exclude_pk=team.pk, what="team"
        )
        if name != team.name:
            team.name = name
            fields.append("name")
    if "description" in data and data["description"] != team.description:
        team.description = data["description"]
        fields.append("description")
    members = None
    if "member_ids" in data:
        members = _agents_of(team.organization_id, data["member_ids"] or [], field="member_ids")
    routing = _routing_kwargs(data)
    if fields:
        _save_unique(team, what="team", update_fields=fields)
    if members is not None:
        team.members.set(members)
    team_routing_set(team=team, actor=actor, **routing)
    return team


@transaction.atomic
def team_delete(*, team: Team, actor: Agent | None) -> None:
    """Delete the team: its tickets keep their assignee and lose the team; its routing
    row goes with it."""
    Team.objects.filter(pk=team.pk).delete()


# --- Skills ---------------------------------------------------------------------------


def skill_tags_clean(tags: Iterable) -> list[str]:
    """Tag names as tickets carry them: trimmed, lower-cased, unique, in order."""
    out: list[str] = []
    for tag in tags or []:
        if not isinstance(tag, str):
            raise DomainError("tags is a list of tag names.", field="tags")
        name = tag.strip().lower()
        if not name:
            raise DomainError("A tag name must not be empty.", field="tags")
        if len(name) > 64:
            raise DomainError(f"Tag {name[:20]!r}… is longer than 64 characters.", field="tags")
        if name not in out:
            out.append(name)
    return out


def skill_channels_clean(channels: Iterable) -> list[str]:
    """Ticket channels, checked against tickets.Channel, unique, in order."""
    out: list[str] = []
    for channel in channels or []:
        if channel not in Channel.values:
            raise DomainError(
                f"Unknown channel {channel!r}; allowed values: {', '.join(Channel.values)}.",
                field="channels",
            )
        if channel not in out:
            out.append(channel)
    return out


@transaction.atomic
def skill_create(*, organization: Organization, data: dict, actor: Agent | None) -> Skill:
    """A skill: `data` holds name, description, tags, channels and agent_ids."""
    skill = Skill(
        organization=organization,
        name=_name_check(Skill, organization.pk, data.get("name", ""), what="skill"),
        description=data.get("description", ""),
        tags=skill_tags_clean(data.get("tags")),
        channels=skill_channels_clean(data.get("channels")),
    )
    agents = _agents_of(organization.pk, data.get("agent_ids") or [], field="agent_ids")
    _save_unique(skill, what="skill")
    skill.agents.set(agents)
    return skill


@transaction.atomic
def skill_update(*, skill: Skill, data: dict, actor: Agent | None) -> Skill:
    """Change the keys of `data` (as skill_create's); agent_ids replaces the holders."""
    skill = Skill.objects.select_for_update().get(pk=skill.pk)
    if "name" in data:
        skill.name = _name_check(
            Skill, skill.organization_id, data["name"], exclude_pk=skill.pk, what="skill"
        )
    if "description" in data:
        skill.description = data["description"]
    if "tags" in data:
        skill.tags = skill_tags_clean(data["tags"])
    if "channels" in data:
        skill.channels = skill_channels_clean(data["channels"])
    agents = None
    if "agent_ids" in data:
        agents = _agents_of(skill.organization_id, data["agent_ids"] or [], field="agent_ids")
    _save_unique(skill, what="skill")
    if agents is not None:
        skill.agents.set(agents)
    return skill


@transaction.atomic
def skill_delete(*, skill: Skill, actor: Agent | None) -> None:
    """Delete the skill; agents holding it lose it, routing stops requiring it."""
    Skill.objects.filter(pk=skill.pk).delete()
