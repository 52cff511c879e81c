"""Every assignment decision: manual assignment and transfer (with capacity and team
membership checked), auto-routing by the team's strategy with its explanation,
rebalancing when an agent steps away, and draining the team queues.

Concurrency: a routing decision locks, in this order, the ticket, the team's routing
row (round-robin's pointer, and one decision per team at a time) and the candidate
agents' rows; a manual assignment locks the ticket and the agent. Loads are counted
after the locks are held, so two decisions never both take an agent's last slot.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from agents import roles
from agents.exceptions import Conflict, DomainError
from agents.models import Agent, Team
from routing import selectors
from routing.models import AwayPolicy, Strategy, TeamRouting
from tickets import lifecycle
from tickets.models import Assignment, Ticket
from tickets.services import _assign_locked, ticket_assign

logger = logging.getLogger(__name__)

AUTO_STRATEGIES = (Strategy.ROUND_ROBIN, Strategy.LEAST_LOADED, Strategy.SKILLS)
ASSIGNED, QUEUED = "assigned", "queued"


@dataclass
class RouteResult:
    ticket: Ticket
    outcome: str  # assigned | queued
    explanation: dict


def _is_manager(actor) -> bool:
    return actor is not None and (
        getattr(actor, "is_superuser", False) or actor.role in (roles.MANAGER, roles.ADMIN)
    )


def _agent_of(organization_id, agent_id) -> Agent:
    agent = Agent.objects.filter(pk=agent_id, organization_id=organization_id).first()
    if agent is None or not agent.is_active:
        raise DomainError(f"No active agent {agent_id} in this organization.", field="agent_id")
    return agent


def _team_of(organization_id, team_id) -> Team:
    team = Team.objects.filter(pk=team_id, organization_id=organization_id).first()
    if team is None:
        raise DomainError(f"No team {team_id} in this organization.", field="team_id")
    return team


# --- manual assignment and transfer ---------------------------------------------------


@transaction.atomic
def ticket_assign_manual(
    *,
    ticket: Ticket,
    agent_id=None,
    team_id=None,
    actor,
    reason: str = "",
    override_capacity: bool = False,
    transfer: bool = False,
    caller_is_manager: bool | None = None,
    actor_label: str = "",
    now: datetime | None = None,
) -> RouteResult:
    """Give the ticket to an agent (of the team, when one is named) or to a team's queue.

    The agent must be an active agent of the organization, a member of the team when one
    is given, with free capacity; a manager may override capacity with a reason (it is
    recorded). A ticket sent to a team's queue alone is routed at once by the team's
    strategy, if it has one. `transfer` records the move as a transfer (it must move).
    """
    if agent_id is None and team_id is None:
        raise DomainError("Name the agent_id or the team_id to assign the ticket to.")
    if caller_is_manager is None:
        caller_is_manager = _is_manager(actor)
    if override_capacity and not caller_is_manager:
        raise DomainError(
            "Only a manager may override an agent's capacity.", field="override_capacity"
        )
    if override_capacity and not reason.strip():
        raise DomainError("Say why the capacity is overridden.", field="reason")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status not in lifecycle.ACTIVE_STATUSES:
        raise DomainError(
            f"The ticket is {ticket.status}; reopen it before assigning it.", field="status"
        )
    org = ticket.organization_id
    team = _team_of(org, team_id) if team_id is not None else None
    kind = Assignment.Kind.TRANSFER if transfer else Assignment.Kind.MANUAL

    if agent_id is None:
        if transfer and ticket.team_id == team.pk and ticket.assignee_id is None:
            raise DomainError("The ticket is already in this team's queue.", field="team_id")
        ticket = ticket_assign(
            ticket=ticket,
            assignee=None,
            team=team,
            actor=actor,
            actor_label=actor_label,
            reason=reason,
            kind=kind,
        )
        routing = selectors.team_routing_get(team=team)
        if routing.strategy in AUTO_STRATEGIES:
            return _route_locked(ticket, team, actor=actor, trigger="transfer", now=now)
        explanation = {
            "strategy": routing.strategy,
            "team": {"id": str(team.pk), "name": team.name},
            "outcome": QUEUED,
            "why": "The team routes manually: the ticket waits in its queue.",
        }
        return RouteResult(ticket, QUEUED, explanation)

    agent = _agent_of(org, agent_id)
    if team is not None and not agent.teams.filter(pk=team.pk).exists():
        raise DomainError(f"{agent} is not a member of the team {team.name}.", field="agent_id")
    if transfer and ticket.assignee_id == agent.pk:
        raise DomainError(f"The ticket is already with {agent}.", field="agent_id")
    # The agent's row lock serialises every decision that could take their last slot.
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    load = selectors.open_load([agent.pk]).get(agent.pk, 0)
    if ticket.assignee_id == agent.pk:
        load -= 1  # only the team changes
    overridden = False
    if load >= agent.capacity:
        if not override_capacity:
            raise Conflict(
                f"{agent} is at capacity ({load} open tickets of {agent.capacity}); a "
                "manager may assign anyway with override_capacity=true and a reason.",
                field="agent_id",
            )
        overridden = True
    new_team = team if team is not None else _keep_team(ticket, agent)
    ticket = ticket_assign(
        ticket=ticket,
        assignee=agent,
        team=new_team,
        actor=actor,
        actor_label=actor_label,
        reason=reason,
        kind=kind,
        capacity_overridden=overridden,
    )
    explanation = {
        "strategy": "manual",
        "outcome": ASSIGNED,
        "chosen": {"agent_id": str(agent.pk), "name": str(agent)},
        "why": f"Chosen by {actor or actor_label or 'the system'}"
        + (f" over capacity ({load}/{agent.capacity}): {reason}" if overridden else "."),
    }
    return RouteResult(ticket, ASSIGNED, explanation)


def _keep_team(ticket: Ticket, agent: Agent) -> Team | None:
    """An agent outside the ticket's team takes it out of that team's queue."""
    if ticket.team_id is None:
        return None
    if agent.teams.filter(pk=ticket.team_id).exists():
        return ticket.team
    return None


# --- auto-routing ---------------------------------------------------------------------


@transaction.atomic
def ticket_route(
    *,
    ticket: Ticket,
    actor=None,
    trigger: str = "on_demand",
    exclude_agent_ids=(),
    kind: str = Assignment.Kind.AUTO,
    now: datetime | None = None,
) -> RouteResult:
    """Route the ticket by its team's strategy (the organization's default team when it
    names none). Assigns the chosen agent, or leaves the ticket in the team's queue;
    either way the answer explains the choice: strategy, each candidate, why skipped."""
    ticket = Ticket.objects.select_related("team").select_for_update(of=("self",)).get(pk=ticket.pk)
    team = ticket.team or selectors.default_team_get(organization_id=ticket.organization_id)
    if team is None:
        why = (
            "The ticket has no team and the organization no default team: give it a "
            "team_id, or assign it to an agent."
        )
        return RouteResult(ticket, QUEUED, {"trigger": trigger, "outcome": QUEUED, "why": why})
    return _route_locked(
        ticket, team, actor=actor, trigger=trigger, exclude=exclude_agent_ids, kind=kind, now=now
    )


def _route_locked(
    ticket: Ticket,
    team: Team,
    *,
    actor,
    trigger: str,
    exclude=(),
    kind: str = Assignment.Kind.AUTO,
    now: datetime | None = None,
) -> RouteResult:
    now = now or timezone.now()
    routing = selectors.team_routing_get(team=team, for_update=True)
    team_info = {"id": str(team.pk), "name": team.name}
    explanation: dict = {
        "strategy": routing.strategy,
        "team": team_info,
        "trigger": trigger,
        "at": now.isoformat(),
    }
    if ticket.status not in lifecycle.ACTIVE_STATUSES:
        explanation.update(outcome=QUEUED, why=f"The ticket is {ticket.status}.")
        return RouteResult(ticket, QUEUED, explanation)
    if routing.strategy not in AUTO_STRATEGIES:
        explanation.update(
            outcome=QUEUED,
            why=f"The team {team.name} routes manually (routing_strategy=manual): assign "
            "the ticket to an agent, or give the team a strategy.",
        )
        if ticket.team_id != team.pk:
            ticket = _assign_locked(
                ticket=ticket,
                assignee=None,
                team=team,
                actor=actor,
                actor_label="routing",
                kind=kind,
                reason="default team",
                explanation=explanation,
            )
        return RouteResult(ticket, QUEUED, explanation)

    calendar = selectors.team_calendar(routing)
    within = selectors.calendar_is_open(calendar, now)
    explanation["within_working_hours"] = within
    check_skills = routing.strategy == Strategy.SKILLS
    required = selectors.skills_required(ticket=ticket) if check_skills else []
    if check_skills:
        explanation["required_skills"] = [s.name for s in required]
    members = list(selectors.team_members(team=team, for_update=True, skills=required))
    candidates = selectors.candidates_assess(
        members=members,
        required=required,
        within_hours=within,
        exclude_ids=set(exclude),
        check_skills=check_skills,
    )
    explanation["candidates"] = [c.as_dict() for c in candidates]
    eligible = [c for c in candidates if c.eligible]
    chosen = _choose(routing, eligible)
    if chosen is None:
        explanation["outcome"] = QUEUED
        explanation["why"] = _nobody_why(candidates, within)
        if ticket.team_id != team.pk or ticket.assignee_id is not None:
            ticket = _assign_locked(
                ticket=ticket,
                assignee=None,
                team=team,
                actor=actor,
                actor_label="routing",
                kind=kind,
                reason=f"queued: {explanation['why']}"[:200],
                explanation=explanation,
            )
        return RouteResult(ticket, QUEUED, explanation)

    explanation["outcome"] = ASSIGNED
    explanation["chosen"] = {"agent_id": str(chosen.agent.pk), "name": str(chosen.agent)}
    explanation["why"] = _chosen_why(routing.strategy, chosen, eligible)
    if routing.strategy == Strategy.ROUND_ROBIN:
        if routing.pk is None or routing._state.adding:
            routing.save()
        TeamRouting.objects.filter(pk=routing.pk).update(last_agent=chosen.agent)
    ticket = _assign_locked(
        ticket=ticket,
        assignee=chosen.agent,
        team=team,
        actor=actor,
        actor_label="routing",
        kind=kind,
        reason=f"{routing.strategy}: {explanation['why']}"[:200],
        explanation=explanation,
    )
    return RouteResult(ticket, ASSIGNED, explanation)


def _choose(routing: TeamRouting, eligible: list) -> "selectors.Candidate | None":
    if not eligible:
        return None
    if routing.strategy == Strategy.ROUND_ROBIN:
        # The ring is the members in id order; the pointer is the last agent served.
        ring = sorted(eligible, key=lambda c: str(c.agent.pk))
        last = str(routing.last_agent_id) if routing.last_agent_id else None
        if last is None:
            return ring[0]
        return next((c for c in ring if str(c.agent.pk) > last), ring[0])
    # least_loaded, and skills after the skill filter: lowest load relative to capacity,
    # then fewest open tickets, then a stable order.
    return min(eligible, key=lambda c: (c.ratio, c.load, str(c.agent.pk)))


def _chosen_why(strategy: str, chosen, eligible: list) -> str:
    n = len(eligible)
    load = f"{chosen.load}/{chosen.agent.capacity} open"
    if strategy == Strategy.ROUND_ROBIN:
        return f"next in the round-robin ring among {n} eligible agent(s) ({load})"
    if strategy == Strategy.SKILLS:
        return f"holds every required skill and is least loaded among {n} ({load})"
    return f"least loaded among {n} eligible agent(s) ({load})"


def _nobody_why(candidates: list, within: bool) -> str:
    if not candidates:
        return "The team has no active members."
    if not within:
        return "Outside the team's working hours; the ticket waits in the team queue."
    reasons = sorted({c.skipped for c in candidates})
    return "Nobody can take it (" + ", ".join(reasons) + "); it waits in the team queue."


# --- the queue, and agents stepping away ----------------------------------------------


def queues_drain(*, organization_id=None, team_ids=None, now: datetime | None = None) -> int:
    """Route waiting tickets of every automatically routing team, as many per team as
    its available members have free slots: one grouped query finds the queues, one per
    team its free capacity and its most urgent tickets. Returns tickets assigned."""
    now = now or timezone.now()
    assigned = 0
    waiting = selectors.queued_tickets_by_team(organization_id=organization_id, team_ids=team_ids)
    for team in Team.objects.filter(pk__in=list(waiting)).select_related("routing__calendar"):
        routing = team.routing
        if not selectors.calendar_is_open(selectors.team_calendar(routing), now):
            continue
        slots = selectors.team_free_slots(team=team)
        if slots <= 0:
            continue
        for ticket_id in selectors.team_queue(team_id=team.pk, limit=min(slots, waiting[team.pk])):
            result = ticket_route(
                ticket=Ticket(pk=ticket_id), trigger="queue", now=now, kind=Assignment.Kind.AUTO
            )
            if result.outcome == ASSIGNED:
                assigned += 1
            else:
                break  # the team's slots went to someone else meanwhile
    return assigned


@transaction.atomic
def agent_rebalance(*, agent: Agent, actor=None, now: datetime | None = None) -> dict:
    """An agent went away or offline: each of their open tickets follows its team's
    `on_agent_away` (keep, redistribute by the team's strategy, or return to the queue).
    Every move is an Assignment with kind `rebalance`. Returns counts per outcome."""
    counts = {"kept": 0, "redistributed": 0, "returned_to_queue": 0}
    tickets = list(
        Ticket.objects.filter(assignee=agent, status__in=lifecycle.ACTIVE_STATUSES)
        .select_related("team__routing")
        .order_by("created_at", "id")
    )
    for ticket in tickets:
        routing = getattr(ticket.team, "routing", None) if ticket.team_id else None
        policy = routing.on_agent_away if routing else AwayPolicy.KEEP
        if policy == AwayPolicy.KEEP:
            counts["kept"] += 1
            continue
        if policy == AwayPolicy.REDISTRIBUTE and routing.strategy in AUTO_STRATEGIES:
            result = _route_locked(
                Ticket.objects.select_for_update().get(pk=ticket.pk),
                ticket.team,
                actor=actor,
                trigger="rebalance",
                exclude=(agent.pk,),
                kind=Assignment.Kind.REBALANCE,
                now=now,
            )
            if result.outcome == ASSIGNED:
                counts["redistributed"] += 1
                continue
        ticket_assign(
            ticket=ticket,
            assignee=None,
            team=ticket.team,
            actor=actor,
            kind=Assignment.Kind.REBALANCE,
            reason=f"{agent} is {agent.availability}: back to the {ticket.team.name} queue",
        )
        counts["returned_to_queue"] += 1
    if tickets:
        logger.info("rebalanced %s's open tickets: %s", agent, counts)
    return counts


def agent_availability_changed(*, agent: Agent, previous: str, current: str, actor) -> None:
    """Routing's answer to an availability change, in the same transaction: stepping away
    hands tickets on per the team settings; coming back drains the agent's team queues
    after commit."""
    if current in (Agent.Availability.AWAY, Agent.Availability.OFFLINE):
        if previous == Agent.Availability.AVAILABLE or previous != current:
            agent_rebalance(agent=agent, actor=actor)
    elif current == Agent.Availability.AVAILABLE:
        organization_id = agent.organization_id
        transaction.on_commit(lambda: _drain_later(organization_id))


def _drain_later(organization_id) -> None:
    try:
        queues_drain(organization_id=organization_id)
    except Exception:  # the periodic job retries within a minute
        logger.exception("draining the queues after an agent came back failed")
