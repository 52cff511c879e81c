"""What every channel does with an inbound message: find or create the customer, thread
the message onto its ticket (or open one), through the ticket services, so SLA,
automations, scores and webhooks follow as for any customer message. A receipt unique
per (channel, key) makes a repeated delivery one effect."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from integrations.models import ChannelAccount, ChannelReceipt
from tickets import lifecycle
from tickets.models import Customer, Message, Ticket
from tickets.services import message_add, ticket_create


@dataclass
class Inbound:
    key: str  # dedupe: Message-ID, MessageSid, the chat message id
    text: str
    subject: str = ""
    email: str = ""
    phone: str = ""
    name: str = ""
    person_id: str = ""  # chat: the widget's visitor id
    thread_ticket: Ticket | None = None  # found by the channel's own threading
    attachments: list[dict] = field(default_factory=list)
    channel_label: str = "email"  # tickets.models.Channel


@dataclass
class Outcome:
    receipt: ChannelReceipt
    duplicate: bool


def _customer(channel: ChannelAccount, inbound: Inbound) -> Customer:
    org = channel.organization_id
    found = None
    if inbound.email:
        found = Customer.objects.filter(organization_id=org, email=inbound.email).first()
    if found is None and inbound.phone:
        found = Customer.objects.filter(organization_id=org, phone=inbound.phone).first()
    key = (
        f"chat:{inbound.person_id}"
        if inbound.person_id
        else (f"email:{inbound.email}" if inbound.email else f"sms:{inbound.phone}")
    )
    if found is None:
        found = Customer.objects.filter(organization_id=org, external_id=key[:128]).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Customer.objects.create(
                organization_id=org,
                external_id=key[:128],
                name=(inbound.name or inbound.email or inbound.phone)[:200],
                email=inbound.email if "@" in inbound.email else "",
                phone=inbound.phone[:40],
            )
    except IntegrityError:
        return Customer.objects.get(organization_id=org, external_id=key[:128])


def intake(channel: ChannelAccount, inbound: Inbound, *, ignore_reason: str = "") -> Outcome:
    """Record the message once: threaded onto `inbound.thread_ticket` (reopened by the
    lifecycle if done), or a new ticket. `ignore_reason` (an auto-reply, a bounce)
    records the receipt and writes nothing else."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                receipt = ChannelReceipt.objects.create(
                    organization_id=channel.organization_id,
                    channel=channel,
                    key=inbound.key[:255],
                    outcome="ignored" if ignore_reason else "pending",
                    note=ignore_reason[:300],
                )
        except IntegrityError:
            return Outcome(ChannelReceipt.objects.get(channel=channel, key=inbound.key[:255]), True)
        if ignore_reason:
            return Outcome(receipt, False)
        customer = _customer(channel, inbound)
        label = f"{channel.kind}: {channel.name}"[:200]
        ticket = inbound.thread_ticket
        if ticket is not None and ticket.organization_id != channel.organization_id:
            ticket = None  # never another organization's conversation
        outcome = "threaded"
        if ticket is None:
            ticket = ticket_create(
                organization=channel.organization,
                customer=customer,
                subject=inbound.subject or inbound.text[:80] or f"New {channel.kind} message",
                channel=inbound.channel_label,
                actor=None,
                actor_label=label,
            )
            outcome = "new"
        message = message_add(
            ticket=ticket,
            content=inbound.text or "(no text)",
            from_agent=False,
            author_name=inbound.name or customer.name,
            author_email=inbound.email,
            channel=inbound.channel_label,
            external_id=inbound.key[:128],
            actor=None,
            actor_label=label,
        )
        if inbound.attachments:
            Message.all_objects.filter(pk=message.pk).update(attachments=inbound.attachments)
        receipt.ticket, receipt.message, receipt.outcome = ticket, message, outcome
        receipt.save(update_fields=["ticket", "message", "outcome"])
        return Outcome(receipt, False)


def open_ticket_for(channel: ChannelAccount, **customer_match) -> Ticket | None:
    """The customer's most recent active ticket on this channel kind (SMS threading)."""
    customers = Customer.objects.filter(organization_id=channel.organization_id, **customer_match)
    return (
        Ticket.objects.filter(
            organization_id=channel.organization_id,
            customer__in=customers,
            channel=channel.kind,
            status__in=lifecycle.ACTIVE_STATUSES,
        )
        .order_by("-created_at")
        .first()
    )
