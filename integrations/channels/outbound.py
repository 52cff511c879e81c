"""Agents' replies out on the ticket's channel (through integrations/providers/push.py:
a ProviderPush per reply, retried with backoff, its state mirrored on the message).

- Email: Django's email backend (EMAIL_URL), from the channel's address to the
  customer, with a Message-ID of ours, In-Reply-To / References naming the customer's
  messages (so their mail client threads it) and the ticket token in the subject.
- SMS: Twilio's Messages API (`POST {base_url}/2010-04-01/Accounts/{sid}/Messages.json`,
  form To / From / Body, Basic auth sid:token).
- Chat: a JSON POST to the channel's callback_url, signed the Standard Webhooks way
  (webhook-id, webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256 of
  id.timestamp.body>"), keyed with the channel's secret: a receiver verifies with
  standardwebhooks.Webhook("whsec_" + base64(secret)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from email.utils import make_msgid

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse

from integrations.models import ChannelAccount, ChannelReceipt
from integrations.providers.http import ProviderError
from integrations.secrets import secret_open
from integrations.ssrf import url_check
from tickets.models import Message, Ticket


def channel_for(ticket: Ticket) -> ChannelAccount | None:
    """The channel a ticket's customer wrote in on (the latest), if still enabled."""
    if ticket.source == "chat" and ":" in ticket.external_id:
        channel_id = ticket.external_id.split(":", 1)[0]
        return ChannelAccount.objects.filter(
            pk=channel_id, organization_id=ticket.organization_id, enabled=True
        ).first()
    channel_id = (
        ChannelReceipt.objects.filter(ticket=ticket, channel__enabled=True)
        .order_by("-received_at")
        .values_list("channel_id", flat=True)
        .first()
    )
    return ChannelAccount.objects.filter(pk=channel_id).first() if channel_id else None


def _send_email(push) -> str:
    ticket, channel = push.ticket, push.channel
    customer = ticket.customer
    if not customer.email:
        raise ProviderError("The customer has no email address.", 400)
    theirs = list(
        Message.all_objects.filter(ticket=ticket, from_agent=False, external_id__startswith="<")
        .order_by("created_at")
        .values_list("external_id", flat=True)
    )
    domain = channel.address.split("@", 1)[1] if "@" in channel.address else None
    message_id = make_msgid(domain=domain)
    subject = ticket.subject
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    headers = {"Message-ID": message_id}
    if theirs:
        headers |= {"In-Reply-To": theirs[-1], "References": " ".join(theirs[-20:])}
    mail = EmailMessage(
        subject=f"{subject} [#T-{str(ticket.pk)[:8]}]",
        body=push.payload["text"],
        from_email=channel.address or settings.DEFAULT_FROM_EMAIL,
        to=[customer.email],
        headers=headers,
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
    )
    try:
        mail.send(fail_silently=False)
    except Exception as exc:  # smtplib / socket errors: retried
        raise ProviderError(f"SMTP: {type(exc).__name__}: {exc}") from exc
    return message_id


def _post(url: str, **kwargs):
    url_check(url)  # again at send time: DNS may have changed
    try:
        response = requests.post(url, timeout=settings.WEBHOOK_TIMEOUT_SECONDS, **kwargs)
    except requests.RequestException as exc:
        raise ProviderError(f"POST {url}: {type(exc).__name__}") from exc
    if response.status_code >= 400:
        raise ProviderError(
            f"POST {url}: HTTP {response.status_code}: {response.text[:300]}",
            response.status_code,
        )
    return response


def _send_sms(push) -> str:
    channel, customer = push.channel, push.ticket.customer
    if not customer.phone:
        raise ProviderError("The customer has no phone number.", 400)
    base = (channel.base_url or settings.TWILIO_API_URL).rstrip("/")
    form = {"To": customer.phone, "From": channel.phone_number, "Body": push.payload["text"]}
    if settings.PUBLIC_BASE_URL:  # Twilio reports delivery to the same URL as inbound
        form["StatusCallback"] = settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
            "v1:sms-twilio-inbound", kwargs={"channel_id": str(channel.pk)}
        )
    response = _post(
        f"{base}/2010-04-01/Accounts/{channel.account_sid}/Messages.json",
        data=form,
        auth=(channel.account_sid, secret_open(channel.auth_token)),
    )
    try:
        return str(response.json().get("sid") or "")
    except ValueError:
        return ""


def chat_signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    signed = f"{message_id}.{timestamp}.{body}".encode()
    mac = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def _send_chat(push) -> str:
    channel, ticket = push.channel, push.ticket
    if not channel.callback_url:
        raise ProviderError("The chat channel has no callback_url.", 400)
    conversation = ticket.external_id.split(":", 1)[1] if ":" in ticket.external_id else ""
    message_id = f"msg_{uuid.uuid4().hex}"
    body = json.dumps(
        {
            "type": "message.created",
            "conversation_id": conversation,
            "ticket_id": str(ticket.pk),
            "message": {
                "id": str(push.message_id),
                "text": push.payload["text"],
                "author_name": push.payload.get("author_name", ""),
            },
        },
        separators=(",", ":"),
    )
    timestamp = int(time.time())
    _post(
        channel.callback_url,
        data=body.encode(),
        headers={
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": chat_signature(
                secret_open(channel.secret), message_id, timestamp, body
            ),
        },
    )
    return message_id


SENDERS = {"email": _send_email, "sms": _send_sms, "chat": _send_chat}


def channel_send(push) -> str:
    return SENDERS[push.channel.kind](push)
