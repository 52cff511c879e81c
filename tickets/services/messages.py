"""Messages and internal notes: the conversation, and the lifecycle it drives."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from agents.exceptions import DomainError
from agents.models import Agent
from tickets import lifecycle
from tickets.events import event_record
from tickets.models import Channel, Message, Ticket
from tickets.services.common import (
    PREVIEW_LENGTH,
    SEARCH_TEXT_MAX,
    _apply_status,
    _choice_check,
    _lock,
    _record_status_change,
    _save,
)


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
    last_of_kind = "last_agent_reply_at" if from_agent else "last_customer_message_at"
    if getattr(ticket, last_of_kind) is None or at > getattr(ticket, last_of_kind):
        setattr(ticket, last_of_kind, at)
        fields.append(last_of_kind)

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
