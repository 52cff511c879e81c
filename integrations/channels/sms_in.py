"""Inbound SMS, Twilio's format: the form-encoded message webhook (From, To, Body,
MessageSid, NumMedia, MediaUrl0…), verified by X-Twilio-Signature: base64
HMAC-SHA1, keyed with the auth token, of the full URL Twilio called followed by each
POST parameter's name and value, sorted by name (Twilio's RequestValidator does the
same). Threads by the sender's number onto their open SMS ticket, else opens one; the
same MessageSid twice is one effect."""

from __future__ import annotations

import base64
import hashlib
import hmac

from agents.exceptions import DomainError
from integrations.channels.intake import Inbound, Outcome, intake, open_ticket_for
from integrations.secrets import SecretUnreadable, secret_open


def twilio_signature(auth_token: str, url: str, params: dict) -> str:
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    mac = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def twilio_valid(channel, url: str, params: dict, signature: str) -> bool:
    try:
        token = secret_open(channel.auth_token)
    except SecretUnreadable:
        return False
    if not token or not signature:
        return False
    expected = twilio_signature(token, url, params)
    return hmac.compare_digest(expected.encode(), signature.encode())


def sms_receive(channel, params: dict) -> Outcome:
    missing = [name for name in ("From", "MessageSid") if not params.get(name)]
    if missing:
        raise DomainError(f"Missing {', '.join(missing)}.", field=missing[0])
    sender = params["From"].strip()
    media = []
    try:
        count = min(int(params.get("NumMedia") or 0), 10)
    except ValueError:
        raise DomainError("NumMedia is a number.", field="NumMedia") from None
    for i in range(count):
        if params.get(f"MediaUrl{i}"):
            media.append(
                {
                    "name": f"media-{i}",
                    "content_type": params.get(f"MediaContentType{i}", ""),
                    "size": 0,
                    "url": params[f"MediaUrl{i}"],
                }
            )
    text = (params.get("Body") or "").strip()
    if not text and not media:
        raise DomainError("Body is empty and there is no media.", field="Body")
    return intake(
        channel,
        Inbound(
            key=params["MessageSid"],
            text=text or "(media)",
            subject=f"SMS from {sender}",
            phone=sender[:40],
            thread_ticket=open_ticket_for(channel, phone=sender),
            attachments=media,
            channel_label="sms",
        ),
    )


# Twilio's MessageStatus -> our delivery state (queued/sending/accepted stay pending).
STATUSES = {"sent": "sent", "delivered": "sent", "read": "sent", "failed": "failed"}
STATUSES["undelivered"] = "failed"


def sms_status(channel, params: dict) -> int:
    """A status callback for a message we sent (MessageSid, MessageStatus, ErrorCode):
    the reply's delivery state follows. Returns how many messages it updated."""
    from integrations.models import ProviderPush
    from tickets.models import Message

    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not sid or not status:
        raise DomainError("MessageSid and MessageStatus are required.", field="MessageStatus")
    state = STATUSES.get(status)
    if state is None:
        return 0
    error = (
        f"Twilio: {status} (error {params.get('ErrorCode') or '?'})" if state == "failed" else ""
    )
    pushes = ProviderPush.objects.filter(channel=channel, external_id=sid)
    message_ids = list(pushes.values_list("message_id", flat=True))
    if state == "failed":
        pushes.update(status=ProviderPush.Status.FAILED, last_error=error)
    return Message.all_objects.filter(pk__in=message_ids).update(
        delivery_status=state, delivery_error=error
    )
