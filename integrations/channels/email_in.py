"""Inbound email: a raw RFC 822 message, as mail services forward it.

Threading: In-Reply-To / References name a Message-ID we hold (a message of the
organization, inbound or sent), else a ticket token in the subject ("[#T-1a2b3c4d]",
the ticket number); a reply to a closed ticket reopens it, unless it was closed more
than EMAIL_FOLLOWUP_AFTER_DAYS ago: then a follow-up ticket opens. Auto-replies and
bounces (Auto-Submitted other than "no", Precedence bulk/junk/list, delivery-status
reports, mailer-daemon senders) are recorded and ignored: no ticket, no reply, no mail
loop. The same Message-ID twice is one effect. The body is text/plain, else the HTML
converted to text; the ticket's preview leaves out quoted history and the signature
(the message keeps the full text). Attachments go to Django's storage, capped per file
and per message; an HTML body is converted to text for display and its original is
kept as a file (original.html), never rendered.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
import uuid
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from agents.exceptions import DomainError
from integrations.channels.intake import Inbound, Outcome, intake
from integrations.providers.records import html_to_text
from tickets import lifecycle
from tickets.models import Message, Ticket
from tickets.services.common import PREVIEW_LENGTH

TOKEN = re.compile(r"\[#T-([0-9a-f]{8})\]", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
QUOTE_START = re.compile(
    r"^(On .{0,200} wrote:|-----Original Message-----|From: .+|Le .{0,200} a écrit :|"
    r"Am .{0,200} schrieb .{0,100}:)\s*$",
    re.MULTILINE,
)


class TooLarge(DomainError):
    pass


def _loop_reason(message) -> str:
    auto = (message.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"auto-submitted ({auto})"
    precedence = (message.get("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"precedence {precedence}"
    if message.get_content_type() == "multipart/report":
        return "delivery-status report"
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return "auto-reply header"
    sender = parseaddr(str(message.get("From") or ""))[1].lower()
    if sender.startswith(("mailer-daemon@", "postmaster@")) or not sender:
        return "bounce sender" if sender else "no sender"
    return ""


def _body(message) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    if part.get_content_type() == "text/html":
        return html_to_text(content)
    return content.replace("\r\n", "\n").strip()


def preview_of(text: str) -> str:
    """The new part of a reply: up to the quoted history or the signature."""
    lines = []
    for line in text.split("\n"):
        if line.startswith(">") or line.strip() in ("--", "-- "):
            break
        lines.append(line)
    cut = "\n".join(lines)
    match = QUOTE_START.search(cut)
    if match:
        cut = cut[: match.start()]
    return " ".join(cut.split())[:PREVIEW_LENGTH] or " ".join(text.split())[:PREVIEW_LENGTH]


def _html_original(message) -> tuple[str, str, bytes] | None:
    """The HTML body as received, kept as a file (never rendered: the admin and the API
    show the text)."""
    part = message.get_body(preferencelist=("html",))
    if part is None:
        return None
    return "original.html", "text/html", part.get_payload(decode=True) or b""


def _attachments(channel, message) -> list[dict]:
    per_file = settings.EMAIL_ATTACHMENT_MAX_BYTES
    total_cap = settings.EMAIL_MESSAGE_MAX_BYTES
    found, total = [], 0
    parts = list(message.iter_attachments())
    for part in parts:
        if part.get_content_type() == "message/rfc822":  # a forwarded message, whole
            data = part.as_bytes()
        else:
            data = part.get_payload(decode=True) or b""
        name = part.get_filename() or (
            "forwarded.eml" if part.get_content_type() == "message/rfc822" else "attachment"
        )
        name = name.replace("/", "_")[:150]
        if len(data) > per_file:
            raise TooLarge(
                f"Attachment {name!r} is {len(data):,} bytes; the limit is {per_file:,}.",
                field="attachments",
            )
        total += len(data)
        if total > total_cap:
            raise TooLarge(
                f"The attachments add up to over {total_cap:,} bytes.", field="attachments"
            )
        found.append((name, part.get_content_type(), data))
    original = _html_original(message)
    if original and original[2]:
        found.append(original)
    stored = []
    for name, content_type, data in found:
        path = default_storage.save(
            f"attachments/{channel.organization_id}/{uuid.uuid4().hex}/{name}", ContentFile(data)
        )
        stored.append(
            {"name": name, "content_type": content_type, "size": len(data), "storage_path": path}
        )
    return stored


def _thread(channel, message, subject: str) -> Ticket | None:
    org = channel.organization_id
    ids = MESSAGE_ID.findall(
        " ".join(str(message.get(h) or "") for h in ("In-Reply-To", "References"))
    )
    if ids:
        ids = [f"<{i}>" for i in ids] + ids
        found = (
            Message.all_objects.filter(organization_id=org, external_id__in=ids[:100])
            .order_by("-created_at")
            .values_list("ticket_id", flat=True)
            .first()
        )
        if found:
            return Ticket.objects.filter(pk=found).first()
    token = TOKEN.search(subject)
    if token:
        prefix = token.group(1).lower()
        low = uuid.UUID(prefix + "0" * 24)
        high = uuid.UUID(prefix + "f" * 24)
        return (
            Ticket.objects.filter(organization_id=org, pk__gte=low, pk__lte=high)
            .order_by("pk")
            .first()
        )
    return None


def email_receive(channel, raw: bytes) -> Outcome:
    """Parse, dedupe, thread and record one email (DomainError for malformed input,
    TooLarge for oversize attachments: nothing written)."""
    if not raw.strip():
        raise DomainError("The body is empty: send the raw message (message/rfc822).", field="body")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    try:
        sender_name, sender = parseaddr(str(message.get("From") or ""))
        subject = " ".join(str(message.get("Subject") or "").split())
    except (ValueError, TypeError, IndexError) as exc:
        raise DomainError(f"Malformed headers: {exc}", field="body") from None
    if message.defects and not message.get("From"):
        raise DomainError("Not an RFC 822 message (no From header).", field="body")
    key = str(message.get("Message-ID") or "").strip()
    if not key:
        key = "sha256:" + hashlib.sha256(raw).hexdigest()
    reason = _loop_reason(message)
    if reason:
        return intake(channel, Inbound(key=key, text=""), ignore_reason=reason)
    if "@" not in sender:
        raise DomainError("The From header has no address.", field="From")
    text = _body(message)
    attachments = _attachments(channel, message)
    ticket = _thread(channel, message, subject)
    if ticket is not None and ticket.status == lifecycle.CLOSED:
        closed_long_ago = ticket.closed_at and ticket.closed_at < timezone.now() - timedelta(
            days=settings.EMAIL_FOLLOWUP_AFTER_DAYS
        )
        if closed_long_ago:
            ticket = None  # a follow-up: a new conversation
            subject = TOKEN.sub("", subject).strip() or subject
    outcome = intake(
        channel,
        Inbound(
            key=key,
            text=text,
            subject=TOKEN.sub("", subject).strip() or subject,
            email=sender.lower(),
            name=sender_name,
            thread_ticket=ticket,
            attachments=attachments,
            channel_label="email",
        ),
    )
    if not outcome.duplicate and outcome.receipt.ticket_id:
        Ticket.objects.filter(pk=outcome.receipt.ticket_id).update(
            last_message_preview=preview_of(text)
        )
    return outcome
