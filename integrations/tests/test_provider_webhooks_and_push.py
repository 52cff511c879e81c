"""Provider webhooks in (signature, shared secret, size, duplicates, tenancy) and
push-back out (replies and statuses, retries, echo suppression), against the local
Zendesk and Gorgias stand-ins."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from integrations.models import InboundEvent, ProviderPush
from integrations.providers.inbound import inbound_process_id
from integrations.providers.push import pushes_send
from integrations.providers.sync import sync_account
from integrations.secrets import secret_seal
from integrations.tests.fake_providers import FIXTURES, FakeGorgias, FakeZendesk, sign_webhook
from integrations.tests.test_provider_import import _gorgias_account, _zendesk_account
from tickets.models import Ticket
from tickets.services import message_add, ticket_transition
from tickets.tests.outbox import dispatch_all

pytestmark = [pytest.mark.django_db(transaction=True)]
FAST = override_settings(
    PROVIDER_BACKOFF_SECONDS=0.01,
    PROVIDER_PUSH_BACKOFF_SECONDS=0.0,
    PROVIDER_COMMENT_FETCH_CONCURRENCY=2,
)
SECRET = "qY1pV3cJ8mZr4N2xW6tB0dLs5Hf9Ka7Ue3Go1Ti8Rw0="
BODY = (FIXTURES / "zendesk_webhook_ticket_updated.json").read_bytes()
STAMP = "2026-11-23T16:42:21Z"


@pytest.fixture
def zendesk():
    with FakeZendesk() as fake:
        fake.load_fixtures()
        yield fake


@pytest.fixture
def gorgias():
    with FakeGorgias(bucket=None) as fake:
        fake.load_fixtures()
        yield fake


def _post_zendesk(client, account, body=BODY, stamp=STAMP, signature=None, **headers):
    signature = signature or sign_webhook(SECRET, body, stamp)
    return client.post(
        f"/api/v1/integrations/zendesk/webhook/{account.pk}",
        data=body,
        content_type="application/json",
        HTTP_X_ZENDESK_WEBHOOK_SIGNATURE=signature,
        HTTP_X_ZENDESK_WEBHOOK_SIGNATURE_TIMESTAMP=stamp,
        **headers,
    )


def test_the_fixture_vector_verifies():
    """Our signing matches the documented vector (and so the verifier's)."""
    assert sign_webhook(SECRET, BODY, STAMP) == "YpYBg/kcX/7BiZWiJZqRCTIuvt8g+NtHhMrRClWv7z0="


@FAST
def test_zendesk_webhook_good_bad_stale_and_duplicate(client, organization, zendesk):
    account = _zendesk_account(organization, zendesk, webhook_secret=secret_seal(SECRET))
    at = datetime(2026, 11, 23, 16, 43, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        bad = _post_zendesk(client, account, signature="AAAA" + "=" * 40)
        assert bad.status_code == 401 and not InboundEvent.objects.exists()
        tampered = _post_zendesk(
            client, account, body=BODY.replace(b"48211", b"48212"), signature=None
        )
        # Signed over the tampered body with the right secret: fine; the wrong secret:
        assert tampered.status_code == 202
        wrong = _post_zendesk(
            client, account, signature=sign_webhook("not-the-secret", BODY, STAMP)
        )
        assert wrong.status_code == 401
        first = _post_zendesk(client, account, HTTP_X_ZENDESK_WEBHOOK_INVOCATION_ID="8350205582")
        again = _post_zendesk(client, account, HTTP_X_ZENDESK_WEBHOOK_INVOCATION_ID="8350205582")
    assert first.status_code == 202 and not first.json()["duplicate"]
    assert again.status_code == 202 and again.json()["duplicate"]
    assert InboundEvent.objects.count() == 2
    # Ten minutes later the same signed request is a replay.
    with time_machine.travel(at + timedelta(minutes=10), tick=False):
        stale = _post_zendesk(client, account)
    assert stale.status_code == 401 and "5 minutes" in stale.json()["error"]["message"]
    # Processing re-reads the ticket and its comments from the API; twice is one effect.
    for event in InboundEvent.objects.order_by("pk"):
        assert inbound_process_id(event.pk) == "done"
    ticket = Ticket.objects.get(source="zendesk", external_id="48211")
    count = ticket.messages.count()
    assert count > 0 and ticket.status == "resolved"
    inbound_process_id(InboundEvent.objects.first().pk)
    assert ticket.messages.count() == count


def test_malformed_oversize_and_unknown(client, organization, zendesk):
    account = _zendesk_account(organization, zendesk, webhook_secret=secret_seal(SECRET))
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    garbage = b"{not json"
    response = _post_zendesk(client, account, body=garbage, stamp=now)
    assert response.status_code == 400
    no_id = b'{"ticket": {}}'
    assert _post_zendesk(client, account, body=no_id, stamp=now).status_code == 400
    big = b'{"ticket": {"id": "1"}, "pad": "' + b"x" * (1024 * 1024) + b'"}'
    assert _post_zendesk(client, account, body=big, stamp=now).status_code == 413
    response = client.post(
        "/api/v1/integrations/zendesk/webhook/00000000-0000-0000-0000-000000000000",
        data=BODY,
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not InboundEvent.objects.exists()


@FAST
def test_gorgias_webhook_secret_both_shapes_and_refetch(client, organization, gorgias):
    account = _gorgias_account(organization, gorgias, webhook_secret=secret_seal("g-secret"))
    url = f"/api/v1/integrations/gorgias/webhook/{account.pk}"
    nested = (FIXTURES / "gorgias_webhook_message_created.json").read_bytes()
    flat = json.dumps(
        json.loads((FIXTURES / "gorgias_webhook_ticket_created.json").read_bytes())["ticket"]
    ).encode()
    assert client.post(url, data=nested, content_type="application/json").status_code == 401
    assert (
        client.post(
            url, data=nested, content_type="application/json", HTTP_X_WEBHOOK_SECRET="nope"
        ).status_code
        == 401
    )
    for body in (nested, flat, nested):
        response = client.post(
            url, data=body, content_type="application/json", HTTP_X_WEBHOOK_SECRET="g-secret"
        )
        assert response.status_code == 202
    assert InboundEvent.objects.count() == 2  # the repeated body is one event
    # The body claims things; the ticket is read back from the API instead.
    gorgias.touch(86540101, subject="As the API says")
    for event in InboundEvent.objects.all():
        inbound_process_id(event.pk)
    ticket = Ticket.objects.get(source="gorgias", external_id="86540101")
    assert ticket.subject == "As the API says"
    assert [r for r in gorgias.requests if r[1].startswith("/api/tickets/86540101")]


@FAST
def test_a_webhook_for_one_organization_never_writes_into_another(client, organization, zendesk):
    from agents.tests.factories import OrganizationFactory

    other = OrganizationFactory()
    account = _zendesk_account(other, zendesk, webhook_secret=secret_seal(SECRET))
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _post_zendesk(client, account, stamp=now).status_code == 202
    inbound_process_id(InboundEvent.objects.get().pk)
    assert not Ticket.objects.filter(organization=organization).exists()
    assert Ticket.objects.filter(organization=other, source="zendesk").exists()


@FAST
def test_zendesk_push_back_with_retry_and_echo_suppression(organization, zendesk, settings):
    settings.PROVIDER_PUSH_BACKOFF_SECONDS = 60
    account = _zendesk_account(organization, zendesk)
    sync_account(account, full=True)
    dispatch_all()
    ticket = Ticket.objects.get(source="zendesk", external_id="48212")
    assert not ProviderPush.objects.exists()  # the import itself pushes nothing
    # More 500s than the client retries inside one attempt: the push itself is retried.
    zendesk.fail_next("/api/v2/tickets/48212", 500, times=6)
    reply = message_add(ticket=ticket, content="We are on it.", from_agent=True, actor=None)
    dispatch_all()
    reply.refresh_from_db()
    assert reply.delivery_status == "pending"
    assert pushes_send() == 1  # the status push (pending) went; the reply hit the 500
    reply.refresh_from_db()
    assert reply.delivery_status == "pending" and "500" in reply.delivery_error
    push = ProviderPush.objects.get(message=reply)
    assert push.attempts == 1 and push.next_attempt_at > datetime.now(UTC) + timedelta(seconds=50)
    assert pushes_send() == 0  # not due yet
    ProviderPush.objects.filter(pk=push.pk).update(next_attempt_at=datetime.now(UTC))
    assert pushes_send() == 1
    reply.refresh_from_db()
    assert reply.delivery_status == "sent" and reply.external_id
    sent = [body for tid, body in zendesk.updates if tid == 48212]
    assert {"comment": {"body": "We are on it.", "public": True}} in sent
    assert {"status": "pending"} in sent
    # The provider echoes our reply back (webhook or import): still one message.
    before = ticket.messages.count()
    sync_account(account)
    assert ticket.messages.count() == before


@FAST
def test_gorgias_push_back_and_a_failure_kept_visible(organization, gorgias, settings):
    settings.PROVIDER_PUSH_MAX_ATTEMPTS = 2
    account = _gorgias_account(organization, gorgias)
    sync_account(account)
    ticket = Ticket.objects.get(source="gorgias", external_id="86540102")
    gorgias.fail_next("/api/tickets/86540102/messages", 503, times=20)
    reply = message_add(ticket=ticket, content="Bonjour !", from_agent=True, actor=None)
    dispatch_all()
    for _ in range(3):
        pushes_send()
    reply.refresh_from_db()
    assert reply.delivery_status == "failed" and "503" in reply.delivery_error
    push = ProviderPush.objects.get(message=reply)
    assert push.status == "failed"
    # A manager sends it again once the provider is back.
    from integrations.providers.push import push_retry

    gorgias._fails.clear()
    push_retry(push)
    assert pushes_send() >= 1
    reply.refresh_from_db()
    assert reply.delivery_status == "sent"
    assert any(body.get("body_text") == "Bonjour !" for _, body in gorgias.posted)
    ticket_transition(ticket=ticket, to_status="closed", actor=None)
    dispatch_all()
    pushes_send()
    assert gorgias.tickets[86540102]["status"] == "closed"


@pytest.mark.django_db(transaction=False)  # the role groups of the migrations stay
def test_the_admin_ticket_page_shows_a_failed_delivery(client, organization, make_ticket):
    from agents.tests.factories import AgentFactory

    manager = AgentFactory(organization=organization, role="manager")
    ticket = make_ticket()
    reply = message_add(ticket=ticket, content="Sent back?", from_agent=True, actor=None)
    type(reply).all_objects.filter(pk=reply.pk).update(
        delivery_status="failed", delivery_error="HTTP 503 from gorgias"
    )
    client.force_login(manager)
    page = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "delivery: failed" in page and "HTTP 503 from gorgias" in page


def test_a_zendesk_event_subscription_payload_names_its_ticket(client, organization, zendesk):
    account = _zendesk_account(organization, zendesk, webhook_secret=secret_seal(SECRET))
    body = (FIXTURES / "zendesk_webhook_event_ticket_comment_added.json").read_bytes()
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = _post_zendesk(client, account, body=body, stamp=now)
    assert response.status_code == 202
    event = InboundEvent.objects.get()
    assert event.external_ticket_id == json.loads(body)["detail"]["id"]
