"""Demo resets: a conversation back to its first message, or a fresh copy of a ticket."""

from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from tickets import lifecycle
from tickets.events import event_record
from tickets.models import Message, Ticket
from tickets.services.common import (
    PREVIEW_LENGTH,
    SEARCH_TEXT_MAX,
    _lock,
    _record_status_change,
    _save,
)
from tickets.services.messages import message_add
from tickets.services.tickets import ticket_create


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
