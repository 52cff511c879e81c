"""Outbox dispatch under real concurrency (PostgreSQL row locks)."""

import threading
import time

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

    def slow_handler(e):
        runs.append(e.pk)
        time.sleep(0.5)  # hold the row lock while the other worker arrives

    handlers_only(
        monkeypatch, "ticket.created", events.HandlerSpec(name="test.slow", func=slow_handler)
    )
    results = []

    def worker():
        try:
            results.append(event_dispatch(event_id=event.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert runs == [event.pk]
    assert EventDelivery.objects.get(event=event).attempts == 1
    assert TicketEvent.objects.get(pk=event.pk).handled_at is not None
