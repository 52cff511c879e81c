"""The ticket lifecycle: statuses, the transition table, and its error.

new -> (assigned/routed) -> in progress -> pending (waiting on the customer) -> resolved
-> closed. "New" is an open ticket with no agent reply; assignment and routing are the
assignee and team, not statuses. A customer message reopens a pending, resolved or
closed ticket.
"""

from agents.exceptions import DomainError

OPEN = "open"
IN_PROGRESS = "in_progress"
PENDING = "pending"
RESOLVED = "resolved"
CLOSED = "closed"

STATUS_CHOICES = [
    (OPEN, "Open"),
    (IN_PROGRESS, "In progress"),
    (PENDING, "Pending"),
    (RESOLVED, "Resolved"),
    (CLOSED, "Closed"),
]
STATUSES = [s for s, _ in STATUS_CHOICES]
# Tickets that still need work from the team; the inbox and the smart queue show these.
ACTIVE_STATUSES = (OPEN, IN_PROGRESS, PENDING)
DONE_STATUSES = (RESOLVED, CLOSED)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    OPEN: (IN_PROGRESS, PENDING, RESOLVED, CLOSED),
    IN_PROGRESS: (OPEN, PENDING, RESOLVED, CLOSED),
    PENDING: (OPEN, IN_PROGRESS, RESOLVED, CLOSED),
    RESOLVED: (OPEN, CLOSED),  # reopen, or close for good
    CLOSED: (OPEN,),  # only a reopen: a customer wrote again
}


class IllegalTransition(DomainError):
    def __init__(self, from_status: str, to_status: str, allowed: tuple[str, ...]):
        self.from_status, self.to_status, self.allowed = from_status, to_status, allowed
        if to_status not in STATUSES:
            detail = f"Unknown status {to_status!r}; allowed values: {', '.join(STATUSES)}."
        else:
            detail = (
                f"A {from_status} ticket cannot become {to_status}; allowed: {', '.join(allowed)}."
            )
        super().__init__(detail, field="status", code="illegal_transition")


def transition_check(from_status: str, to_status: str) -> None:
    allowed = TRANSITIONS[from_status]
    if to_status not in allowed:
        raise IllegalTransition(from_status, to_status, allowed)
