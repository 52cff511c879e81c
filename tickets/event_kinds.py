"""Every kind of domain event, defined once: its name, what it is about (a ticket or a
customer), the version of its payload shape, and the keys that payload may carry.

`event_record` refuses a kind that is not here, or a payload key its kind does not
declare: a handler, a webhook or a provider push-back can rely on these shapes. A change
to a payload shape bumps its version (stored with each event), so consumers can tell old
rows from new ones.
"""

from dataclasses import dataclass

TICKET, CUSTOMER = "ticket", "customer"


@dataclass(frozen=True)
class EventKind:
    name: str
    subject: str  # TICKET or CUSTOMER
    version: int
    payload_keys: frozenset[str]
    description: str = ""
    # ticket.updated carries {field: {"from", "to"}} for any ticket field it changed.
    open_payload: bool = False


def _kind(name, subject, version, keys, description, open_payload=False) -> EventKind:
    return EventKind(name, subject, version, frozenset(keys), description, open_payload)


TICKET_CREATED = _kind(
    "ticket.created",
    TICKET,
    1,
    {"subject", "channel", "priority", "status", "source", "customer_id", "tags"},
    "A ticket was opened (API, admin, import or a channel).",
)
TICKET_UPDATED = _kind(
    "ticket.updated",
    TICKET,
    1,
    {"conversation_reset", "reset_into", "reason"},
    "Fields changed: {field: {from, to}}; or a demo reset.",
    open_payload=True,
)
TICKET_STATUS_CHANGED = _kind(
    "ticket.status_changed",
    TICKET,
    1,
    {"from", "to", "reason"},
    "The status moved along the lifecycle.",
)
TICKET_ASSIGNED = _kind(
    "ticket.assigned",
    TICKET,
    1,
    {
        "from",
        "to",
        "from_name",
        "to_name",
        "from_team",
        "to_team",
        "reason",
        "kind",
        "explanation",
        "capacity_overridden",
    },
    "Assignee or team changed; `kind` says how (manual, auto, transfer, escalation, "
    "rebalance) and `explanation` why this agent, when routing chose.",
)
TICKET_ESCALATED = _kind(
    "ticket.escalated",
    TICKET,
    1,
    {"reason", "escalation_level", "priority"},
    "The escalation level rose (by hand or by an SLA escalation step).",
)
MESSAGE_CREATED = _kind(
    "message.created",
    TICKET,
    1,
    {"message_id", "from_agent", "sent_to_customer", "at"},
    "A customer message or an agent reply.",
)
NOTE_CREATED = _kind("note.created", TICKET, 1, {"note_id"}, "An internal note.")
SLA_AT_RISK = _kind(
    "sla.at_risk",
    TICKET,
    1,
    {"clock_id", "at", "metric", "policy_id", "due_at"},
    "An SLA target is close to its deadline.",
)
SLA_BREACHED = _kind(
    "sla.breached",
    TICKET,
    1,
    {"clock_id", "at", "metric", "policy_id", "due_at"},
    "An SLA target passed its deadline.",
)
TICKET_RATED = _kind(
    "ticket.rated",
    TICKET,
    1,
    {"rating", "previous_rating", "comment"},
    "The customer rated the support (CSAT 1-5); a later rating replaces it.",
)
AUTOMATION_APPLIED = _kind(
    "automation.applied",
    TICKET,
    1,
    {"rule_id", "rule_name", "run_id", "trigger", "outcome", "actions", "error"},
    "An automation rule ran on the ticket: what it did, or why it failed or stopped.",
)
AUTOMATION_WEBHOOK = _kind(
    "automation.webhook",
    TICKET,
    1,
    {"rule_id", "event", "data"},
    "An automation's send_webhook_event action: a custom event for outbound webhooks.",
)
CUSTOMER_UPDATED = _kind(
    "customer.updated",
    CUSTOMER,
    1,
    {"fields", "changes"},
    "A customer's details, tier or intelligence changed.",
)

KINDS: dict[str, EventKind] = {
    k.name: k
    for k in (
        TICKET_CREATED,
        TICKET_UPDATED,
        TICKET_STATUS_CHANGED,
        TICKET_ASSIGNED,
        TICKET_ESCALATED,
        MESSAGE_CREATED,
        NOTE_CREATED,
        SLA_AT_RISK,
        SLA_BREACHED,
        TICKET_RATED,
        AUTOMATION_APPLIED,
        AUTOMATION_WEBHOOK,
        CUSTOMER_UPDATED,
    )
}
TICKET_KINDS = tuple(k.name for k in KINDS.values() if k.subject == TICKET)
# Kinds that change what a ticket looks like (its SLA clocks and score follow them).
TICKET_CHANGE_KINDS = (
    TICKET_CREATED.name,
    TICKET_UPDATED.name,
    TICKET_STATUS_CHANGED.name,
    TICKET_ASSIGNED.name,
    TICKET_ESCALATED.name,
    MESSAGE_CREATED.name,
)
SLA_KINDS = (SLA_AT_RISK.name, SLA_BREACHED.name)


def kind_get(name: str) -> EventKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(
            f"Unknown event kind {name!r}; add it to tickets/event_kinds.py."
        ) from None


def payload_check(kind: EventKind, payload: dict) -> None:
    """Refuse a payload key the kind does not declare (a programming error)."""
    if kind.open_payload:
        return
    unknown = set(payload) - kind.payload_keys
    if unknown:
        raise ValueError(f"{kind.name} payload v{kind.version} has no {sorted(unknown)}.")
