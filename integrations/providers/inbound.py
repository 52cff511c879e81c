"""Provider webhooks in: verified, stored (one row per distinct delivery), answered at
once, then processed in the background through the import's upsert.

Zendesk signs: base64(HMAC-SHA256(key = the webhook's signing secret, msg = the
X-Zendesk-Webhook-Signature-Timestamp header + the raw body)), compared in constant
time; a timestamp more than WEBHOOK_MAX_AGE from now is refused (replay). Gorgias does
not sign: its HTTP integration sends our secret in X-Webhook-Secret, and the ticket is
re-fetched from its API before anything in the body is trusted. Zendesk payloads are
nudges too: the ticket and its comments are read back from the API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from datetime import UTC, datetime, timedelta

from celery import current_app
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.exceptions import DomainError
from integrations.models import InboundEvent, IntegrationAccount
from integrations.providers import gorgias, zendesk
from integrations.providers.http import NotFound, ProviderError
from integrations.providers.records import parse_time
from integrations.providers.upsert import page_upsert
from integrations.secrets import SecretUnreadable, secret_open

logger = logging.getLogger(__name__)
MAX_BODY = 1024 * 1024
WEBHOOK_MAX_AGE = timedelta(minutes=5)
PROCESS_TASK = "integrations.inbound_process"
MAX_ATTEMPTS = 8


class Unauthorized(Exception):
    pass


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def _secret(account) -> str:
    try:
        secret = secret_open(account.webhook_secret)
    except SecretUnreadable:
        secret = ""
    if not secret:
        raise Unauthorized("The account has no webhook secret set: nothing can be verified.")
    return secret


def zendesk_verify(account, headers, body: bytes, now=None) -> None:
    signature = headers.get("X-Zendesk-Webhook-Signature", "")
    stamp = headers.get("X-Zendesk-Webhook-Signature-Timestamp", "")
    if not signature or not stamp:
        raise Unauthorized("X-Zendesk-Webhook-Signature and its timestamp are required.")
    try:
        at = parse_time(stamp)
    except ValueError:
        raise Unauthorized("The signature timestamp is not a date.") from None
    now = now or datetime.now(UTC)
    if abs(now - at) > WEBHOOK_MAX_AGE:
        raise Unauthorized("The signature timestamp is more than 5 minutes away: refused.")
    expected = zendesk_signature(_secret(account), stamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise Unauthorized("The signature does not match.")


def gorgias_verify(account, headers) -> None:
    given = headers.get("X-Webhook-Secret", "")
    if not given or not hmac.compare_digest(_secret(account).encode(), given.encode()):
        raise Unauthorized("X-Webhook-Secret is missing or wrong.")


def _zendesk_ticket_id(payload: dict) -> str:
    ticket = payload.get("ticket") if isinstance(payload.get("ticket"), dict) else None
    detail = payload.get("detail") if isinstance(payload.get("detail"), dict) else None
    value = (ticket or {}).get("id") or (detail or {}).get("id")
    if not value and isinstance(payload.get("subject"), str):
        match = re.fullmatch(r"zen:ticket:(\d+)", payload["subject"])
        value = match.group(1) if match else None
    return str(value or "")


def _gorgias_ticket_id(payload: dict) -> str:
    ticket = payload.get("ticket") if isinstance(payload.get("ticket"), dict) else payload
    return str(ticket.get("id") or "")


def inbound_receive(
    account, *, body: bytes, headers, dedupe: str = ""
) -> tuple[InboundEvent, bool]:
    """Store a verified delivery (the caller verified it); (event, duplicate)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise DomainError("The body is not JSON.", field="body") from None
    if not isinstance(payload, dict):
        raise DomainError("The body must be a JSON object.", field="body")
    find = _zendesk_ticket_id if account.provider == "zendesk" else _gorgias_ticket_id
    ticket_id = find(payload)
    if not ticket_id.isdigit():
        raise DomainError("No ticket id in the body.", field="ticket.id")
    key = dedupe or hashlib.sha256(body).hexdigest()
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                organization_id=account.organization_id,
                account=account,
                dedupe_key=key[:128],
                external_ticket_id=ticket_id,
                payload=payload,
            )
    except IntegrityError:
        return InboundEvent.objects.get(account=account, dedupe_key=key[:128]), True
    transaction.on_commit(lambda: _queue(event.pk))
    return event, False


def _queue(event_id) -> None:
    try:
        current_app.send_task(PROCESS_TASK, kwargs={"event_id": event_id})
    except Exception:  # broker down: the beat's sweep processes it
        logger.warning("inbound webhook %s not queued; the beat will process it", event_id)


def _fetch_zendesk(account, secret, ticket_id):
    client = zendesk.ZendeskClient(zendesk.http_for(account, secret, threads=1))
    raw = client.ticket(ticket_id)
    comments = client.comments(ticket_id)
    ids = {raw.get("requester_id"), raw.get("assignee_id")} | {c.get("author_id") for c in comments}
    users = {u["id"]: u for u in client.users(i for i in ids if i)}
    ticket = zendesk.ticket_of(raw, users)
    ticket.messages = [zendesk.message_of(c, users) for c in comments]
    return ticket


def _fetch_gorgias(account, secret, ticket_id):
    client = gorgias.GorgiasClient(gorgias.http_for(account, secret, threads=1))
    raw = client.ticket(ticket_id)
    ticket = gorgias.ticket_of(raw)
    if ticket.messages is None:
        ticket.messages = [gorgias.message_of(m) for m in client.messages(ticket_id)]
    return ticket


def inbound_process(event: InboundEvent) -> str:
    """Read the ticket back from the provider and upsert it (the import's path). The
    outcome: done, ignored (account disabled, ticket gone) or failed (retried)."""
    account = IntegrationAccount.objects.get(pk=event.account_id)
    status, error = InboundEvent.Status.DONE, ""
    if not account.enabled:
        status = InboundEvent.Status.IGNORED
    else:
        try:
            secret = secret_open(account.api_secret)
            fetch = _fetch_zendesk if account.provider == "zendesk" else _fetch_gorgias
            ticket = fetch(account, secret, event.external_ticket_id)
            page_upsert(account, [ticket])
        except NotFound:
            status = InboundEvent.Status.IGNORED
            error = "The provider no longer has this ticket."
        except (ProviderError, SecretUnreadable) as exc:
            status, error = InboundEvent.Status.FAILED, str(exc)
    attempts = event.attempts + 1
    if status == InboundEvent.Status.FAILED and attempts < MAX_ATTEMPTS:
        status = InboundEvent.Status.PENDING  # the sweep retries it
    InboundEvent.objects.filter(pk=event.pk).update(
        status=status,
        attempts=attempts,
        error=error[:2000],
        processed_at=timezone.now() if status != InboundEvent.Status.PENDING else None,
    )
    return status


def inbound_process_id(event_id) -> str:
    with transaction.atomic():
        event = (
            InboundEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, status=InboundEvent.Status.PENDING)
            .first()
        )
        if event is None:
            return "none"
        return inbound_process(event)


def inbound_sweep(limit: int = 200) -> int:
    """Beat: pending deliveries whose task was lost or whose processing failed, oldest
    first, backing off by attempts."""
    done = 0
    now = timezone.now()
    for event_id, attempts, received in (
        InboundEvent.objects.filter(status=InboundEvent.Status.PENDING)
        .order_by("received_at")
        .values_list("pk", "attempts", "received_at")[:limit]
    ):
        if received > now - timedelta(seconds=30 * 2**attempts):
            continue
        inbound_process_id(event_id)
        done += 1
    return done
