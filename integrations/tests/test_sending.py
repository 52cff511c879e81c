"""Feeding from the outbox and sending: signatures checked by an independent verifier
(the `standardwebhooks` package), retries, disabling, SSRF at send time, and one slow
endpoint not holding back another."""

import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from integrations import ssrf
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.sending import webhook_deliveries_send, webhook_endpoint_drain
from integrations.services import webhook_deliveries_feed, webhook_endpoint_create
from tickets.event_kinds import AUTOMATION_WEBHOOK
from tickets.events import event_record
from tickets.services import customer_get_or_create, ticket_create, ticket_transition
from tickets.tests.outbox import dispatch_all


def _endpoint(organization, url, events=("ticket.created",)):
    return webhook_endpoint_create(
        organization=organization, data={"url": url, "events": list(events)}, actor=None
    )


def _ticket(organization, subject="Parcel lost"):
    customer = customer_get_or_create(
        organization=organization, external_id="c-1", name="Ada", email="ada@x.test"
    )
    return ticket_create(organization=organization, customer=customer, subject=subject, actor=None)


def test_ticket_event_is_signed_and_verified_by_standard_webhooks(organization, receiver):
    endpoint = _endpoint(organization, receiver.script("/hook", 200))
    assert endpoint.secret.startswith("whsec_")
    ticket = _ticket(organization)
    dispatch_all()
    assert webhook_endpoint_drain(endpoint_id=endpoint.pk) == 1

    [got] = receiver.at("/hook")
    payload = Webhook(endpoint.secret).verify(got.body, got.headers)  # raises if forged
    assert payload["type"] == "ticket.created"
    assert payload["data"]["ticket"]["id"] == str(ticket.pk)
    assert payload["data"]["ticket"]["customer"]["id"] == "c-1"
    assert payload["data"]["payload"]["subject"] == "Parcel lost"
    assert got.headers["webhook-signature"].startswith("v1,")
    delivery = WebhookDelivery.objects.get()
    assert got.headers["webhook-id"] == delivery.message_id
    assert got.body.decode() == delivery.body  # the stored body is what was signed
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)
    # A forged body fails the same verifier.
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoint.secret).verify(got.body.replace(b"Parcel", b"Pwned"), got.headers)


def test_feed_follows_subscriptions_and_never_duplicates(organization, receiver):
    created = _endpoint(organization, receiver.url("/a"), ["ticket.created"])
    status = _endpoint(organization, receiver.url("/b"), ["ticket.status_changed"])
    off = _endpoint(organization, receiver.url("/c"), ["ticket.created"])
    WebhookEndpoint.objects.filter(pk=off.pk).update(active=False)
    ticket = _ticket(organization)
    ticket_transition(ticket=ticket, to_status="pending", actor=None)
    dispatch_all()
    rows = WebhookDelivery.objects.values_list("endpoint_id", "event_type")
    assert sorted(rows) == sorted(
        [(created.pk, "ticket.created"), (status.pk, "ticket.status_changed")]
    )
    # The outbox running the handler again adds nothing.
    event = ticket.events.get(kind="ticket.created")
    webhook_deliveries_feed(event=event)
    assert WebhookDelivery.objects.count() == 2


def test_automation_events_go_by_name_or_wildcard(organization, receiver):
    by_name = _endpoint(organization, receiver.url("/n"), ["vip_refund"])
    wildcard = _endpoint(organization, receiver.url("/w"), ["automation.*"])
    _endpoint(organization, receiver.url("/o"), ["other_event"])
    ticket = _ticket(organization)
    event_record(
        kind=AUTOMATION_WEBHOOK.name,
        ticket=ticket,
        actor=None,
        payload={"rule_id": 7, "event": "vip_refund", "data": {"amount": 12}},
    )
    dispatch_all()
    rows = WebhookDelivery.objects.filter(event_type="vip_refund")
    assert {d.endpoint_id for d in rows} == {by_name.pk, wildcard.pk}
    body = json.loads(rows.first().body)
    assert body["type"] == "vip_refund"
    assert body["data"]["payload"] == {"rule_id": 7, "event": "vip_refund", "data": {"amount": 12}}


def test_retry_after_a_500_then_success(organization, receiver):
    endpoint = _endpoint(organization, receiver.script("/flaky", 500, 200))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _ticket(organization)
        dispatch_all()
        webhook_endpoint_drain(endpoint_id=endpoint.pk)
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
        assert "HTTP 500" in delivery.last_error
        assert delivery.next_attempt_at == timezone.now() + timedelta(seconds=30)
        endpoint.refresh_from_db()
        assert endpoint.failing_since == timezone.now()

        webhook_endpoint_drain(endpoint_id=endpoint.pk)  # not due yet: nothing sent
        assert len(receiver.at("/flaky")) == 1

        clock.shift(timedelta(seconds=31))
        webhook_endpoint_drain(endpoint_id=endpoint.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 2, 200)
    assert delivery.next_attempt_at is None
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.active
    first, second = receiver.at("/flaky")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # one message
    Webhook(endpoint.secret).verify(second.body, second.headers)


def test_backoff_is_exponential_and_gives_up(organization, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    endpoint = _endpoint(organization, receiver.script("/down", 503))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _ticket(organization)
        dispatch_all()
        waits = []
        for _ in range(3):
            webhook_endpoint_drain(endpoint_id=endpoint.pk)
            delivery = WebhookDelivery.objects.get()
            if delivery.status == "pending":
                waits.append((delivery.next_attempt_at - timezone.now()).total_seconds())
                clock.move_to(delivery.next_attempt_at)
    assert waits == [30, 60]
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)


def test_endpoint_failing_for_a_day_is_disabled(organization, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 100
    endpoint = _endpoint(organization, receiver.script("/dead", 500))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _ticket(organization)
        dispatch_all()
        webhook_endpoint_drain(endpoint_id=endpoint.pk)
        clock.shift(timedelta(hours=23))
        _ticket(organization, subject="Second")
        dispatch_all()
        webhook_endpoint_drain(endpoint_id=endpoint.pk)
        endpoint.refresh_from_db()
        assert endpoint.active and endpoint.failing_since == start
        clock.shift(timedelta(hours=1, seconds=1))
        webhook_endpoint_drain(endpoint_id=endpoint.pk)
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert "every delivery failed since" in endpoint.disabled_reason
    assert "HTTP 500" in endpoint.disabled_reason
    assert not WebhookDelivery.objects.filter(status="pending").exists()
    # Disabled: new events are not queued to it.
    _ticket(organization, subject="Third")
    dispatch_all()
    assert WebhookDelivery.objects.count() == 2


def test_ssrf_refused_at_send_time_when_dns_rebinds(organization, receiver, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    answers = {"hooks.rebind.test": ["93.184.215.14"]}
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: answers[host])
    endpoint = _endpoint(organization, "http://hooks.rebind.test:8080/hook")  # saved: public
    answers["hooks.rebind.test"] = ["127.0.0.1"]  # ... then the name points inside
    _ticket(organization)
    dispatch_all()
    webhook_endpoint_drain(endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert "127.0.0.1 is a loopback address" in delivery.last_error
    assert receiver.requests == []


def test_link_local_refused_at_send_even_when_private_allowed(organization, monkeypatch):
    answers = {"meta.rebind.test": ["93.184.215.14"]}
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: answers[host])
    endpoint = _endpoint(organization, "http://meta.rebind.test/latest/meta-data")
    answers["meta.rebind.test"] = ["169.254.169.254"]
    _ticket(organization)
    dispatch_all()
    webhook_endpoint_drain(endpoint_id=endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "link-local" in delivery.last_error


def test_connection_is_pinned_to_the_checked_address(organization, receiver, monkeypatch):
    """The name resolves once, at the check; the request goes to that address with the
    URL's host name as Host (a resolver answering differently later is never asked)."""
    port = receiver.server.server_address[1]
    calls = []

    def resolve(host, port):
        calls.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(ssrf, "resolve", resolve)
    endpoint = _endpoint(organization, f"http://receiver.pinned.test:{port}/pinned")
    _ticket(organization)
    dispatch_all()
    calls.clear()
    assert webhook_endpoint_drain(endpoint_id=endpoint.pk) == 1
    assert calls == ["receiver.pinned.test"]  # one resolution, by our check
    [got] = receiver.at("/pinned")
    assert got.headers["Host"] == f"receiver.pinned.test:{port}"


@pytest.mark.django_db(transaction=True)
def test_a_slow_endpoint_does_not_hold_back_another(receiver, settings):
    """Three messages each to a receiver that takes 1.5 s per request and to a fast one,
    sent by the worker's pool: the fast one has all of its messages while the slow one
    has not answered its first."""
    from agents.tests.factories import OrganizationFactory

    settings.WEBHOOK_TIMEOUT_SECONDS = 5.0
    organization = OrganizationFactory(slug="speedy")
    slow = _endpoint(organization, receiver.script("/slow", 200, delay=1.5))
    fast = _endpoint(organization, receiver.script("/fast", 200))
    for index in range(3):
        for endpoint in (slow, fast):
            WebhookDelivery.objects.create(
                organization=organization,
                endpoint=endpoint,
                event_type="ticket.created",
                message_id=f"msg_{index}",
                body=json.dumps({"type": "ticket.created", "data": {"n": index}}),
            )
    started = time.monotonic()
    assert webhook_deliveries_send() == 2  # returns at once: the threads send
    assert time.monotonic() - started < 1.0
    fast_got = receiver.wait_for("/fast", 3, timeout=5)
    assert fast_got[-1].at - started < 1.0
    assert receiver.at("/slow") == []  # still waiting for its first answer
    receiver.wait_for("/slow", 3, timeout=15)
    deadline = time.monotonic() + 5
    while WebhookDelivery.objects.filter(status="pending").exists():
        assert time.monotonic() < deadline, "deliveries still pending"
        time.sleep(0.05)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_timeout_is_a_retried_failure(organization, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    endpoint = _endpoint(organization, receiver.script("/sleepy", 200, delay=1.0))
    _ticket(organization)
    dispatch_all()
    started = time.monotonic()
    webhook_endpoint_drain(endpoint_id=endpoint.pk)
    assert time.monotonic() - started < 0.9
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and "Timed out" in delivery.last_error
