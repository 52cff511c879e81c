"""Inbound chat: `{conversation_id, from: {id, name, email}, text, sent_at, external_id}`
authenticated by X-Channel-Secret; messages thread by conversation_id (the ticket's
source is "chat" and its external id "<channel id>:<conversation_id>"), and the same
external_id twice in a conversation is one effect."""

from __future__ import annotations

from agents.exceptions import DomainError
from integrations.channels.intake import Inbound, Outcome, intake
from tickets.models import Ticket


def chat_receive(channel, body) -> Outcome:
    if not isinstance(body, dict):
        raise DomainError("The body is a JSON object.", field="body")
    sender = body.get("from")
    if not isinstance(sender, dict) or not str(sender.get("id") or "").strip():
        raise DomainError("from.id is required.", field="from.id")
    for name in ("conversation_id", "text", "external_id"):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            raise DomainError(f"{name} is a non-empty string.", field=name)
        if len(value) > (20_000 if name == "text" else 90):
            raise DomainError(f"{name} is too long.", field=name)
    email = sender.get("email") or ""
    if email and (not isinstance(email, str) or "@" not in email):
        raise DomainError("from.email is an email address.", field="from.email")
    conversation = f"{channel.pk}:{body['conversation_id'].strip()}"
    ticket = (
        Ticket.objects.filter(
            organization_id=channel.organization_id, source="chat", external_id=conversation
        )
        .order_by("-created_at")
        .first()
    )
    outcome = intake(
        channel,
        Inbound(
            key=f"{conversation}:{body['external_id'].strip()}",
            text=body["text"].strip(),
            subject=f"Chat with {sender.get('name') or email or sender['id']}",
            email=email.lower(),
            name=str(sender.get("name") or "")[:200],
            person_id=str(sender["id"])[:100],
            thread_ticket=ticket,
            channel_label="chat",
        ),
    )
    if outcome.receipt.outcome == "new" and not outcome.duplicate:
        Ticket.objects.filter(pk=outcome.receipt.ticket_id).update(
            source="chat", external_id=conversation
        )
    return outcome
