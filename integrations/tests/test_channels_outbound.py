"""Agents' replies out on the ticket's channel: email through a real SMTP server on
127.0.0.1 (aiosmtpd), SMS to a Twilio stand-in, chat to a receiver that verifies the
Standard Webhooks signature with the standardwebhooks package."""

import base64
import email
import email.policy
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

import pytest
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook

from integrations.channels.sms_in import twilio_signature
from integrations.models import ProviderPush
from integrations.providers.push import pushes_send
from integrations.tests.test_channels import _channel, _mail, _send
from tickets.models import Message, Ticket
from tickets.services import message_add
from tickets.tests.outbox import dispatch_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the stand-ins are on 127.0.0.1


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(settings):
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's start connects to it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


class _Hub:
    """A local HTTP receiver: answers each POST with `status` and records it."""

    def __init__(self, answer=b'{"sid": "SM123"}', status=201):
        hub = self
        self.requests, self.status, self.answer = [], status, answer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hub.requests.append((self.path, dict(self.headers), body))
                self.send_response(hub.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(hub.answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _reply(ticket, text):
    message = message_add(ticket=ticket, content=text, from_agent=True, actor=None)
    dispatch_all()
    return message


def test_an_email_reply_goes_out_threaded_and_the_answer_threads_back(client, manager_client, smtp):
    channel = _channel(manager_client, kind="email", name="Support", address="support@acme.test")
    ticket_id = _send(client, channel, _mail()).json()["ticket_id"]
    ticket = Ticket.objects.get(pk=ticket_id)
    reply = _reply(ticket, "Your parcel left the warehouse today.")
    assert Message.objects.get(pk=reply.pk).delivery_status == "pending"
    assert pushes_send() == 1
    reply.refresh_from_db()
    assert reply.delivery_status == "sent" and reply.external_id.startswith("<")
    [envelope] = smtp.messages
    sent = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert envelope.rcpt_tos == ["ada@example.com"] and sent["From"] == "support@acme.test"
    assert sent["In-Reply-To"] == "<m1@example.com>"
    assert "<m1@example.com>" in sent["References"]
    assert f"[#T-{str(ticket.pk)[:8]}]" in sent["Subject"]
    assert "left the warehouse" in sent.get_body().get_content()
    # The customer answers our mail: threaded by In-Reply-To to the same ticket.
    answer = _mail(
        subject=sent["Subject"].replace("Re: ", "Re: Re: "),
        body="Thanks!",
        Message_ID="<m9@example.com>",
        In_Reply_To=sent["Message-ID"],
    )
    assert _send(client, channel, answer).json()["ticket_id"] == ticket_id


def test_a_failing_smtp_server_leaves_the_reply_pending_with_its_error(
    client, manager_client, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens
    settings.PROVIDER_PUSH_BACKOFF_SECONDS = 60
    channel = _channel(manager_client, kind="email", name="Support", address="support@acme.test")
    ticket = Ticket.objects.get(pk=_send(client, channel, _mail()).json()["ticket_id"])
    reply = _reply(ticket, "Hello")
    assert pushes_send() == 0
    reply.refresh_from_db()
    assert reply.delivery_status == "pending" and "SMTP" in reply.delivery_error
    assert ProviderPush.objects.get(message=reply).next_attempt_at is not None


def test_an_sms_reply_goes_through_twilio(client, manager_client, settings):
    twilio = _Hub(answer=b'{"sid": "SMabc", "status": "queued"}')
    try:
        channel = _channel(
            manager_client,
            kind="sms",
            name="Texts",
            phone_number="+15550001111",
            account_sid="AC" + "1" * 32,
            auth_token="tw-token",
            base_url=twilio.url,
        )
        params = {"From": "+15559998888", "To": "+15550001111", "Body": "Hi", "MessageSid": "SM1"}
        url = f"http://testserver{channel['inbound_url']}"
        client.post(
            channel["inbound_url"],
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=twilio_signature("tw-token", url, params),
        )
        reply = _reply(Ticket.objects.get(), "We are on it.")
        assert pushes_send() == 1
        reply.refresh_from_db()
        assert reply.delivery_status == "sent" and reply.external_id == "SMabc"
        [(path, headers, body)] = twilio.requests
        assert path == f"/2010-04-01/Accounts/AC{'1' * 32}/Messages.json"
        form = parse_qs(body.decode())
        assert form == {"To": ["+15559998888"], "From": ["+15550001111"], "Body": ["We are on it."]}
        expected = base64.b64encode(f"AC{'1' * 32}:tw-token".encode()).decode()
        assert headers["Authorization"] == f"Basic {expected}"
    finally:
        twilio.close()


def test_a_chat_reply_is_signed_the_standard_webhooks_way(client, manager_client):
    widget = _Hub(answer=b"{}", status=200)
    try:
        channel = _channel(manager_client, kind="chat", name="Widget", callback_url=widget.url)
        client.post(
            channel["inbound_url"],
            {"conversation_id": "c-42", "from": {"id": "v1"}, "text": "Hi", "external_id": "1"},
            content_type="application/json",
            HTTP_X_CHANNEL_SECRET=channel["secret"],
        )
        reply = _reply(Ticket.objects.get(), "Hello from support")
        assert pushes_send() == 1
        [(path, headers, body)] = widget.requests
        key = "whsec_" + base64.b64encode(channel["secret"].encode()).decode()
        payload = Webhook(key).verify(body, {k.lower(): v for k, v in headers.items()})
        assert payload["conversation_id"] == "c-42"
        assert payload["message"]["text"] == "Hello from support"
        reply.refresh_from_db()
        assert reply.delivery_status == "sent"
        # A receiver answering 500 keeps it pending, with the error.
        widget.status = 500
        second = _reply(Ticket.objects.get(), "Again")
        pushes_send()
        second.refresh_from_db()
        assert second.delivery_status == "pending" and "500" in second.delivery_error
    finally:
        widget.close()


def test_a_native_ticket_pushes_nothing(make_ticket):
    _reply(make_ticket(), "Hello")
    assert not ProviderPush.objects.exists()


def test_twilio_status_callbacks_update_the_reply(client, manager_client, settings):
    settings.PUBLIC_BASE_URL = "https://support.acme.test"
    twilio = _Hub(answer=b'{"sid": "SMout1", "status": "queued"}')
    try:
        channel = _channel(
            manager_client,
            kind="sms",
            name="Texts",
            phone_number="+15550001111",
            account_sid="AC" + "2" * 32,
            auth_token="tw-token",
            base_url=twilio.url,
        )
        url = f"http://testserver{channel['inbound_url']}"

        def post(params):
            return client.post(
                channel["inbound_url"],
                data=urlencode(params),
                content_type="application/x-www-form-urlencoded",
                HTTP_X_TWILIO_SIGNATURE=twilio_signature("tw-token", url, params),
            )

        post({"From": "+15559998888", "To": "+15550001111", "Body": "Hi", "MessageSid": "SM1"})
        reply = _reply(Ticket.objects.get(), "On its way.")
        pushes_send()
        form = parse_qs(twilio.requests[0][2].decode())
        assert form["StatusCallback"] == [
            f"https://support.acme.test/api/v1/integrations/sms/twilio/{channel['id']}"
        ]
        status = {"MessageSid": "SMout1", "MessageStatus": "undelivered", "ErrorCode": "30003"}
        assert post(status).status_code == 200
        reply.refresh_from_db()
        assert reply.delivery_status == "failed" and "30003" in reply.delivery_error
        assert Ticket.objects.get().messages.count() == 2  # a callback is not a message
    finally:
        twilio.close()
