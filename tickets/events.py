"""Domain events and their dispatcher: a transactional outbox with one delivery per
handler.

How it works:
1. A service calls `event_record(...)` inside its transaction: the `TicketEvent` row
   commits or rolls back with the change itself. Its kind and payload are checked
   against tickets/event_kinds.py.
2. After commit, the event id is sent to Celery (`tickets.event_dispatch`). If the broker
   is down the send fails quietly: the row is still there, unhandled.
3. `event_dispatch` gives every handler registered for the kind an `EventDelivery` row
   (unique per event and handler) and runs the due ones in the handlers' explicit order.
   Each delivery runs on its own: an atomic handler inside its delivery's transaction
   (its work and the `done` mark commit together); a non-atomic one (slow work, e.g. an
   HTTP call) after claiming its delivery, outside any transaction. A failure rolls back
   that handler's work only and schedules its retry with exponential backoff stored in
   the row (`next_attempt_at`); after MAX_ATTEMPTS the delivery ends `failed`, shown in
   the admin with a retry action. The others go on.
4. When no delivery is pending, the event's `handled_at` is set.
5. Beat runs `tickets.event_redispatch` every minute: unhandled events past a grace
   period, except those only waiting for a retry's backoff, are dispatched again. A
   broker outage delays follow-up work; it loses none.

Handlers must be idempotent (a worker may die after the work but before the mark).
Apps to the left of `tickets` register theirs in `AppConfig.ready()`:

    register("message.created", handler, name="rules.rescore", order=ORDER_SCORE)

`name` is stable (it is stored in each delivery); `order` says who runs first.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from agents.models import Agent
from tickets.event_kinds import CUSTOMER, kind_get, payload_check
from tickets.models import Customer, EventDelivery, Ticket, TicketEvent

logger = logging.getLogger(__name__)

Handler = Callable[[TicketEvent], None]
ALL_KINDS = "*"
PENDING, DONE, FAILED = (
    EventDelivery.Status.PENDING,
    EventDelivery.Status.DONE,
    EventDelivery.Status.FAILED,
)

DISPATCH_TASK = "tickets.event_dispatch"
DISPATCH_MANY_TASK = "tickets.event_dispatch_many"
REDISPATCH_GRACE = timedelta(seconds=30)
MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(seconds=15)  # then 30 s, 1 min, 2 min … capped
BACKOFF_MAX = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=5)  # a non-atomic handler's claim, if its worker dies

# Handler order: lower runs first. The SLA clocks follow a change before the score reads
# their urgency; escalation (which changes the ticket again) comes after both.
ORDER_SLA_CLOCKS = 10
ORDER_SCORE = 20
ORDER_ESCALATION = 30
ORDER_AUTOMATIONS = 50  # after routing (40): rules see the ticket as those left it
ORDER_DEFAULT = 100


@dataclass(frozen=True)
class HandlerSpec:
    name: str
    func: Handler
    order: int = ORDER_DEFAULT
    atomic: bool = True


_specs: dict[str, HandlerSpec] = {}
_by_kind: dict[str, list[str]] = defaultdict(list)


def register(
    kind: str, handler: Handler, *, name: str, order: int = ORDER_DEFAULT, atomic: bool = True
) -> None:
    """Run `handler(event)` for every event of `kind` ('*' for all), as delivery `name`.
    Registering the same name twice for a kind is a no-op; one name is one handler."""
    if kind != ALL_KINDS:
        kind_get(kind)
    known = _specs.get(name)
    if known is not None and (known.func, known.order, known.atomic) != (handler, order, atomic):
        raise ImproperlyConfigured(f"Event handler name {name!r} is already taken.")
    _specs[name] = HandlerSpec(name=name, func=handler, order=order, atomic=atomic)
    if name not in _by_kind[kind]:
        _by_kind[kind].append(name)


def handlers_for(kind: str) -> list[HandlerSpec]:
    names = {*_by_kind.get(kind, ()), *_by_kind.get(ALL_KINDS, ())}
    return sorted((_specs[n] for n in names), key=lambda s: (s.order, s.name))


# --- Recording ------------------------------------------------------------------------


# How deep in an automation chain the current code runs: the events it records carry it
# (TicketEvent.automation_depth), so the engine can stop a rule re-triggering rules.
_automation_depth: ContextVar[int] = ContextVar("automation_depth", default=0)


@contextmanager
def automation_depth(depth: int) -> Iterator[None]:
    """Events recorded inside are stamped with `depth` (an automation acting on an event
    of depth `depth - 1`)."""
    token = _automation_depth.set(depth)
    try:
        yield
    finally:
        _automation_depth.reset(token)


def event_record(
    *,
    kind: str,
    actor: Agent | None,
    ticket: Ticket | None = None,
    customer: Customer | None = None,
    payload: dict | None = None,
    actor_label: str = "",
) -> TicketEvent:
    """Append an event in the caller's transaction and dispatch it after commit."""
    spec = kind_get(kind)
    payload = payload or {}
    payload_check(spec, payload)
    subject = customer if spec.subject == CUSTOMER else ticket
    if subject is None:
        raise ValueError(f"A {kind} event needs its {spec.subject}.")
    event = TicketEvent.objects.create(
        organization_id=subject.organization_id,
        ticket=ticket if spec.subject != CUSTOMER else None,
        customer=customer if spec.subject == CUSTOMER else None,
        kind=kind,
        version=spec.version,
        actor=actor,
        actor_label=actor_label or (actor.email if actor else "system"),
        payload=payload,
        automation_depth=_automation_depth.get(),
    )
    transaction.on_commit(lambda: event_enqueue(event_id=event.pk))
    return event


def events_record_bulk(events: list[TicketEvent]) -> list[int]:
    """Append many ticket events at once (e.g. an SLA scan's breaches) and dispatch them
    after commit in one broker message. Returns their ids."""
    for event in events:
        spec = kind_get(event.kind)
        payload_check(spec, event.payload or {})
        event.version = spec.version
        event.automation_depth = _automation_depth.get()
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


# --- Dispatching ----------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def event_dispatch(*, event_id: int) -> bool:
    """Run the due deliveries of one event; True if the event is finished now."""
    event = TicketEvent.objects.filter(pk=event_id, handled_at__isnull=True).first()
    if event is None:  # unknown, or already finished
        return False
    specs = handlers_for(event.kind)
    if specs:
        EventDelivery.objects.bulk_create(
            [
                EventDelivery(
                    event_id=event.pk, organization_id=event.organization_id, handler=s.name
                )
                for s in specs
            ],
            ignore_conflicts=True,
        )
    for spec in specs:
        if spec.atomic:
            _deliver_atomic(event, spec)
        else:
            _deliver_outside_transaction(event, spec)
    return _finish(event)


def _claim(event: TicketEvent, spec: HandlerSpec) -> EventDelivery | None:
    """The delivery, locked, if it is pending, due, and no other worker holds it."""
    return (
        EventDelivery.objects.select_for_update(skip_locked=True)
        .filter(
            event_id=event.pk,
            handler=spec.name,
            status=PENDING,
            next_attempt_at__lte=timezone.now(),
        )
        .first()
    )


def _deliver_atomic(event: TicketEvent, spec: HandlerSpec) -> None:
    with transaction.atomic():
        delivery = _claim(event, spec)
        if delivery is None:
            return
        try:
            with transaction.atomic():  # the handler's work, undone alone if it fails
                spec.func(event)
        except Exception as exc:
            _failed(delivery, exc, attempts=delivery.attempts + 1)
            return
        delivery.status, delivery.done_at = DONE, timezone.now()
        delivery.attempts += 1
        delivery.save(update_fields=["status", "done_at", "attempts"])


def _deliver_outside_transaction(event: TicketEvent, spec: HandlerSpec) -> None:
    with transaction.atomic():
        delivery = _claim(event, spec)
        if delivery is None:
            return
        delivery.attempts += 1
        delivery.next_attempt_at = timezone.now() + CLAIM_LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    try:
        spec.func(event)
    except Exception as exc:
        _failed(delivery, exc, attempts=delivery.attempts)
        return
    EventDelivery.objects.filter(pk=delivery.pk, status=PENDING).update(
        status=DONE, done_at=timezone.now()
    )


def _failed(delivery: EventDelivery, exc: Exception, *, attempts: int) -> None:
    final = attempts >= MAX_ATTEMPTS
    logger.exception(
        "event %s: handler %s failed (attempt %d%s)",
        delivery.event_id,
        delivery.handler,
        attempts,
        ", giving up" if final else "",
    )
    EventDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts,
        status=FAILED if final else PENDING,
        next_attempt_at=timezone.now() + backoff(attempts),
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
    )


def _finish(event: TicketEvent) -> bool:
    if EventDelivery.objects.filter(event_id=event.pk, status=PENDING).exists():
        return False
    return bool(
        TicketEvent.objects.filter(pk=event.pk, handled_at__isnull=True).update(
            handled_at=timezone.now()
        )
    )


def event_redispatch(*, limit: int = 500) -> int:
    """Dispatch unhandled events past the grace period, oldest first, except those only
    waiting for a retry's backoff; returns how many finished."""
    now = timezone.now()
    waiting = EventDelivery.objects.filter(
        event_id=OuterRef("pk"), status=PENDING, next_attempt_at__gt=now
    )
    ids = list(
        TicketEvent.objects.filter(handled_at__isnull=True, created_at__lt=now - REDISPATCH_GRACE)
        .exclude(Exists(waiting))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    return sum(1 for event_id in ids if event_dispatch(event_id=event_id))


@transaction.atomic
def deliveries_retry(*, delivery_ids: Iterable[int]) -> int:
    """Give failed deliveries a fresh set of attempts, now (the admin's retry action)."""
    ids = list(
        EventDelivery.objects.filter(pk__in=list(delivery_ids), status=FAILED).values_list(
            "pk", "event_id"
        )
    )
    if not ids:
        return 0
    EventDelivery.objects.filter(pk__in=[pk for pk, _ in ids]).update(
        status=PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
    )
    event_ids = sorted({event_id for _, event_id in ids})
    TicketEvent.objects.filter(pk__in=event_ids).update(handled_at=None)
    for event_id in event_ids:
        transaction.on_commit(lambda event_id=event_id: event_enqueue(event_id=event_id))
    return len(ids)
