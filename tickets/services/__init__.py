"""Every write to customers, tickets and messages, by concern:

- `customers`: find or create by commerce id, create, edit.
- `tickets`: create, update, transition, assign, escalate; the API's combined edit
  (`ticket_change`, with its optimistic lock) and intake (`ticket_intake`).
- `messages`: messages and internal notes, and the lifecycle they drive.
- `tags`: tags by name.
- `resets`: the demo resets.
- `satisfaction`: the customer's CSAT rating of a resolved or closed ticket.

Each public service runs in one transaction, locks the ticket it changes, records the
change in the ticket's history (django-simple-history, with the acting agent) and
appends a domain event (tickets/events.py) that follow-up work is dispatched from.
`actor=None` means the system or an API key (then `actor_label` names it).

Import from here (`from tickets.services import ticket_create`); the submodules are
how the code is arranged, not an interface.
"""

from tickets.services.common import (
    _UNSET,
    PREVIEW_LENGTH,
    SEARCH_TEXT_MAX,
    TAG_MAX_LENGTH,
    _apply_status,
    _choice_check,
    _lock,
    _record_status_change,
    _save,
)
from tickets.services.customers import (
    CUSTOMER_FIELDS,
    _customer_clean,
    customer_create,
    customer_get_or_create,
    customer_update,
)
from tickets.services.messages import message_add, note_add
from tickets.services.resets import _first_message, ticket_reset, ticket_reset_conversation
from tickets.services.satisfaction import satisfaction_record
from tickets.services.tags import tags_resolve
from tickets.services.tickets import (
    PRIORITY_ORDER,
    _assign_locked,
    _check_assignee,
    ticket_assign,
    ticket_change,
    ticket_create,
    ticket_escalate,
    ticket_intake,
    ticket_transition,
    ticket_update,
)

__all__ = [
    "CUSTOMER_FIELDS",
    "PREVIEW_LENGTH",
    "PRIORITY_ORDER",
    "SEARCH_TEXT_MAX",
    "TAG_MAX_LENGTH",
    "_UNSET",
    "_apply_status",
    "_assign_locked",
    "_check_assignee",
    "_choice_check",
    "_customer_clean",
    "_first_message",
    "_lock",
    "_record_status_change",
    "_save",
    "customer_create",
    "customer_get_or_create",
    "customer_update",
    "message_add",
    "note_add",
    "satisfaction_record",
    "tags_resolve",
    "ticket_assign",
    "ticket_change",
    "ticket_create",
    "ticket_escalate",
    "ticket_intake",
    "ticket_reset",
    "ticket_reset_conversation",
    "ticket_transition",
    "ticket_update",
]
