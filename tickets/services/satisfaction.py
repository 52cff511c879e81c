"""The customer's satisfaction rating (CSAT 1-5) of a resolved or closed ticket."""

from django.db import transaction
from django.utils import timezone

from agents.exceptions import DomainError
from agents.models import Agent
from tickets import lifecycle
from tickets.events import event_record
from tickets.models import Satisfaction, Ticket
from tickets.services.common import _lock

RATING_MIN, RATING_MAX = 1, 5
COMMENT_MAX = 5000


@transaction.atomic
def satisfaction_record(
    *,
    ticket: Ticket,
    rating: int,
    comment: str = "",
    actor: Agent | None,
    actor_label: str = "",
) -> Satisfaction:
    """Record the customer's rating of `ticket`: one per ticket, a later rating replaces
    it (the history keeps each version) and writes a `ticket.rated` event.

    Only a resolved or closed ticket can be rated (a DomainError naming its status
    otherwise). The ticket row is locked first, so two concurrent ratings never both
    create: the second replaces the first.
    """
    if isinstance(rating, bool) or not isinstance(rating, int):
        raise DomainError("rating must be a whole number from 1 to 5.", field="rating")
    if not RATING_MIN <= rating <= RATING_MAX:
        raise DomainError(
            f"rating must be from {RATING_MIN} to {RATING_MAX}, not {rating}.", field="rating"
        )
    if len(comment) > COMMENT_MAX:
        raise DomainError(f"comment is longer than {COMMENT_MAX} characters.", field="comment")
    ticket = _lock(ticket)
    if ticket.status not in lifecycle.DONE_STATUSES:
        raise DomainError(
            f"Only a resolved or closed ticket can be rated; this ticket is {ticket.status}.",
            field="ticket",
            code="ticket_not_done",
        )
    now = timezone.now()
    satisfaction = Satisfaction.objects.filter(ticket=ticket).first()
    previous = satisfaction.rating if satisfaction else None
    if satisfaction is None:
        satisfaction = Satisfaction(organization_id=ticket.organization_id, ticket=ticket)
    satisfaction.rating, satisfaction.comment, satisfaction.rated_at = rating, comment, now
    satisfaction._history_user = actor
    satisfaction._change_reason = actor_label or None
    satisfaction.save()
    event_record(
        ticket=ticket,
        kind="ticket.rated",
        actor=actor,
        actor_label=actor_label,
        payload={"rating": rating, "previous_rating": previous, "comment": comment},
    )
    return satisfaction
