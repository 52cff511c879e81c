"""Reads for routing: a team's settings, the skills a ticket requires, and each member's
standing (availability, open load, skills), which the strategies choose from."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from agents.models import Agent, Skill, Team
from routing.models import AwayPolicy, Strategy, TeamRouting
from sla.business_time import Calendar, CalendarError
from sla.calendars import calendar_build
from tickets import lifecycle
from tickets.models import Assignment, Ticket

# Why a member was not a candidate (the "why this agent" vocabulary).
AWAY = "away"
OFFLINE = "offline"
OUTSIDE_HOURS = "outside_hours"
AT_CAPACITY = "at_capacity"
MISSING_SKILL = "missing_skill"
EXCLUDED = "excluded"


def team_routing_get(*, team: Team, for_update: bool = False) -> TeamRouting:
    """The team's routing settings; an unsaved row with the defaults (manual, keep,
    always open) when the team has none yet."""
    rows = TeamRouting.objects.select_related("calendar")
    if for_update:
        rows = rows.select_for_update(of=("self",))
    routing = rows.filter(team=team).first()
    return routing or TeamRouting(
        team=team,
        organization_id=team.organization_id,
        strategy=Strategy.MANUAL,
        on_agent_away=AwayPolicy.KEEP,
    )


def default_team_get(*, organization_id) -> Team | None:
    """The organization's default team (new tickets naming no team go there), if any."""
    routing = (
        TeamRouting.objects.select_related("team")
        .filter(organization_id=organization_id, is_default=True)
        .first()
    )
    return routing.team if routing else None


def team_calendar(routing: TeamRouting) -> Calendar:
    return calendar_build(routing.calendar)


def calendar_is_open(calendar: Calendar, at: datetime) -> bool:
    try:
        start, _ = next(calendar.open_intervals(at))
    except (CalendarError, StopIteration):
        return False
    return start <= at


def skills_required(*, ticket: Ticket) -> list[Skill]:
    """The organization's skills this ticket requires: those naming one of its tags or
    its channel. Skills are few per organization: one query, matched here."""
    tags = set(ticket.tag_names or [])
    return [
        skill
        for skill in Skill.objects.filter(organization_id=ticket.organization_id).order_by("name")
        if tags & {str(t).lower() for t in skill.tags or []}
        or ticket.channel in (skill.channels or [])
    ]


def open_load(agent_ids) -> dict:
    """Open (active) tickets per agent: one grouped count, an index-only scan of the
    small partial index on the assignee (routing migration 0003). Run it after the
    agents' rows are locked, as its own statement: under READ COMMITTED only a
    statement that starts after the locks sees the assignments committed before them."""
    rows = (
        Ticket.objects.filter(assignee_id__in=list(agent_ids), status__in=lifecycle.ACTIVE_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("*"))
    )
    return {row["assignee_id"]: row["n"] for row in rows}


def team_members(*, team: Team, for_update: bool = False, skills=()) -> QuerySet[Agent]:
    """Active members of the team, in a stable order (the round-robin ring); with
    `for_update` their rows are locked in that order (capacity under concurrency). With
    `skills`, each member says in the same query which of them they hold (`holds_skill_<i>`
    for `skills[i]`; see `skill_ids_held`)."""
    members = Agent.objects.filter(
        teams=team, organization_id=team.organization_id, is_active=True
    ).order_by("pk")
    held = Agent.skills.through.objects.filter(agent_id=OuterRef("pk"))
    for i, skill in enumerate(skills):
        members = members.annotate(**{f"holds_skill_{i}": Exists(held.filter(skill_id=skill.pk))})
    if for_update:
        members = members.select_for_update(of=("self",))
    return members


def skill_ids_held(member: Agent, skills) -> set:
    """Which of `skills` a member from `team_members(skills=skills)` holds."""
    return {skill.pk for i, skill in enumerate(skills) if getattr(member, f"holds_skill_{i}")}


@dataclass
class Candidate:
    agent: Agent
    load: int
    skill_ids: set = field(default_factory=set)
    skipped: str = ""
    detail: str = ""

    @property
    def eligible(self) -> bool:
        return not self.skipped

    @property
    def ratio(self) -> float:
        return self.load / self.agent.capacity if self.agent.capacity else float("inf")

    def as_dict(self) -> dict:
        out = {
            "agent_id": str(self.agent.pk),
            "name": str(self.agent),
            "availability": self.agent.availability,
            "open_tickets": self.load,
            "capacity": self.agent.capacity,
            "eligible": self.eligible,
        }
        if self.skipped:
            out["skipped"] = self.skipped
            out["detail"] = self.detail
        return out


def candidates_assess(
    *,
    members: list[Agent],
    required: list[Skill],
    within_hours: bool,
    exclude_ids=(),
    check_skills: bool,
) -> list[Candidate]:
    """Each member with their load and, when they cannot take the ticket, why not.
    `members` come from `team_members(skills=required)` (locked, when loads matter)."""
    loads = open_load(m.pk for m in members)
    out = []
    for member in members:
        held = skill_ids_held(member, required) if check_skills else set()
        c = Candidate(member, loads.get(member.pk, 0), held)
        if member.pk in exclude_ids:
            c.skipped, c.detail = EXCLUDED, "the tickets are being moved away from this agent"
        elif member.availability == Agent.Availability.AWAY:
            c.skipped, c.detail = AWAY, "marked away"
        elif member.availability == Agent.Availability.OFFLINE:
            c.skipped, c.detail = OFFLINE, "offline"
        elif not within_hours:
            c.skipped, c.detail = OUTSIDE_HOURS, "outside the team's working hours"
        elif c.load >= member.capacity:
            c.skipped = AT_CAPACITY
            c.detail = f"{c.load} open tickets of a capacity of {member.capacity}"
        elif check_skills:
            missing = [s.name for s in required if s.pk not in c.skill_ids]
            if missing:
                c.skipped, c.detail = MISSING_SKILL, "lacks " + ", ".join(missing)
        out.append(c)
    return out


def queued_tickets_by_team(*, organization_id=None, team_ids=None) -> dict:
    """Teams that route automatically and have unassigned active tickets waiting:
    {team_id: waiting count}, in one grouped query."""
    rows = Ticket.objects.filter(
        assignee__isnull=True,
        status__in=lifecycle.ACTIVE_STATUSES,
        team__routing__strategy__in=[
            Strategy.ROUND_ROBIN,
            Strategy.LEAST_LOADED,
            Strategy.SKILLS,
        ],
    )
    if organization_id is not None:
        rows = rows.filter(organization_id=organization_id)
    if team_ids is not None:
        rows = rows.filter(team_id__in=list(team_ids))
    return dict(rows.values("team_id").annotate(n=Count("id")).values_list("team_id", "n"))


def team_queue(*, team_id, limit: int) -> list:
    """The team's waiting tickets, most urgent first (smart score, then oldest)."""
    return list(
        Ticket.objects.filter(
            team_id=team_id, assignee__isnull=True, status__in=lifecycle.ACTIVE_STATUSES
        )
        .order_by("-smart_score", "created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def team_free_slots(*, team: Team) -> int:
    """Free capacity of the team's available members (one query)."""
    members = Agent.objects.filter(
        teams=team,
        is_active=True,
        availability=Agent.Availability.AVAILABLE,
        organization_id=team.organization_id,
    ).annotate(
        load=Count(
            "assigned_tickets",
            filter=Q(assigned_tickets__status__in=lifecycle.ACTIVE_STATUSES),
        )
    )
    return sum(max(0, m.capacity - m.load) for m in members)


def assignments_for_ticket(*, ticket: Ticket) -> QuerySet:
    """The ticket's assignment history, newest first, with the names it shows."""
    return (
        Assignment.objects.filter(ticket=ticket)
        .select_related("from_agent", "to_agent", "from_team", "to_team", "by")
        .order_by("-created_at", "-id")
    )
