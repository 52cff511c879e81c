"""Domain events: written with the change, dispatched after commit, one delivery per
handler, retried on its own with backoff, never lost."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tickets import events
from tickets.events import event_dispatch, event_redispatch
from tickets.models import EventDelivery, Ticket, TicketEvent
from tickets.services import message_add, ticket_transition
from tickets.tasks import event_redispatch_task


def _age_events(seconds=120):
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


def handlers_only(monkeypatch, kind: str, *specs: events.HandlerSpec) -> None:
    """For this test, `kind` has exactly these handlers."""
    monkeypatch.setattr(events, "_specs", {**events._specs, **{s.name: s for s in specs}})
    monkeypatch.setattr(events, "_by_kind", {**events._by_kind, kind: [s.name for s in specs]})


def _spec(name, func, order=100, atomic=True):
    return events.HandlerSpec(name=name, func=func, order=order, atomic=atomic)


def _due_now():
    EventDelivery.objects.update(next_attempt_at=timezone.now())


@pytest.mark.django_db
def test_dispatch_after_commit_runs_each_handler_once(
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
    handlers_only(monkeypatch, "ticket.created", _spec("test.seen", lambda e: seen.append(e.pk)))
    assert event_dispatch(event_id=ids[0]) is True
    assert event_dispatch(event_id=ids[0]) is False  # redelivered: nothing runs twice
    assert seen == [ids[0]]
    assert TicketEvent.objects.get(pk=ids[0]).handled_at is not None
    delivery = EventDelivery.objects.get(event_id=ids[0])
    assert (delivery.handler, delivery.status, delivery.attempts) == ("test.seen", "done", 1)


@pytest.mark.django_db
def test_handlers_run_in_their_declared_order_not_registration_order(make_ticket, monkeypatch):
    ticket = make_ticket()
    event = ticket.events.get(kind="ticket.created")
    ran = []
    handlers_only(
        monkeypatch,
        "ticket.created",
        _spec("test.late", lambda e: ran.append("late"), order=50),
        _spec("test.early", lambda e: ran.append("early"), order=5),
    )
    event_dispatch(event_id=event.pk)
    assert ran == ["early", "late"]


@pytest.mark.django_db
def test_the_real_pipeline_orders_clocks_before_the_score():
    names = [s.name for s in events.handlers_for("message.created")]
    assert names.index("sla.clocks") < names.index("rules.rescore")
    assert [s.name for s in events.handlers_for("customer.updated")] == [
        "sla.customer_rematch",
        "rules.customer_rescore",
    ]


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
def test_a_failing_handler_neither_reruns_nor_blocks_the_others(make_ticket, monkeypatch):
    ticket = make_ticket(initial_message="")  # one event: ticket.created
    event = ticket.events.get(kind="ticket.created")
    good_runs = []

    def broken(e):
        Ticket.objects.filter(pk=e.ticket_id).update(escalation_level=9)  # rolled back
        raise ValueError("downstream exploded")

    def good(e):
        good_runs.append(e.pk)
        Ticket.objects.filter(pk=e.ticket_id).update(escalation_level=2)  # kept

    handlers_only(
        monkeypatch,
        "ticket.created",
        _spec("test.broken", broken, order=1),
        _spec("test.good", good, order=2),
    )
    assert event_dispatch(event_id=event.pk) is False

    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 2
    failed = EventDelivery.objects.get(event=event, handler="test.broken")
    assert failed.status == "pending" and failed.attempts == 1
    assert "downstream exploded" in failed.last_error
    assert failed.next_attempt_at > timezone.now() + timedelta(seconds=10)  # backoff
    assert EventDelivery.objects.get(event=event, handler="test.good").status == "done"

    # The retry runs only the failed handler, once it is due.
    _age_events()
    assert event_redispatch() == 0  # still backing off: not even looked at
    _due_now()
    handlers_only(
        monkeypatch,
        "ticket.created",
        _spec("test.broken", lambda e: None, order=1),
        _spec("test.good", good, order=2),
    )
    assert event_redispatch() == 1
    assert good_runs == [event.pk]
    assert EventDelivery.objects.get(event=event, handler="test.broken").status == "done"
    assert TicketEvent.objects.get(pk=event.pk).handled_at is not None


@pytest.mark.django_db
def test_backoff_grows_and_a_delivery_ends_failed_then_retries(make_ticket, monkeypatch):
    ticket = make_ticket(initial_message="")  # one event: ticket.created
    event = ticket.events.get(kind="ticket.created")

    def broken(e):
        raise RuntimeError("still down")

    handlers_only(monkeypatch, "ticket.created", _spec("test.broken", broken))
    waits = []
    for _ in range(events.MAX_ATTEMPTS):
        _due_now()
        before = timezone.now()
        event_dispatch(event_id=event.pk)
        waits.append(EventDelivery.objects.get(event=event).next_attempt_at - before)
    delivery = EventDelivery.objects.get(event=event)
    assert delivery.status == "failed" and delivery.attempts == events.MAX_ATTEMPTS
    assert waits == sorted(waits) and waits[1] > waits[0]
    # Finished, with a failure: not re-dispatched forever, but never dropped silently.
    assert TicketEvent.objects.get(pk=event.pk).handled_at is not None
    _age_events()
    assert event_redispatch() == 0

    handlers_only(monkeypatch, "ticket.created", _spec("test.broken", lambda e: None))
    assert events.deliveries_retry(delivery_ids=[delivery.pk]) == 1
    assert TicketEvent.objects.get(pk=event.pk).handled_at is None
    assert event_dispatch(event_id=event.pk) is True
    assert EventDelivery.objects.get(event=event).status == "done"


@pytest.mark.django_db
def test_a_non_atomic_handler_runs_outside_the_transaction(make_ticket, monkeypatch):
    from django.db import connection

    ticket = make_ticket()
    event = ticket.events.get(kind="ticket.created")
    seen = []
    handlers_only(
        monkeypatch,
        "ticket.created",
        _spec("test.http", lambda e: seen.append(connection.in_atomic_block), atomic=False),
    )
    assert event_dispatch(event_id=event.pk) is True
    # pytest-django wraps each test in a transaction: the handler saw only that one.
    assert seen == [connection.in_atomic_block]
    assert EventDelivery.objects.get(event=event).status == "done"


@pytest.mark.django_db
def test_an_unknown_kind_or_payload_key_is_refused(make_ticket):
    ticket = make_ticket()
    with pytest.raises(ValueError, match="Unknown event kind"):
        events.event_record(ticket=ticket, kind="ticket.exploded", actor=None)
    with pytest.raises(ValueError, match="has no"):
        events.event_record(
            ticket=ticket, kind="note.created", actor=None, payload={"note_id": "1", "x": 2}
        )


@pytest.mark.django_db
def test_a_handler_name_is_one_handler():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        events.register("ticket.created", lambda e: None, name="rules.rescore")


@pytest.mark.django_db
def test_a_customer_change_is_an_event_with_history(customer, manager):
    from tickets.services import customer_update

    customer_update(customer=customer, actor=manager, tier="vip")

    event = TicketEvent.objects.get(kind="customer.updated")
    assert event.customer_id == customer.pk and event.ticket_id is None
    assert event.payload == {
        "fields": ["tier"],
        "changes": {"tier": {"from": "standard", "to": "vip"}},
    }
    latest = customer.history.latest()
    assert latest.tier == "vip" and latest.history_user == manager
