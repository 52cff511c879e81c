"""Domain events and their one dispatcher (a transactional outbox).

How it works:
1. A service calls `event_record(...)` inside its transaction: the `TicketEvent` row
   commits or rolls back with the change itself.
2. After commit, the event id is sent to Celery (`tickets.event_dispatch`). If the broker
   is down the send fails quietly: the row is still there, unhandled.
3. `event_dispatch` locks the row, runs every handler registered for its kind in the
   same transaction, and sets `handled_at`. A handler failure rolls its work back and
   leaves the row unhandled (attempts and error recorded).
4. Beat runs `tickets.event_redispatch` every minute: unhandled rows older than a grace
   period are dispatched again. A broker outage delays follow-up work; it loses none.

Handlers must be idempotent (an event may be dispatched more than once if a worker dies
after the work but before the commit). Apps to the left of `tickets` register theirs in
`AppConfig.ready()` with `register(kind, handler)`; `tickets` never imports them.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agents.models import Agent
from tickets.models import Ticket, TicketEvent

logger = logging.getLogger(__name__)

Handler = Callable[[TicketEvent], None]
ALL_KINDS = "*"
_handlers: dict[str, list[Handler]] = defaultdict(list)

DISPATCH_TASK = "tickets.event_dispatch"
DISPATCH_MANY_TASK = "tickets.event_dispatch_many"
REDISPATCH_GRACE = timedelta(seconds=30)
MAX_ATTEMPTS = 10


_customer_listeners: list[Callable[..., None]] = []


def customer_listener_register(listener: Callable[..., None]) -> None:
    """Call `listener(customer_id=..., fields=[...])` after a customer change commits
    (e.g. a tier change rescoring that customer's tickets)."""
    if listener not in _customer_listeners:
        _customer_listeners.append(listener)


def customer_changed(*, customer_id, fields: list[str]) -> None:
    def notify():
        for listener in _customer_listeners:
            try:
                listener(customer_id=customer_id, fields=fields)
            except Exception:  # a listener's failure must not fail the request
                logger.exception("customer listener %r failed", listener)

    transaction.on_commit(notify)


def register(kind: str, handler: Handler) -> None:
    """Run `handler(event)` for every event of `kind` ('*' for all). Idempotent."""
    if handler not in _handlers[kind]:
        _handlers[kind].append(handler)


def handlers_for(kind: str) -> list[Handler]:
    return [*_handlers.get(kind, ()), *_handlers.get(ALL_KINDS, ())]


def event_record(
    *,
    ticket: Ticket,
    kind: str,
    actor: Agent | None,
    payload: dict | None = None,
    actor_label: str = "",
) -> TicketEvent:
    """Append an event in the caller's transaction and dispatch it after commit."""
    event = TicketEvent.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        kind=kind,
        actor=actor,
        actor_label=actor_label or (actor.email if actor else "system"),
        payload=payload or {},
    )
    transaction.on_commit(lambda: event_enqueue(event_id=event.pk))
    return event


def events_record_bulk(events: list[TicketEvent]) -> list[int]:
    """Append many events at once (e.g. an SLA scan's breaches) and dispatch them after
    commit in one broker message. Returns their ids."""
    created = TicketEvent.objects.bulk_create(events)
    ids = [e.pk for e in created if e.pk is not None]
    if not ids:  # a backend that returns no ids from bulk inserts: read them back
        ids = list(
            TicketEvent.objects.filter(handled_at__isnull=True)
            .order_by("-id")
            .values_list("id", flat=True)[: len(events)]
        )

    def send():
        try:
            current_app.send_task(DISPATCH_MANY_TASK, args=[ids])
        except Exception:
            logger.warning("%d events not sent to the broker; re-dispatch will retry", len(ids))

    transaction.on_commit(send)
    return ids


def event_enqueue(*, event_id: int) -> bool:
    """Hand an event to the broker; False (logged) if the broker cannot take it now."""
    try:
        current_app.send_task(DISPATCH_TASK, args=[event_id])
    except Exception:  # any broker/transport failure: the outbox row will be retried
        logger.warning("event %s not sent to the broker; re-dispatch will retry", event_id)
        return False
    return True


def event_dispatch(*, event_id: int) -> bool:
    """Run the handlers of one event exactly once; True if it is handled now."""
    try:
        with transaction.atomic():
            event = (
                TicketEvent.objects.select_for_update(skip_locked=True)
                .filter(pk=event_id, handled_at__isnull=True)
                .first()
            )
            if event is None:  # already handled, or another worker holds it
                return False
            for handler in handlers_for(event.kind):
                handler(event)
            event.handled_at = timezone.now()
            event.attempts += 1
            event.save(update_fields=["handled_at", "attempts"])
            return True
    except Exception as exc:
        logger.exception("event %s: a handler failed", event_id)
        TicketEvent.objects.filter(pk=event_id, handled_at__isnull=True).update(
            attempts=F("attempts") + 1, last_error=repr(exc)[:2000]
        )
        return False


def event_redispatch(*, limit: int = 500) -> int:
    """Dispatch unhandled events past the grace period, oldest first; returns how many."""
    cutoff = timezone.now() - REDISPATCH_GRACE
    ids = list(
        TicketEvent.objects.filter(
            handled_at__isnull=True, created_at__lt=cutoff, attempts__lt=MAX_ATTEMPTS
        )
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    return sum(1 for event_id in ids if event_dispatch(event_id=event_id))
