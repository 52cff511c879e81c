"""Every write to customers, tickets and messages.

Each public service runs in one transaction, locks the ticket it changes, records the
change in the ticket's history (django-simple-history, with the acting agent) and
appends a domain event (tickets/events.py) that follow-up work is dispatched from.
`actor=None` means the system or an API key (then `actor_label` names it).
"""

import uuid
from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.exceptions import Conflict, DomainError
from agents.models import Agent, Organization, Team
from tickets import lifecycle
from tickets.events import event_record
from tickets.models import (
    Assignment,
    Channel,
    Customer,
    CustomerTier,
    Message,
    Priority,
    Tag,
    Ticket,
)

PREVIEW_LENGTH = 280
# Enough for keyword rules and search over a long conversation, bounded per ticket.
SEARCH_TEXT_MAX = 20_000
TAG_MAX_LENGTH = 64
_UNSET = object()


def _choice_check(value: str, allowed: Iterable[str], field: str) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise DomainError(
            f"Unknown {field} {value!r}; allowed values: {', '.join(allowed)}.", field=field
        )


def _save(ticket: Ticket, fields: Iterable[str], actor: Agent | None, reason: str) -> None:
    ticket._history_user = actor
    ticket._change_reason = reason or None
    ticket.save(update_fields=sorted({*fields, "updated_at"}))


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


# --- Customers ------------------------------------------------------------------------


def customer_get_or_create(
    *,
    organization: Organization,
    external_id: str,
    name: str = "",
    email: str = "",
    phone: str = "",
    actor: Agent | None = None,
) -> Customer:
    """The organization's customer with this external id, created on first sight."""
    external_id = (external_id or "").strip()
    if not external_id:
        raise DomainError("customer_id must not be empty.", field="customer_id")
    customer = Customer.objects.filter(organization=organization, external_id=external_id).first()
    if customer is not None:
        return customer
    try:
        with transaction.atomic():
            return Customer.objects.create(
                organization=organization,
                external_id=external_id,
                name=name.strip(),
                email=(email or "").strip().lower(),
                phone=phone.strip(),
            )
    except IntegrityError:  # created concurrently by another request: take theirs
        return Customer.objects.get(organization=organization, external_id=external_id)


CUSTOMER_FIELDS = ("name", "email", "phone", "tier")


def _customer_clean(fields: dict) -> dict:
    clean = {}
    for key, value in fields.items():
        if key not in CUSTOMER_FIELDS:
            raise DomainError(f"Unknown customer field {key!r}.", field=key)
        value = (value or "").strip()
        if key == "email":
            value = value.lower()
        if key == "tier":
            _choice_check(value, CustomerTier.values, "tier")
        clean[key] = value
    return clean


@transaction.atomic
def customer_create(
    *, organization: Organization, external_id: str = "", actor: Agent | None, **fields
) -> Customer:
    """Create a customer; without an external id, its own id becomes its `customer_id`."""
    external_id = (external_id or "").strip()
    if Customer.objects.filter(organization=organization, external_id=external_id).exists():
        raise Conflict(f"A customer with customer_id {external_id!r} exists.", field="customer_id")
    pk = uuid.uuid4()
    customer = Customer(
        pk=pk,
        organization=organization,
        external_id=external_id or str(pk),
        **_customer_clean(fields),
    )
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        raise Conflict(f"A customer with customer_id {external_id!r} exists.") from exc
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor: Agent | None, **fields) -> Customer:
    """Change a customer's contact details or tier; a tier change rescores their tickets."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changed, before = [], {}
    for key, value in _customer_clean(fields).items():
        if getattr(customer, key) != value:
            before[key] = {"from": getattr(customer, key), "to": value}
            setattr(customer, key, value)
            changed.append(key)
    if changed:
        customer._history_user = actor
        customer.save(update_fields=[*changed, "updated_at"])
        event_record(
            kind="customer.updated",
            customer=customer,
            actor=actor,
            payload={"fields": changed, "changes": {k: before[k] for k in changed}},
        )
    return customer


# --- Tags -----------------------------------------------------------------------------


def tags_resolve(*, organization_id, names: Iterable[str]) -> list[Tag]:
    """Tags by name (trimmed, lower-cased), created if new, in one or two queries."""
    cleaned = []
    for name in names:
        if not isinstance(name, str):
            raise DomainError("Tags are strings.", field="tags")
        tag = name.strip().lower()
        if not tag:
            continue
        if len(tag) > TAG_MAX_LENGTH:
            raise DomainError(f"Tag {tag[:20]!r}… is longer than {TAG_MAX_LENGTH}.", field="tags")
        if tag not in cleaned:
            cleaned.append(tag)
    if not cleaned:
        return []
    existing = {
        t.name: t for t in Tag.objects.filter(organization_id=organization_id, name__in=cleaned)
    }
    missing = [Tag(organization_id=organization_id, name=n) for n in cleaned if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {
            t.name: t for t in Tag.objects.filter(organization_id=organization_id, name__in=cleaned)
        }
    return [existing[n] for n in cleaned]


# --- Lifecycle ------------------------------------------------------------------------


def _apply_status(ticket: Ticket, to_status: str, at: datetime) -> list[str]:
    """Move `ticket` to `to_status` in memory; returns the fields that changed."""
    lifecycle.transition_check(ticket.status, to_status)
    was_done = ticket.status in lifecycle.DONE_STATUSES
    ticket.status = to_status
    ticket.status_changed_at = at
    fields = ["status", "status_changed_at"]
    if to_status == lifecycle.RESOLVED:
        ticket.resolved_at, ticket.closed_at = at, None
        fields += ["resolved_at", "closed_at"]
    elif to_status == lifecycle.CLOSED:
        ticket.resolved_at = ticket.resolved_at or at
        ticket.closed_at = at
        fields += ["resolved_at", "closed_at"]
    elif was_done:  # a reopen: the ticket is no longer resolved
        ticket.resolved_at = ticket.closed_at = None
        fields += ["resolved_at", "closed_at"]
    return fields


def _record_status_change(
    ticket: Ticket, old: str, actor: Agent | None, actor_label: str, reason: str
) -> None:
    event_record(
        ticket=ticket,
        kind="ticket.status_changed",
        actor=actor,
        actor_label=actor_label,
        payload={"from": old, "to": ticket.status, "reason": reason},
    )


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


# --- Tickets --------------------------------------------------------------------------


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
) -> Ticket:
    """Give `ticket` to `assignee` (None unassigns) and optionally a team.

    Writes an Assignment row (from, to, by, reason) and a `ticket.assigned` event.
    """
    ticket = _lock(ticket)
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
        reason=reason,
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
    }
    ticket.assignee, ticket.team = assignee, new_team
    _save(ticket, ["assignee", "team"], actor, reason or "assigned")
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


# --- Messages -------------------------------------------------------------------------


@transaction.atomic
def message_add(
    *,
    ticket: Ticket,
    content: str,
    from_agent: bool,
    author_name: str = "",
    author_email: str = "",
    author_agent: Agent | None = None,
    send_to_customer: bool = True,
    close_ticket: bool = False,
    channel: str | None = None,
    external_id: str = "",
    created_at: datetime | None = None,
    actor: Agent | None,
    actor_label: str = "",
) -> Message:
    """Add a message to the conversation and run the lifecycle.

    - A customer message reopens a pending, resolved or closed ticket.
    - An agent reply sent to the customer is the first response if none was yet, and
      sets the ticket pending (waiting on the customer) unless `close_ticket`.
    - The inbox's last-message fields and the message count are kept up to date.
    """
    if not isinstance(content, str) or not content.strip():
        raise DomainError("content must not be empty.", field="content")
    ticket = _lock(ticket)
    at = created_at or timezone.now()
    if channel is not None:
        _choice_check(channel, Channel.values, "channel")
    sent = bool(from_agent and send_to_customer)
    message = Message.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        content=content,
        from_agent=from_agent,
        sent_to_customer=sent,
        author_name=(author_name or (author_agent.get_full_name() if author_agent else ""))[:200],
        author_email=author_email or (author_agent.email if author_agent else ""),
        author_agent=author_agent,
        channel=channel or ticket.channel,
        external_id=external_id,
        created_at=at,
    )
    fields = [
        "message_count",
        "last_message_at",
        "last_message_preview",
        "last_message_from_agent",
        "search_text",
    ]
    ticket.message_count += 1
    ticket.search_text = (ticket.search_text + "\n" + content.lower())[:SEARCH_TEXT_MAX]
    if ticket.last_message_at is None or at >= ticket.last_message_at:
        ticket.last_message_at = at
        ticket.last_message_preview = " ".join(content.split())[:PREVIEW_LENGTH]
        ticket.last_message_from_agent = from_agent

    old_status = ticket.status
    target = None
    if not from_agent:
        if ticket.status in (lifecycle.PENDING, *lifecycle.DONE_STATUSES):
            target = lifecycle.OPEN  # the customer wrote again
    else:
        if sent and ticket.first_response_at is None:
            ticket.first_response_at = at
            fields.append("first_response_at")
        if close_ticket:
            target = lifecycle.CLOSED
        elif sent and ticket.status in (lifecycle.OPEN, lifecycle.IN_PROGRESS):
            target = lifecycle.PENDING  # waiting on the customer
    if target and target != ticket.status:
        fields += _apply_status(ticket, target, at)

    reason = (
        "customer replied" if not from_agent else ("agent replied" if sent else "agent message")
    )
    _save(ticket, fields, actor, reason)
    event_record(
        ticket=ticket,
        kind="message.created",
        actor=actor,
        actor_label=actor_label,
        payload={
            "message_id": str(message.pk),
            "from_agent": from_agent,
            "sent_to_customer": sent,
            "at": at.isoformat(),
        },
    )
    if ticket.status != old_status:
        _record_status_change(ticket, old_status, actor, actor_label, reason)
    return message


@transaction.atomic
def note_add(
    *,
    ticket: Ticket,
    content: str,
    author_agent: Agent | None = None,
    author_name: str = "",
    author_label: str = "",
    actor: Agent | None,
    actor_label: str = "",
) -> Message:
    """Add an internal note: visible to the team only, never sent, no lifecycle effect."""
    if not isinstance(content, str) or not content.strip():
        raise DomainError("content must not be empty.", field="content")
    ticket = _lock(ticket)
    note = Message.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        content=content,
        from_agent=True,
        is_internal=True,
        author_name=(author_name or (author_agent.get_full_name() if author_agent else ""))[:200],
        author_email=author_agent.email if author_agent else "",
        author_agent=author_agent,
        author_label=author_label[:100],
        channel=ticket.channel,
        created_at=timezone.now(),
    )
    # A note is no change to the ticket's fields (its record is the event), but the
    # change feed (updated_after) must still see it.
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    event_record(
        ticket=ticket,
        kind="note.created",
        actor=actor,
        actor_label=actor_label,
        payload={"note_id": str(note.pk)},
    )
    return note


# --- Demo resets ----------------------------------------------------------------------


def _first_message(ticket: Ticket) -> Message | None:
    return (
        Message.objects.filter(ticket=ticket, is_internal=False)
        .order_by("created_at", "id")
        .first()
    )


@transaction.atomic
def ticket_reset_conversation(*, ticket: Ticket, actor: Agent | None, actor_label: str = "") -> int:
    """Demo reset: keep only the first message; the ticket is open and unanswered again.

    The other messages and notes are archived, not deleted (`Message.all_objects` keeps
    them), and the reset is in the ticket's timeline. Returns how many were archived.
    """
    ticket = _lock(ticket)
    first = _first_message(ticket)
    removed = Message.objects.filter(ticket=ticket)
    if first is not None:
        removed = removed.exclude(pk=first.pk)
    deleted = removed.update(archived_at=timezone.now())
    old_status = ticket.status
    ticket.status = lifecycle.OPEN
    ticket.status_changed_at = timezone.now()
    ticket.first_response_at = ticket.resolved_at = ticket.closed_at = None
    ticket.message_count = 1 if first else 0
    ticket.last_message_at = first.created_at if first else None
    ticket.last_message_preview = " ".join(first.content.split())[:PREVIEW_LENGTH] if first else ""
    ticket.last_message_from_agent = first.from_agent if first else None
    ticket.search_text = (ticket.subject.lower() + ("\n" + first.content.lower() if first else ""))[
        :SEARCH_TEXT_MAX
    ]
    _save(
        ticket,
        [
            "status",
            "status_changed_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "message_count",
            "last_message_at",
            "last_message_preview",
            "last_message_from_agent",
            "search_text",
        ],
        actor,
        "conversation reset",
    )
    event_record(
        ticket=ticket,
        kind="ticket.updated",
        actor=actor,
        actor_label=actor_label,
        payload={"conversation_reset": {"messages_archived": deleted}},
    )
    if old_status != ticket.status:
        _record_status_change(ticket, old_status, actor, actor_label, "conversation reset")
    return deleted


@transaction.atomic
def ticket_reset(*, ticket: Ticket, actor: Agent | None, actor_label: str = "") -> Ticket:
    """Demo reset: a new ticket for the same customer holding only the first message."""
    first = _first_message(ticket)
    fresh = ticket_create(
        organization=ticket.organization,
        customer=ticket.customer,
        subject=ticket.subject,
        channel=ticket.channel,
        priority=ticket.priority,
        tags=list(ticket.tag_names or []),
        actor=actor,
        actor_label=actor_label,
    )
    if first is not None:
        # The first message as it was: same sender, same author (an agent may have
        # opened the conversation).
        message_add(
            ticket=fresh,
            content=first.content,
            from_agent=first.from_agent,
            author_name=first.author_name,
            author_email=first.author_email,
            author_agent=first.author_agent,
            send_to_customer=first.sent_to_customer or not first.from_agent,
            channel=first.channel,
            actor=actor,
            actor_label=actor_label,
        )
        fresh.refresh_from_db()
    event_record(
        ticket=ticket,
        kind="ticket.updated",
        actor=actor,
        actor_label=actor_label,
        payload={"reset_into": {"ticket_id": str(fresh.pk)}},
    )
    return fresh
