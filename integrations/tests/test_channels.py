"""Email, SMS and chat in: real RFC 822 samples, Twilio's documented signature vector,
chat threading; each channel's idempotency, loop protection and bad input."""

from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from integrations.channels.sms_in import twilio_signature
from integrations.models import ChannelAccount, ChannelReceipt
from tickets.models import Customer, Message, Ticket
from tickets.services import message_add, ticket_transition

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/channels"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _channel(client, **body):
    response = client.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def email_channel(manager_client):
    return _channel(manager_client, kind="email", name="Support", address="support@acme.test")


def _mail(subject="Where is my order?", body="It has not arrived.", **headers):
    message = EmailMessage()
    message["From"] = headers.pop("From", "Ada Buyer <ada@example.com>")
    message["To"] = "support@acme.test"
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("Message_ID", "<m1@example.com>")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _send(client, channel, message, secret=None):
    raw = message if isinstance(message, bytes) else message.as_bytes()
    return client.post(
        channel["inbound_url"],
        data=raw,
        content_type="message/rfc822",
        HTTP_X_CHANNEL_SECRET=channel["secret"] if secret is None else secret,
    )


def test_a_channel_shows_its_secret_once_and_can_rotate_it(manager_client, email_channel):
    assert email_channel["secret"].startswith("chs_")
    shown = manager_client.get(f"{URL}/{email_channel['id']}").json()
    assert "secret" not in shown and email_channel["secret"] not in str(shown)
    rotated = manager_client.post(f"{URL}/{email_channel['id']}/rotate-secret").json()["secret"]
    assert rotated != email_channel["secret"]
    assert _send(manager_client, email_channel, _mail()).status_code == 401  # the old one
    assert _send(manager_client, email_channel, _mail(), secret=rotated).status_code == 202


def test_a_new_email_opens_a_ticket_and_a_reply_threads_by_headers(
    client, email_channel, organization
):
    first = _send(client, email_channel, _mail())
    assert first.status_code == 202 and first.json()["outcome"] == "new"
    ticket = Ticket.objects.get(pk=first.json()["ticket_id"])
    assert ticket.subject == "Where is my order?" and ticket.channel == "email"
    assert ticket.customer.email == "ada@example.com"
    reply = _mail(
        subject="Re: Where is my order?",
        body="Any news?\n\nOn Mon, 1 Dec 2026 Support wrote:\n> We are looking.\n",
        Message_ID="<m2@example.com>",
        In_Reply_To="<m1@example.com>",
        References="<m1@example.com>",
    )
    second = _send(client, email_channel, reply)
    assert second.json()["outcome"] == "threaded" and second.json()["ticket_id"] == str(ticket.pk)
    ticket.refresh_from_db()
    assert ticket.message_count == 2
    assert ticket.last_message_preview == "Any news?"  # the quote is left out of the preview
    assert "We are looking." in Message.objects.get(external_id="<m2@example.com>").content


def test_a_ticket_token_in_the_subject_threads_and_a_closed_ticket_reopens(
    client, email_channel, make_ticket
):
    ticket = make_ticket(subject="Refund")
    ticket_transition(ticket=ticket, to_status="closed", actor=None)
    number = str(ticket.pk)[:8]
    response = _send(client, email_channel, _mail(subject=f"Re: Refund [#T-{number}]"))
    assert response.json()["ticket_id"] == str(ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_a_reply_to_a_long_closed_ticket_opens_a_follow_up(
    client, email_channel, make_ticket, settings
):
    settings.EMAIL_FOLLOWUP_AFTER_DAYS = 14
    ticket = make_ticket(subject="Refund")
    ticket_transition(ticket=ticket, to_status="closed", actor=None)
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - timedelta(days=30))
    response = _send(client, email_channel, _mail(subject=f"Re: Refund [#T-{str(ticket.pk)[:8]}]"))
    assert response.json()["outcome"] == "new" and response.json()["ticket_id"] != str(ticket.pk)


def test_the_same_message_id_twice_is_one_effect(client, email_channel):
    assert _send(client, email_channel, _mail()).json()["duplicate"] is False
    again = _send(client, email_channel, _mail())
    assert again.status_code == 202 and again.json()["duplicate"] is True
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"From": "MAILER-DAEMON@mail.example.com"},
    ],
)
def test_auto_replies_and_bounces_open_nothing(client, email_channel, headers):
    response = _send(client, email_channel, _mail(**headers))
    assert response.status_code == 202 and response.json()["outcome"] == "ignored"
    assert not Ticket.objects.exists()


def test_a_delivery_status_report_opens_nothing(client, email_channel):
    raw = (
        b"From: MAILER-DAEMON <postmaster@mail.example.com>\r\nTo: support@acme.test\r\n"
        b"Subject: Undelivered\r\nMessage-ID: <b1@mail>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n--b--\r\n"
    )
    assert _send(client, email_channel, raw).json()["outcome"] == "ignored"
    assert not Ticket.objects.exists()


def test_html_only_multipart_with_an_attachment_and_a_latin1_body(client, email_channel):
    message = _mail(Message_ID="<m3@example.com>")
    message.set_content("<p>Hello <b>there</b></p><script>x()</script>", subtype="html")
    message.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="a.pdf"
    )
    response = _send(client, email_channel, message)
    stored = Message.objects.get(external_id="<m3@example.com>")
    assert stored.content == "Hello there" and "<" not in stored.content
    assert stored.attachments[0]["name"] == "a.pdf" and stored.attachments[0]["size"] == 13
    assert response.status_code == 202
    latin = (
        "From: =?iso-8859-1?q?Jos=E9?= <jose@example.com>\r\nTo: support@acme.test\r\n"
        "Subject: =?iso-8859-1?q?Caf=E9?=\r\nMessage-ID: <m4@example.com>\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\nUn caf=E9, s'il vous pla=EEt.\r\n"
    ).encode("ascii")
    assert _send(client, email_channel, latin).status_code == 202
    ticket = Message.objects.get(external_id="<m4@example.com>").ticket
    assert ticket.subject == "Café" and "café" in ticket.messages.get().content


def test_oversize_attachments_are_a_413_writing_nothing(client, email_channel, settings):
    settings.EMAIL_ATTACHMENT_MAX_BYTES = 1000
    message = _mail()
    message.add_attachment(b"x" * 2000, maintype="application", subtype="zip", filename="big.zip")
    assert _send(client, email_channel, message).status_code == 413
    assert not Ticket.objects.exists() and not ChannelReceipt.objects.exists()


def test_bad_email_input(client, email_channel):
    assert _send(client, email_channel, _mail(), secret="wrong").status_code == 401
    assert _send(client, email_channel, b"").status_code == 400
    assert _send(client, email_channel, b"not an email at all").status_code == 400
    unknown = dict(email_channel, inbound_url=email_channel["inbound_url"].replace(
        email_channel["id"], "00000000-0000-0000-0000-000000000000"))  # fmt: skip
    assert _send(client, unknown, _mail()).status_code == 404
    assert not Ticket.objects.exists()


def test_in_reply_to_cannot_reach_another_organizations_ticket(client, email_channel):
    from agents.tests.factories import OrganizationFactory
    from tickets.services import ticket_create

    other = OrganizationFactory()
    customer = Customer.objects.create(organization=other, external_id="x", email="x@x.test")
    theirs = ticket_create(organization=other, customer=customer, subject="Theirs", actor=None)
    message_add(
        ticket=theirs, content="secret", from_agent=False, external_id="<t1@x.test>", actor=None
    )
    reply = _mail(In_Reply_To="<t1@x.test>", Message_ID="<evil@example.com>")
    response = _send(client, email_channel, reply)
    assert response.json()["outcome"] == "new" and response.json()["ticket_id"] != str(theirs.pk)
    assert theirs.messages.count() == 1


def test_twilio_signature_matches_the_documented_example():
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_sms_in_threads_by_number_and_is_idempotent(client, manager_client):
    channel = _channel(
        manager_client,
        kind="sms",
        name="Texts",
        phone_number="+15550001111",
        account_sid="AC" + "0" * 32,
        auth_token="tw-token",
    )
    url = f"http://testserver{channel['inbound_url']}"

    def text(sid, body, signature=None):
        params = {"From": "+15559998888", "To": "+15550001111", "Body": body, "MessageSid": sid}
        return client.post(
            channel["inbound_url"],
            data=urlencode(params),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=signature or twilio_signature("tw-token", url, params),
        )

    assert text("SM1", "Hi", signature="bad").status_code == 401
    assert not Ticket.objects.exists()
    first = text("SM1", "Where is my parcel?")
    assert first.status_code == 200 and b"<Response>" in first.content
    text("SM2", "Hello?")
    text("SM2", "Hello?")  # Twilio retried
    ticket = Ticket.objects.get()
    assert ticket.channel == "sms" and ticket.messages.count() == 2
    assert ticket.customer.phone == "+15559998888"


def test_chat_in_threads_by_conversation(client, manager_client):
    channel = _channel(manager_client, kind="chat", name="Widget")

    def say(text, external_id, conversation="conv-1", secret=None):
        return client.post(
            channel["inbound_url"],
            {
                "conversation_id": conversation,
                "from": {"id": "visitor-9", "name": "Vi", "email": "vi@example.com"},
                "text": text,
                "sent_at": "2026-12-01T10:00:00Z",
                "external_id": external_id,
            },
            content_type="application/json",
            HTTP_X_CHANNEL_SECRET=channel["secret"] if secret is None else secret,
        )

    assert say("hi", "c1", secret="nope").status_code == 401
    assert say("hi", "c1").json()["outcome"] == "new"
    assert say("anyone?", "c2").json()["outcome"] == "threaded"
    assert say("anyone?", "c2").json()["duplicate"] is True
    assert say("other", "c1", conversation="conv-2").json()["outcome"] == "new"
    assert Ticket.objects.count() == 2
    assert client.post(
        channel["inbound_url"], {"text": "no sender"}, content_type="application/json",
        HTTP_X_CHANNEL_SECRET=channel["secret"],
    ).status_code == 400  # fmt: skip
    assert ChannelAccount.objects.get().kind == "chat"


def test_multipart_alternative_with_a_forwarded_message(client, email_channel):
    forwarded = _mail(subject="Original", body="The first mail.", Message_ID="<orig@x.test>")
    message = _mail(subject="Fwd: Original", Message_ID="<fwd@example.com>")
    message.set_content("See below.")
    message.add_alternative("<p>See <i>below</i>.</p>", subtype="html")
    message.add_attachment(forwarded)
    assert _send(client, email_channel, message).status_code == 202
    stored = Message.objects.get(external_id="<fwd@example.com>")
    assert stored.content == "See below."  # the text alternative
    names = {a["name"]: a for a in stored.attachments}
    assert names["forwarded.eml"]["content_type"] == "message/rfc822"
    # The HTML is kept as a file, never rendered.
    assert names["original.html"]["content_type"] == "text/html"


def test_the_channel_list_costs_the_same_whatever_its_length(
    manager_client, organization, django_assert_max_num_queries
):
    ChannelAccount.objects.bulk_create(
        ChannelAccount(organization=organization, kind="chat", name=f"W{i}") for i in range(30)
    )
    with django_assert_max_num_queries(8):
        assert len(manager_client.get(f"{URL}?limit=50").json()["channels"]) == 30
