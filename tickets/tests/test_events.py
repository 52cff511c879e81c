"""Domain events: written with the change, dispatched after commit, never lost."""

import pytest
from django.db import transaction

from tickets import events
from tickets.events import event_dispatch, event_redispatch
from tickets.models import Ticket, TicketEvent
from tickets.services import message_add, ticket_transition
from tickets.tasks import event_redispatch_task


def _age_events(seconds=120):
    from datetime import timedelta

    from django.utils import timezone

    TicketEvent.objects.update(created_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.django_db
def test_each_change_writes_its_event(make_ticket, agent):
    ticket = make_ticket(actor=agent)
    message_add(ticket=ticket, content="On it", from_agent=True, actor=agent)
    kinds = list(ticket.events.order_by("id").values_list("kind", flat=True))
    assert kinds == [
        "ticket.created",
        "message.created",
        "message.created",
        "ticket.status_changed",
    ]
    changed = ticket.events.get(kind="ticket.status_changed")
    assert changed.payload["from"] == "open" and changed.payload["to"] == "pending"
    assert changed.actor == agent and changed.organization_id == ticket.organization_id


@pytest.mark.django_db
def test_event_rolls_back_with_the_change(make_ticket):
    ticket = make_ticket()
    before = TicketEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        ticket_transition(ticket=ticket, to_status="closed", actor=None)
        raise RuntimeError("the request failed after the service ran")
    assert TicketEvent.objects.count() == before
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


@pytest.mark.django_db
def test_events_are_append_only(make_ticket):
    event = make_ticket().events.first()
    event.payload = {"tampered": True}
    with pytest.raises(ValueError):
        event.save()


@pytest.mark.django_db
def test_dispatch_after_commit_runs_handlers_once(
    make_ticket, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        events.current_app, "send_task", lambda name, args: sent.append((name, args))
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket()
    ids = list(ticket.events.order_by("id").values_list("id", flat=True))
    assert sent == [("tickets.event_dispatch", [i]) for i in ids]

    seen = []
    monkeypatch.setitem(events._handlers, "ticket.created", [lambda e: seen.append(e.pk)])
    assert event_dispatch(event_id=ids[0]) is True
    assert event_dispatch(event_id=ids[0]) is False  # redelivered: nothing runs twice
    assert seen == [ids[0]]
    assert TicketEvent.objects.get(pk=ids[0]).handled_at is not None


@pytest.mark.django_db
def test_broker_down_then_redispatch_handles_the_event(
    make_ticket, django_capture_on_commit_callbacks, monkeypatch, settings
):
    # A broker that refuses connections: the send fails, the request does not.
    from kombu.exceptions import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(events.current_app, "send_task", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket()
    assert ticket.pk and TicketEvent.objects.filter(handled_at__isnull=True).count() == 2
    ticket.refresh_from_db()
    assert ticket.smart_score == 0  # the scoring handler has not run

    assert event_redispatch() == 0  # within the grace period a normal send may still come
    _age_events()
    assert event_redispatch_task() == 2
    assert not TicketEvent.objects.filter(handled_at__isnull=True).exists()
    ticket.refresh_from_db()
    assert ticket.smart_score > 0  # the handler's work is done


@pytest.mark.django_db
def test_failing_handler_leaves_event_for_retry(make_ticket, monkeypatch):
    ticket = make_ticket()
    event = ticket.events.get(kind="ticket.created")

    def broken(e):
        Ticket.objects.filter(pk=e.ticket_id).update(escalation_level=9)  # rolled back
        raise ValueError("downstream exploded")

    monkeypatch.setitem(events._handlers, "ticket.created", [broken])
    assert event_dispatch(event_id=event.pk) is False
    event.refresh_from_db()
    assert event.handled_at is None and event.attempts == 1
    assert "downstream exploded" in event.last_error
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 0

    monkeypatch.setitem(events._handlers, "ticket.created", [])
    assert event_dispatch(event_id=event.pk) is True
