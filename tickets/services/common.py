"""Helpers shared by the ticket services: input checks, the row lock, the audited save,
and the status move that both a transition and a message can make."""

from collections.abc import Iterable
from datetime import datetime

from agents.exceptions import DomainError
from agents.models import Agent
from tickets import lifecycle
from tickets.events import event_record
from tickets.models import Ticket

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
