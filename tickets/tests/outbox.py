"""Test helper: drain the outbox as the workers would."""

from tickets.events import event_dispatch
from tickets.models import EventDelivery, TicketEvent


def dispatch_all() -> None:
    """Run every pending event's handlers now, as the workers would (handlers may add
    more events); a handler that fails fails the test."""
    for _ in range(10):
        pending = list(
            TicketEvent.objects.filter(handled_at__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if not pending:
            return
        for event_id in pending:
            event_dispatch(event_id=event_id)
        failed = EventDelivery.objects.exclude(last_error="")
        assert not failed.exists(), list(failed.values_list("handler", "last_error"))
    raise AssertionError("events keep coming")
