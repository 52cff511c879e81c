"""A ticket's own changes: create, update, transition, assign, escalate, and the API's
combined edit (with its optimistic lock and assignee resolution)."""

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.exceptions import Conflict, DomainError
from agents.models import Agent, Organization, Team
from tickets import lifecycle
from tickets.events import event_record
from tickets.models import Assignment, Channel, Customer, Priority, Ticket
from tickets.selectors import assignee_resolve, team_resolve
from tickets.services.common import (
    _UNSET,
    SEARCH_TEXT_MAX,
    _apply_status,
    _choice_check,
    _lock,
    _record_status_change,
    _save,
)
from tickets.services.customers import customer_get_or_create
from tickets.services.messages import message_add
from tickets.services.tags import tags_resolve


@transaction.atomic
def ticket_transition(
    *,
    ticket: Ticket,
    to_status: str,
    actor: Agent | None,
    reason: str = "",
    actor_label: str = "",
) -> Ticket:
    """Move `ticket` to `to_status` through the transition table, recording who and why.

    Raises IllegalTransition naming the allowed targets. A no-op when already there, so a
    retried request writes no second event.
    """
    _choice_check(to_status, lifecycle.STATUSES, "status")
    ticket = _lock(ticket)
    if ticket.status == to_status:
        return ticket
    old = ticket.status
    fields = _apply_status(ticket, to_status, timezone.now())
    _save(ticket, fields, actor, reason or f"status {old} -> {to_status}")
    _record_status_change(ticket, old, actor, actor_label, reason)
    return ticket


@transaction.atomic
def ticket_create(
    *,
    organization: Organization,
    customer: Customer,
    subject: str,
    channel: str = Channel.EMAIL,
    priority: str = Priority.NORMAL,
    initial_message: str = "",
    author_name: str = "",
    author_email: str = "",
    tags: Iterable[str] = (),
    assignee: Agent | None = None,
    team: Team | None = None,
    source: str = "native",
    external_id: str = "",
    created_at: datetime | None = None,
    actor: Agent | None,
    actor_label: str = "",
) -> Ticket:
    """Open a ticket for `customer`, with its first customer message when given."""
    subject = " ".join((subject or "").split())
    if not subject:
        raise DomainError("subject must not be empty.", field="subject")
    _choice_check(channel, Channel.values, "channel")
    _choice_check(priority, Priority.values, "priority")
    if customer.organization_id != organization.pk:
        raise DomainError("The customer belongs to another organization.", field="customer_id")
    _check_assignee(organization.pk, assignee, team)
    at = created_at or timezone.now()
    ticket = Ticket(
        organization=organization,
        customer=customer,
        subject=subject[:500],
        channel=channel,
        priority=priority,
        assignee=assignee,
        team=team,
        source=source,
        external_id=external_id or "",
        created_at=at,
        status_changed_at=at,
        search_text=subject[:500].lower(),
    )
    ticket._history_user = actor
    try:
        with transaction.atomic():
            ticket.save()
    except IntegrityError as exc:
        raise Conflict(
            f"A ticket from {source} with external id {external_id!r} already exists."
        ) from exc
    tag_rows = tags_resolve(organization_id=organization.pk, names=tags)
    if tag_rows:
        ticket.tags.set(tag_rows)
        ticket.tag_names = sorted(t.name for t in tag_rows)
        Ticket.objects.filter(pk=ticket.pk).update(tag_names=ticket.tag_names)
    event_record(
        ticket=ticket,
        kind="ticket.created",
        actor=actor,
        actor_label=actor_label,
        payload={
            "subject": ticket.subject,
            "channel": channel,
            "priority": priority,
            "customer_id": customer.external_id,
            "tags": [t.name for t in tag_rows],
        },
    )
    if assignee or team:
        Assignment.objects.create(
            ticket=ticket, to_agent=assignee, to_team=team, by=actor, reason="on creation"
        )
    if initial_message and initial_message.strip():
        message_add(
            ticket=ticket,
            content=initial_message,
            from_agent=False,
            author_name=author_name or customer.name,
            author_email=author_email or customer.email,
            created_at=at,
            actor=actor,
            actor_label=actor_label,
        )
        ticket.refresh_from_db()
    return ticket


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: Agent | None,
    priority: str | None = None,
    subject: str | None = None,
    tags: Iterable[str] | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    reason: str = "",
    actor_label: str = "",
) -> Ticket:
    """Change priority, subject or tags; writes one `ticket.updated` event with the diff."""
    ticket = _lock(ticket)
    changes: dict[str, dict] = {}
    fields = []
    if priority is not None and priority != ticket.priority:
        _choice_check(priority, Priority.values, "priority")
        changes["priority"] = {"from": ticket.priority, "to": priority}
        ticket.priority = priority
        fields.append("priority")
    if subject is not None:
        subject = " ".join(subject.split())
    if subject is not None and subject != ticket.subject:
        if not subject:
            raise DomainError("subject must not be empty.", field="subject")
        changes["subject"] = {"from": ticket.subject, "to": subject.strip()[:500]}
        ticket.subject = subject.strip()[:500]
        _, _, rest = ticket.search_text.partition("\n")
        ticket.search_text = (ticket.subject.lower() + ("\n" + rest if rest else ""))[
            :SEARCH_TEXT_MAX
        ]
        fields += ["subject", "search_text"]
    if tags is not None or add_tags or remove_tags:
        current = list(ticket.tags.values_list("name", flat=True))
        wanted = list(current if tags is None else [])
        base = tags_resolve(organization_id=ticket.organization_id, names=tags or [])
        wanted += [t.name for t in base]
        wanted += [
            t.name for t in tags_resolve(organization_id=ticket.organization_id, names=add_tags)
        ]
        removed = {str(n).strip().lower() for n in remove_tags}
        final = [n for n in dict.fromkeys(wanted) if n not in removed]
        if sorted(final) != sorted(current):
            ticket.tags.set(tags_resolve(organization_id=ticket.organization_id, names=final))
            changes["tags"] = {"from": sorted(current), "to": sorted(final)}
            ticket.tag_names = sorted(final)
            fields.append("tag_names")
    if not changes:
        return ticket
    _save(ticket, fields, actor, reason or "updated " + ", ".join(changes))
    event_record(
        ticket=ticket, kind="ticket.updated", actor=actor, actor_label=actor_label, payload=changes
    )
    return ticket


def _check_assignee(organization_id, assignee: Agent | None, team: Team | None) -> None:
    if assignee is not None and (
        assignee.organization_id != organization_id or not assignee.is_active
    ):
        raise DomainError(
            "The assignee is not an active agent of this organization.", field="assigned_to"
        )
    if team is not None and team.organization_id != organization_id:
        raise DomainError("The team belongs to another organization.", field="team")


@transaction.atomic
def ticket_assign(
    *,
    ticket: Ticket,
    assignee: Agent | None,
    team: Team | None | object = _UNSET,
    actor: Agent | None,
    reason: str = "",
    actor_label: str = "",
    kind: str = Assignment.Kind.MANUAL,
    explanation: dict | None = None,
    capacity_overridden: bool = False,
) -> Ticket:
    """Give `ticket` to `assignee` (None unassigns) and optionally a team.

    Writes an Assignment row (from, to, by, kind, reason, and routing's explanation when
    routing chose) and a `ticket.assigned` event. Capacity and team membership are the
    routing app's rules (routing.services), checked before it calls this.
    """
    _choice_check(kind, Assignment.Kind.values, "kind")
    return _assign_locked(
        ticket=_lock(ticket),
        assignee=assignee,
        team=team,
        actor=actor,
        reason=reason,
        actor_label=actor_label,
        kind=kind,
        explanation=explanation,
        capacity_overridden=capacity_overridden,
    )


def _assign_locked(
    *,
    ticket: Ticket,
    assignee: Agent | None,
    team: Team | None | object = _UNSET,
    actor: Agent | None,
    reason: str = "",
    actor_label: str = "",
    kind: str = Assignment.Kind.MANUAL,
    explanation: dict | None = None,
    capacity_overridden: bool = False,
) -> Ticket:
    """`ticket_assign` for a caller inside its own transaction that read `ticket` under
    its row lock (routing): the same rows, without a savepoint or a second read of the
    ticket. So an error here must end the caller's atomic block, not be caught in it."""
    _choice_check(kind, Assignment.Kind.values, "kind")
    new_team = ticket.team if team is _UNSET else team
    _check_assignee(ticket.organization_id, assignee, new_team)
    if ticket.assignee_id == (assignee.pk if assignee else None) and (
        ticket.team_id == (new_team.pk if new_team else None)
    ):
        return ticket
    Assignment.objects.create(
        ticket=ticket,
        from_agent_id=ticket.assignee_id,
        to_agent=assignee,
        from_team_id=ticket.team_id,
        to_team=new_team,
        by=actor,
        kind=kind,
        reason=reason[:200],
        explanation=explanation or {},
        capacity_overridden=capacity_overridden,
    )
    previous = ticket.assignee
    payload = {
        "from": str(ticket.assignee_id) if ticket.assignee_id else None,
        "from_name": str(previous) if previous else None,
        "to": str(assignee.pk) if assignee else None,
        "to_name": str(assignee) if assignee else None,
        "from_team": str(ticket.team_id) if ticket.team_id else None,
        "to_team": str(new_team.pk) if new_team else None,
        "reason": reason,
        "kind": kind,
    }
    if explanation:
        payload["explanation"] = explanation
    if capacity_overridden:
        payload["capacity_overridden"] = True
    ticket.assignee, ticket.team = assignee, new_team
    _save(ticket, ["assignee", "team"], actor, reason or f"{kind} assignment")
    event_record(
        ticket=ticket, kind="ticket.assigned", actor=actor, actor_label=actor_label, payload=payload
    )
    return ticket


PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


@transaction.atomic
def ticket_escalate(
    *,
    ticket: Ticket,
    raise_priority: bool = False,
    increment_level: bool = True,
    actor: Agent | None,
    reason: str,
    actor_label: str = "",
) -> Ticket:
    """Escalate: one escalation level up and, if asked, one priority up (recorded in the
    ticket's history with the reason, and as a `ticket.escalated` event)."""
    ticket = _lock(ticket)
    fields, payload = [], {"reason": reason}
    if increment_level:
        payload["escalation_level"] = {
            "from": ticket.escalation_level,
            "to": ticket.escalation_level + 1,
        }
        ticket.escalation_level += 1
        fields.append("escalation_level")
    if raise_priority and ticket.priority != Priority.URGENT:
        new = PRIORITY_ORDER[PRIORITY_ORDER.index(ticket.priority) + 1]
        payload["priority"] = {"from": ticket.priority, "to": new}
        ticket.priority = new
        fields.append("priority")
    if not fields:
        return ticket
    _save(ticket, fields, actor, reason)
    event_record(
        ticket=ticket,
        kind="ticket.escalated",
        actor=actor,
        actor_label=actor_label or "sla",
        payload=payload,
    )
    return ticket


@transaction.atomic
def ticket_change(
    *,
    ticket: Ticket,
    actor: Agent | None,
    actor_label: str = "",
    expected_updated_at: datetime | None = None,
    priority: str | object = _UNSET,
    subject: str | object = _UNSET,
    tags: Iterable[str] | object = _UNSET,
    add_tags: Iterable[str] | object = _UNSET,
    remove_tags: Iterable[str] | object = _UNSET,
    assigned_to: str | None | object = _UNSET,
    team: object = _UNSET,
    status: str | None = None,
) -> Ticket:
    """An edit of a ticket as one change, all or nothing: fields and tags
    (`ticket_update`), then assignee and team (`ticket_assign`), then status
    (`ticket_transition`). Arguments left out change nothing.

    - `expected_updated_at` is an optimistic lock: if the ticket changed since the caller
      read it, Conflict (409) and nothing is written.
    - `assigned_to` names the agent as a client does: an agent id, "me" (the acting
      agent), or None/"none" to unassign; `team` is a team id, or None for no team.
    """
    if expected_updated_at is not None:
        current = _lock(ticket)
        if current.updated_at != expected_updated_at:
            raise Conflict(
                "The ticket changed since you read it "
                f"(updated_at is now {current.updated_at.isoformat()}); reload and retry."
            )
    given = {"priority": priority, "subject": subject, "tags": tags}
    given.update(add_tags=add_tags, remove_tags=remove_tags)
    updates = {k: v for k, v in given.items() if v is not _UNSET}
    if updates:
        ticket = ticket_update(ticket=ticket, actor=actor, actor_label=actor_label, **updates)
    if assigned_to is not _UNSET or team is not _UNSET:
        assignee = (
            assignee_resolve(
                organization_id=ticket.organization_id, value=assigned_to, caller=actor
            )
            if assigned_to is not _UNSET
            else ticket.assignee
        )
        kwargs = {}
        if team is not _UNSET:
            kwargs["team"] = team_resolve(organization_id=ticket.organization_id, team_id=team)
        ticket = ticket_assign(
            ticket=ticket, assignee=assignee, actor=actor, actor_label=actor_label, **kwargs
        )
    if status is not None:
        ticket = ticket_transition(
            ticket=ticket, to_status=status, actor=actor, actor_label=actor_label
        )
    return ticket


@transaction.atomic
def ticket_intake(
    *,
    organization: Organization,
    customer_id: str,
    subject: str,
    status: str | None = None,
    author_name: str = "",
    author_email: str = "",
    actor: Agent | None,
    actor_label: str = "",
    **ticket_fields,
) -> Ticket:
    """A ticket as a client submits it: its customer addressed by the commerce id
    (created on first sight), the ticket opened (`ticket_create`), and moved straight to
    `status` when one is given (a second, separate `ticket.status_changed` event)."""
    customer = customer_get_or_create(
        organization=organization,
        external_id=customer_id,
        name=author_name,
        email=author_email,
        actor=actor,
    )
    ticket = ticket_create(
        organization=organization,
        customer=customer,
        subject=subject,
        author_name=author_name,
        author_email=author_email,
        actor=actor,
        actor_label=actor_label,
        **ticket_fields,
    )
    if status and status != ticket.status:
        ticket = ticket_transition(
            ticket=ticket,
            to_status=status,
            actor=actor,
            actor_label=actor_label,
            reason="status given at creation",
        )
    return ticket
