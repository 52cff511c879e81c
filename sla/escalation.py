"""Escalation: what a policy's steps do when a clock is at risk or breached.

Runs from the `sla.at_risk` / `sla.breached` ticket events (through the outbox), once
per clock and trigger (a unique SLAEvent guards against a second run). A step may raise
the priority, increment the escalation level, reassign to a team or to a manager, and
notify the assignee (or the team). Every change goes through tickets.services, so it is
in the ticket's history and timeline.
"""

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from agents import roles
from agents.models import Agent, Team
from sla.models import SLAClock, SLAEvent, SLANotification
from tickets import lifecycle
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_assign, ticket_escalate


def _least_busy_manager(organization_id) -> Agent | None:
    return (
        Agent.objects.filter(
            organization_id=organization_id,
            is_active=True,
            role__in=[roles.MANAGER, roles.ADMIN],
        )
        .annotate(
            open_count=Count(
                "assigned_tickets",
                filter=Q(assigned_tickets__status__in=lifecycle.ACTIVE_STATUSES),
            )
        )
        .order_by("availability", "open_count", "name")  # "available" sorts first
        .first()
    )


def escalate_for_event(event: TicketEvent) -> list[str]:
    """Run the escalation steps for an sla.* event; returns what was done."""
    trigger = event.kind.removeprefix("sla.")
    clock = (
        SLAClock.objects.select_related("policy").filter(pk=event.payload.get("clock_id")).first()
    )
    if clock is None or clock.policy is None:
        return []
    steps = [
        s
        for s in clock.policy.escalation or []
        if s.get("on") == trigger and s.get("metric", "any") in ("any", clock.metric)
    ]
    if not steps:
        return []
    try:
        with transaction.atomic():
            SLAEvent.objects.create(
                organization_id=clock.organization_id,
                ticket_id=clock.ticket_id,
                clock=clock,
                kind=f"escalated_{trigger}",
                payload={"steps": len(steps)},
            )
    except IntegrityError:
        return []  # already escalated for this clock and trigger
    ticket = Ticket.objects.get(pk=clock.ticket_id)
    if ticket.status in lifecycle.DONE_STATUSES:
        return []
    reason = f"SLA {clock.metric.replace('_', ' ')} {trigger.replace('_', ' ')}"
    done = []
    for step in steps:
        if step.get("raise_priority") or step.get("escalate", True):
            ticket = ticket_escalate(
                ticket=ticket,
                raise_priority=bool(step.get("raise_priority")),
                increment_level=bool(step.get("escalate", True)),
                actor=None,
                reason=reason,
            )
            done.append("escalated")
        team = None
        if step.get("assign_team"):
            team = Team.objects.filter(
                pk=step["assign_team"], organization_id=ticket.organization_id
            ).first()
        assignee = ticket.assignee
        if step.get("assign_manager"):
            assignee = _least_busy_manager(ticket.organization_id) or assignee
        if team is not None or assignee != ticket.assignee:
            ticket = ticket_assign(
                ticket=ticket,
                assignee=assignee,
                team=team or ticket.team,
                actor=None,
                actor_label="sla",
                reason=reason,
                kind="escalation",
            )
            done.append("reassigned")
        if step.get("notify", True):
            SLANotification.objects.create(
                organization_id=ticket.organization_id,
                ticket=ticket,
                clock=clock,
                recipient=ticket.assignee,
                team=ticket.team if ticket.assignee is None else None,
                kind=trigger,
                message=f"{reason}: {ticket.subject}"[:300],
            )
            done.append("notified")
    return done
