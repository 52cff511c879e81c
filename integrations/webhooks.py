"""What outbound webhooks carry: the event types, an endpoint's subscription, the body.

Every message is a Standard Webhooks envelope, serialised once and sent byte for byte
(the signature covers these bytes):

    {"type": "ticket.status_changed", "timestamp": "2026-05-04T10:00:00.123456Z",
     "data": {"event_id": 812, "version": 1, "actor": "ana@acme.test",
              "ticket": {...summary...}, "payload": {"from": "open", "to": "pending", ...}}}

`type` is the event kind, or for an automation's send_webhook_event action the custom
event name the rule gives; `timestamp` is when the event happened; `data.payload` is the
event's payload as tickets/event_kinds.py defines it.
"""

import json
import re
import uuid
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from agents.exceptions import DomainError
from tickets.event_kinds import (
    AUTOMATION_WEBHOOK,
    MESSAGE_CREATED,
    NOTE_CREATED,
    SLA_AT_RISK,
    SLA_BREACHED,
    TICKET_ASSIGNED,
    TICKET_CREATED,
    TICKET_STATUS_CHANGED,
    TICKET_UPDATED,
)
from tickets.models import Ticket, TicketEvent

# Ticket events an endpoint may subscribe to (their payloads: tickets/event_kinds.py).
EVENT_TYPES = (
    TICKET_CREATED.name,
    TICKET_UPDATED.name,
    TICKET_STATUS_CHANGED.name,
    TICKET_ASSIGNED.name,
    MESSAGE_CREATED.name,
    NOTE_CREATED.name,
    SLA_AT_RISK.name,
    SLA_BREACHED.name,
)
AUTOMATION_KIND = AUTOMATION_WEBHOOK.name
ALL_AUTOMATION = "automation.*"  # every custom event of a send_webhook_event action
TEST_TYPE = "webhook.test"  # the ping of POST /webhooks/{id}/test (never subscribed)
# A custom event name (a rule's send_webhook_event); names in our own namespaces must
# be one of EVENT_TYPES, so that a typo ("ticket.creatd") is an error, not silence.
CUSTOM_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,99}$")
RESERVED_PREFIXES = ("ticket.", "message.", "note.", "sla.", "customer.", "webhook.")
MAX_EVENTS = 50


def events_clean(events) -> list[str]:
    """The subscription, trimmed and deduplicated; DomainError naming `events[i]`."""
    if not isinstance(events, list) or not events:
        raise DomainError("Name at least one event type.", field="events")
    if len(events) > MAX_EVENTS:
        raise DomainError(f"At most {MAX_EVENTS} event types.", field="events")
    cleaned: list[str] = []
    for index, name in enumerate(events):
        if not isinstance(name, str):
            raise DomainError("An event type is a string.", field=f"events[{index}]")
        name = name.strip()
        if not _subscribable(name):
            raise DomainError(
                f'"{name[:100]}" is not an event type; allowed: {", ".join(EVENT_TYPES)}, '
                f'"{ALL_AUTOMATION}", or the custom event name of an automation.',
                field=f"events[{index}]",
            )
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


def _subscribable(name: str) -> bool:
    if name in EVENT_TYPES or name == ALL_AUTOMATION:
        return True
    return bool(CUSTOM_NAME.match(name)) and not name.startswith(
        (*RESERVED_PREFIXES, "automation.")
    )


def event_type_of(event: TicketEvent) -> str | None:
    """The webhook type an event is sent as (None: not sent)."""
    if event.kind == AUTOMATION_KIND:
        name = str((event.payload or {}).get("event") or "").strip()
        return name or None
    return event.kind if event.kind in EVENT_TYPES else None


def subscribed(events: list[str], event_type: str, *, automation: bool) -> bool:
    """Whether an endpoint subscribed to `events` receives `event_type`."""
    if event_type in events:
        return True
    return automation and ALL_AUTOMATION in events


def ticket_summary(ticket: Ticket) -> dict:
    """The ticket as a receiver needs it (read with its customer; tags are on the row)."""
    customer = ticket.customer
    return {
        "id": str(ticket.pk),
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "customer": {
            "id": customer.external_id,
            "name": customer.name,
            "email": customer.email,
            "tier": customer.tier,
        },
        "assignee_id": str(ticket.assignee_id) if ticket.assignee_id else None,
        "team_id": str(ticket.team_id) if ticket.team_id else None,
        "tags": list(ticket.tag_names or []),
        "escalation_level": ticket.escalation_level,
        "sla_status": ticket.sla_status or None,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def body_dump(envelope: dict) -> str:
    return json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True)


def _timestamp(value) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_body(event: TicketEvent, event_type: str, ticket: Ticket) -> str:
    """The exact body sent for a ticket event."""
    return body_dump(
        {
            "type": event_type,
            "timestamp": _timestamp(event.created_at),
            "data": {
                "event_id": event.pk,
                "version": event.version,
                "actor": event.actor_label,
                "ticket": ticket_summary(ticket),
                "payload": event.payload or {},
            },
        }
    )


def ping_body(endpoint_id) -> tuple[str, str]:
    """(message id, body) of a ping."""
    now = timezone.now()
    body = body_dump(
        {
            "type": TEST_TYPE,
            "timestamp": _timestamp(now),
            "data": {"endpoint_id": str(endpoint_id), "message": "Ping from Quimbi Support."},
        }
    )
    return f"msg_{uuid.uuid4().hex}", body


def event_message_id(event_id: int) -> str:
    return f"evt_{event_id}"
