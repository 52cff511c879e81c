"""Push-back: agent replies and status changes on imported tickets go to their provider,
and agents' replies on email, SMS and chat tickets go out on their channel
(integrations/channels/outbound.py).

Fed from the outbox (`message.created` of a public agent reply, `ticket.status_changed`)
on tickets whose source is zendesk or gorgias: a `ProviderPush` row per event (unique,
so an outbox re-run makes none twice), sent by a Celery task after commit and by the
beat's due scan; failures retry with exponential backoff (PROVIDER_PUSH_BACKOFF_SECONDS,
stored in the row), up to PROVIDER_PUSH_MAX_ATTEMPTS, then `failed`. A manager can send
a failed one again (admin action). A reply's state is mirrored on its message
(`delivery_status`, `delivery_error`); the provider's id of the posted reply becomes the
message's external_id, so its echo (webhook or next import) is not a second message.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents.exceptions import DomainError
from integrations.models import IntegrationAccount, ProviderPush
from integrations.providers import gorgias, zendesk
from integrations.providers.http import ProviderError
from integrations.secrets import SecretUnreadable, secret_open
from tickets.models import Message, Ticket, TicketEvent

logger = logging.getLogger(__name__)
SEND_TASK = "integrations.provider_push_send"
PROVIDERS = ("zendesk", "gorgias")
LEASE = timedelta(minutes=5)
GORGIAS_CHANNELS = {"email": "email", "chat": "chat", "sms": "sms", "phone": "phone"}


def _account_for(ticket: Ticket) -> IntegrationAccount | None:
    return (
        IntegrationAccount.objects.filter(
            organization_id=ticket.organization_id, provider=ticket.source, enabled=True
        )
        .order_by("created_at")
        .first()
    )


def pushes_feed(event: TicketEvent) -> None:
    """The outbox handler: a push for an agent reply sent to the customer (to the
    ticket's provider, or on its email, SMS or chat channel), or a status change on a
    ticket imported from a provider. Cheap when there is nothing to push: the event's
    payload is read first."""
    if event.ticket_id is None:
        return
    is_reply = event.kind == "message.created" and bool(
        event.payload.get("from_agent") and event.payload.get("sent_to_customer")
    )
    if not is_reply and event.kind != "ticket.status_changed":
        return
    ticket = Ticket.objects.select_related("customer").filter(pk=event.ticket_id).first()
    if ticket is None:
        return
    account = channel = None
    if ticket.source in PROVIDERS and ticket.external_id:
        account = _account_for(ticket)
    elif is_reply:
        from integrations.channels.outbound import channel_for

        channel = channel_for(ticket)
    if account is None and channel is None:
        return
    if is_reply:
        message = Message.all_objects.filter(pk=event.payload.get("message_id")).first()
        if message is None or message.external_id:  # imported: came from the provider
            return
        kind = ProviderPush.Kind.REPLY
        payload = {"text": message.content, "author_name": message.author_name}
    else:
        message = None
        kind, payload = ProviderPush.Kind.STATUS, {"status": event.payload.get("to")}
    created = ProviderPush.objects.bulk_create(
        [
            ProviderPush(
                organization_id=ticket.organization_id,
                account=account,
                channel=channel,
                ticket=ticket,
                message=message,
                event_id=event.pk,
                kind=kind,
                payload=payload,
                next_attempt_at=timezone.now(),
            )
        ],
        ignore_conflicts=True,
    )
    if message is not None:
        Message.all_objects.filter(pk=message.pk).update(
            delivery_status="pending", delivery_error=""
        )
    if created:
        _send_after_commit()


def _send_after_commit() -> None:
    def send():
        try:
            current_app.send_task(SEND_TASK)
        except Exception:  # broker down: the beat's due scan sends it
            logger.warning("provider push not queued; the beat will send it")

    transaction.on_commit(send)


def _claim(now) -> ProviderPush | None:
    """The next due push, leased (its next attempt moved past the lease) so a second
    worker does not send it too."""
    with transaction.atomic():
        push = (
            ProviderPush.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=ProviderPush.Status.PENDING, next_attempt_at__lte=now)
            .select_related("account", "channel", "ticket", "ticket__customer", "message")
            .order_by("next_attempt_at", "id")
            .first()
        )
        if push is None:
            return None
        push.attempts += 1
        push.next_attempt_at = now + LEASE
        push.save(update_fields=["attempts", "next_attempt_at"])
        return push


def pushes_send(limit: int = 500) -> int:
    """Send due pushes (oldest first) until none is due; returns how many were sent."""
    sent = 0
    for _ in range(limit):
        push = _claim(timezone.now())
        if push is None:
            break
        sent += push_send(push)
    return sent


def _send_zendesk(push: ProviderPush, secret: str) -> str:
    client = zendesk.ZendeskClient(zendesk.http_for(push.account, secret, threads=1))
    if push.kind == ProviderPush.Kind.REPLY:
        answer = client.update(
            push.ticket.external_id, {"comment": {"body": push.payload["text"], "public": True}}
        )
        events = (answer.get("audit") or {}).get("events") or []
        comment = next((e for e in events if e.get("type") == "Comment"), {})
        return str(comment.get("id") or "")
    status = zendesk.STATUSES_BACK.get(push.payload.get("status"), "open")
    client.update(push.ticket.external_id, {"status": status})
    return ""


def _send_gorgias(push: ProviderPush, secret: str) -> str:
    client = gorgias.GorgiasClient(gorgias.http_for(push.account, secret, threads=1))
    if push.kind == ProviderPush.Kind.REPLY:
        channel = GORGIAS_CHANNELS.get(push.ticket.channel, "email")
        customer = push.ticket.customer
        body = {
            "channel": channel,
            "via": "api",
            "from_agent": True,
            "sender": {"email": push.account.username},
            "receiver": {"email": customer.email} if customer.email else None,
            "body_text": push.payload["text"],
        }
        answer = client.post_message(
            push.ticket.external_id, {k: v for k, v in body.items() if v is not None}
        )
        return str(answer.get("id") or "")
    status = gorgias.STATUSES_BACK.get(push.payload.get("status"), "open")
    client.update(push.ticket.external_id, {"status": status})
    return ""


def push_send(push: ProviderPush) -> int:
    """One attempt (the push is claimed); records the outcome. 1 when sent."""
    try:
        if push.channel_id:
            from integrations.channels.outbound import channel_send

            external_id = channel_send(push)
        else:
            secret = secret_open(push.account.api_secret)
            send = _send_zendesk if push.account.provider == "zendesk" else _send_gorgias
            external_id = send(push, secret)
    except (ProviderError, SecretUnreadable, DomainError) as exc:
        status = getattr(exc, "status", 0)
        retriable = isinstance(exc, ProviderError) and (
            status in (0, 409, 429) or (isinstance(status, int) and status >= 500)
        )
        _failed(push, str(exc), retry=retriable)
        return 0
    except Exception as exc:
        logger.exception("provider push %s failed", push.pk)
        _failed(push, f"{type(exc).__name__}: {exc}", retry=True)
        return 0
    now = timezone.now()
    with transaction.atomic():
        ProviderPush.objects.filter(pk=push.pk).update(
            status=ProviderPush.Status.SENT,
            sent_at=now,
            next_attempt_at=None,
            last_error="",
            external_id=external_id[:64],
        )
        if push.message_id:
            fields = {"delivery_status": "sent", "delivery_error": ""}
            taken = (
                Message.all_objects.filter(ticket_id=push.ticket_id, external_id=external_id)
                .exclude(pk=push.message_id)
                .exists()
            )
            if external_id and not taken:
                fields["external_id"] = external_id
            Message.all_objects.filter(pk=push.message_id).update(**fields)
    return 1


def _failed(push: ProviderPush, error: str, *, retry: bool) -> None:
    final = not retry or push.attempts >= settings.PROVIDER_PUSH_MAX_ATTEMPTS
    wait = settings.PROVIDER_PUSH_BACKOFF_SECONDS * 2 ** (push.attempts - 1)
    with transaction.atomic():
        ProviderPush.objects.filter(pk=push.pk).update(
            status=ProviderPush.Status.FAILED if final else ProviderPush.Status.PENDING,
            next_attempt_at=None if final else timezone.now() + timedelta(seconds=wait),
            last_error=error[:2000],
        )
        if push.message_id:
            Message.all_objects.filter(pk=push.message_id).update(
                delivery_status="failed" if final else "pending", delivery_error=error[:2000]
            )
    logger.warning("provider push %s (%s) failed: %s", push.pk, push.kind, error)


def push_retry(push: ProviderPush) -> None:
    """A manager's "send again": a failed (or waiting) push is due now, attempts anew."""
    with transaction.atomic():
        ProviderPush.objects.filter(pk=push.pk).update(
            status=ProviderPush.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        if push.message_id:
            Message.all_objects.filter(pk=push.message_id).update(delivery_status="pending")
        _send_after_commit()
