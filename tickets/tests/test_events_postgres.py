"""Outbox dispatch under real concurrency (PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection

from tickets import events
from tickets.events import event_dispatch
from tickets.models import EventDelivery, TicketEvent
from tickets.tests.test_events import handlers_only


@pytest.mark.django_db(transaction=True)
def test_two_workers_dispatching_one_event_run_its_handlers_once(
    require_postgres, make_ticket, monkeypatch
):
    ticket = make_ticket()
    event = ticket.events.get(kind="ticket.created")
    runs = []
    inside, release = threading.Event(), threading.Event()

    def slow_handler(e):
        runs.append(e.pk)
        inside.set()
        # Hold the delivery's row lock until the other worker has come and gone.
        assert release.wait(timeout=30), "the second worker never finished"

    handlers_only(
        monkeypatch, "ticket.created", events.HandlerSpec(name="test.slow", func=slow_handler)
    )
    results = []

    def worker():
        try:
            results.append(event_dispatch(event_id=event.pk))
        finally:
            connection.close()

    first, second = threading.Thread(target=worker), threading.Thread(target=worker)
    first.start()
    try:
        assert inside.wait(timeout=30), "the first worker never reached the handler"
        second.start()  # arrives while the first holds the lock: it skips, it does not wait
        second.join(timeout=30)
        assert not second.is_alive(), "the second worker waited for the first one's lock"
    finally:
        release.set()
        first.join(timeout=30)
    assert sorted(results) == [False, True]
    assert runs == [event.pk]
    assert EventDelivery.objects.get(event=event).attempts == 1
    assert TicketEvent.objects.get(pk=event.pk).handled_at is not None
