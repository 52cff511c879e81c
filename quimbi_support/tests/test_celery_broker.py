"""Tasks really travel through the configured broker to a real worker.

In the embedded default that is kombu's filesystem transport; .ci/run repeats the test
with RabbitMQ (CELERY_BROKER_URL). No eager mode anywhere.
"""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from quimbi_support.celery import app
from tickets.models import Ticket, TicketEvent
from tickets.services import customer_get_or_create, ticket_create


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def worker():
    # The test harness runs the worker's synchronous loop in a thread; with a prefetch of
    # one it fetches the next message only every few seconds. Production workers use the
    # event loop and the configured prefetch.
    previous = app.conf.worker_prefetch_multiplier
    app.conf.worker_prefetch_multiplier = 8
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"
        ) as w:
            yield w
    finally:
        app.conf.worker_prefetch_multiplier = previous


@pytest.mark.django_db(transaction=True)
def test_events_and_periodic_jobs_run_in_a_real_worker(worker, organization, settings):
    customer = customer_get_or_create(organization=organization, external_id="1")
    # Committed at once (no surrounding transaction): on_commit sends the events.
    ticket = ticket_create(
        organization=organization,
        customer=customer,
        subject="Parcel lost",
        initial_message="Where is it?",
        priority="urgent",
        actor=None,
    )
    ids = list(TicketEvent.objects.filter(ticket=ticket).values_list("id", flat=True))
    assert len(ids) == 2
    handled = _wait_for(
        lambda: not TicketEvent.objects.filter(id__in=ids, handled_at__isnull=True).exists()
    )
    assert handled, f"events not handled through {settings.CELERY_BROKER_URL}"
    # The work the handler did in the worker is visible: the ticket was scored.
    assert Ticket.objects.get(pk=ticket.pk).smart_score > 5

    # What beat sends on its schedule, sent by name through the broker.
    Ticket.objects.filter(pk=ticket.pk).update(smart_score=0)
    app.send_task("rules.smart_score_refresh")
    assert _wait_for(lambda: Ticket.objects.get(pk=ticket.pk).smart_score > 5)
