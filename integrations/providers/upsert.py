"""Writing what a provider told us, set-based: one page of tickets (with their messages)
in one transaction, a handful of queries and bulk writes whatever the page size.

Tickets are keyed by (organization, source, external_id) and messages by (ticket,
external_id), both unique in the database. A ticket is written only when the provider's
`updated_at` is later than the version we hold (`Ticket.external_updated_at`), so a
re-run writes nothing and an older version seen late is ignored. Imports record no
outbox events: they trigger no automations, SLA clocks or push-back, and their past
cannot breach an SLA.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from integrations.providers import lookups  # noqa: F401  (registers __any_of)
from integrations.providers.bulk import bulk_insert, uuids
from integrations.providers.records import ExtMessage, ExtPerson, ExtTicket
from tickets import lifecycle
from tickets.models import Customer, Message, Tag, Ticket
from tickets.services.common import PREVIEW_LENGTH, SEARCH_TEXT_MAX, TAG_MAX_LENGTH

TICKET_FIELDS = [
    "subject",
    "status",
    "priority",
    "channel",
    "assignee",
    "tag_names",
    "external_updated_at",
    "status_changed_at",
    "resolved_at",
    "closed_at",
    "first_response_at",
    "message_count",
    "last_message_at",
    "last_message_preview",
    "last_message_from_agent",
    "last_customer_message_at",
    "last_agent_reply_at",
    "search_text",
    "updated_at",
]


_NOBODY = ExtPerson(external_id="")


class _NewTicket:
    """A ticket being created: its columns as attributes (attnames). Cheaper than a model
    instance, and all bulk_insert needs."""

    def __init__(self, **columns):
        self.__dict__.update(columns)

    @property
    def pk(self):
        return self.id


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    messages_created: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.skipped += other.skipped
        self.failed += other.failed
        self.messages_created += other.messages_created
        self.notes.extend(other.notes)


def _latest(tickets: list[ExtTicket]) -> dict[str, ExtTicket]:
    """One version per ticket: the latest (a page can repeat a ticket)."""
    latest: dict[str, ExtTicket] = {}
    for t in tickets:
        if t.external_id not in latest or t.updated_at >= latest[t.external_id].updated_at:
            latest[t.external_id] = t
    return latest


def _existing(account, external_ids) -> dict[str, dict]:
    return {
        row["external_id"]: row
        for row in Ticket.objects.filter(
            organization_id=account.organization_id,
            source=account.provider,
            external_id__any_of=list(external_ids),
        ).values(
            "pk",
            "external_id",
            "external_updated_at",
            "status",
            "message_count",
            "last_message_at",
            "last_message_preview",
            "last_message_from_agent",
            "last_customer_message_at",
            "last_agent_reply_at",
            "first_response_at",
            "search_text",
            "resolved_at",
            "closed_at",
            "status_changed_at",
            "created_at",
        )
    }


def _ignored(account, ticket: ExtTicket) -> bool:
    ignore = {t.lower() for t in account.ignore_tags or []}
    return bool(ignore & set(ticket.tags))


def tickets_to_fetch(account, tickets: list[ExtTicket]) -> tuple[list[ExtTicket], int]:
    """The tickets worth fetching messages for (new, or newer than what we hold, and not
    deleted or filtered out) and how many were skipped as unchanged. One query."""
    latest = _latest(tickets)
    existing = _existing(account, latest)
    fresh, skipped = [], 0
    for t in latest.values():
        row = existing.get(t.external_id)
        if t.deleted or _ignored(account, t):
            continue
        if row and row["external_updated_at"] and t.updated_at <= row["external_updated_at"]:
            skipped += 1
            continue
        fresh.append(t)
    return fresh, skipped


def _customers(account, people: list[ExtPerson]) -> dict[str, object]:
    """Customer ids by the provider's person id: matched by email, else by the provider
    id (`<provider>:<id>` as external id), else created, in at most four queries."""
    org, source = account.organization_id, account.provider
    by_person: dict[str, object] = {}
    emails = {p.email for p in people if p.email}
    by_email = {}
    if emails:
        for pk, email in Customer.objects.filter(
            organization_id=org, email__any_of=emails
        ).values_list("pk", "email"):
            by_email.setdefault(email.lower(), pk)
    keys = {f"{source}:{p.external_id}": p for p in people}
    by_key = dict(
        Customer.objects.filter(organization_id=org, external_id__any_of=list(keys)).values_list(
            "external_id", "pk"
        )
    )
    missing = []
    for key, p in keys.items():
        pk = by_email.get(p.email) if p.email else None
        pk = pk or by_key.get(key)
        if pk:
            by_person[p.external_id] = pk
        else:
            missing.append(
                Customer(
                    organization_id=org,
                    external_id=key[:128],
                    name=(p.name or p.email or f"{source} customer {p.external_id}")[:200],
                    email=p.email if "@" in p.email else "",
                )
            )
    if missing:
        Customer.objects.bulk_create(missing, ignore_conflicts=True)
        for key, pk in Customer.objects.filter(
            organization_id=org, external_id__any_of=[c.external_id for c in missing]
        ).values_list("external_id", "pk"):
            by_person[key.split(":", 1)[1]] = pk
    return by_person


def _agents(account, emails) -> dict[str, object]:
    emails = {e for e in emails if e}
    if not emails:
        return {}
    return {
        email.lower(): pk
        for pk, email in Agent.objects.filter(
            organization_id=account.organization_id, email__any_of=emails
        ).values_list("pk", "email")
    }


def _status_times(ticket: Ticket, status: str, at) -> None:
    """The timestamps our status constraints need (closed_at, resolved_at)."""
    if status == lifecycle.CLOSED and ticket.closed_at is None:
        ticket.closed_at = at
    if status in lifecycle.DONE_STATUSES and ticket.resolved_at is None:
        ticket.resolved_at = at
    if status in lifecycle.ACTIVE_STATUSES:
        ticket.closed_at = ticket.resolved_at = None


def _fold_messages(ticket: Ticket, messages: list[ExtMessage]) -> None:
    """The conversation's denormalised fields, advanced by new messages (imports only
    ever add messages), as message_add keeps them."""
    for m in sorted(messages, key=lambda m: m.created_at):
        ticket.message_count += 1
        ticket.search_text = (ticket.search_text + "\n" + m.text.lower())[:SEARCH_TEXT_MAX]
        if ticket.last_message_at is None or m.created_at >= ticket.last_message_at:
            ticket.last_message_at = m.created_at
            ticket.last_message_preview = " ".join(m.text.split())[:PREVIEW_LENGTH]
            ticket.last_message_from_agent = m.from_agent
        if m.internal:
            continue
        if m.from_agent:
            if ticket.last_agent_reply_at is None or m.created_at > ticket.last_agent_reply_at:
                ticket.last_agent_reply_at = m.created_at
            if ticket.first_response_at is None and m.created_at >= ticket.created_at:
                ticket.first_response_at = m.created_at
        elif (
            ticket.last_customer_message_at is None
            or m.created_at > ticket.last_customer_message_at
        ):
            ticket.last_customer_message_at = m.created_at


def _normalised(text: str) -> str:
    return " ".join(text.split())


@transaction.atomic
def page_upsert(account, tickets: list[ExtTicket]) -> Counts:
    """Write one page: tickets created or updated (deleted ones closed), their tags and
    new messages. Tickets whose messages were not fetched (`messages is None`) get their
    fields only. Returns the counts; the whole page commits or none of it."""
    counts = Counts()
    latest = _latest(tickets)
    existing = _existing(account, latest)
    org = account.organization_id
    creating: list[ExtTicket] = []
    updating: list[tuple[ExtTicket, dict]] = []
    closing: list[dict] = []
    for t in latest.values():
        row = existing.get(t.external_id)
        if t.deleted:
            if row and row["status"] != lifecycle.CLOSED:
                closing.append(row)
            else:
                counts.skipped += 1
            continue
        if _ignored(account, t):
            counts.skipped += 1
            continue
        if row and row["external_updated_at"] and t.updated_at <= row["external_updated_at"]:
            counts.skipped += 1
            continue
        if row:
            updating.append((t, row))
        else:
            creating.append(t)

    ignore_senders = {s.lower() for s in account.ignore_senders or []}
    for t in [*creating, *(t for t, _ in updating)]:
        if t.messages is not None and ignore_senders:
            t.messages = [
                m for m in t.messages if not (m.author and m.author.email in ignore_senders)
            ]

    if closing:
        rows = []
        for row in closing:
            ticket = Ticket(
                pk=row["pk"], closed_at=row["closed_at"], resolved_at=row["resolved_at"]
            )
            ticket.status = lifecycle.CLOSED
            _status_times(ticket, lifecycle.CLOSED, ticket.closed_at or _now())
            ticket.status_changed_at = _now()
            rows.append(ticket)
        Ticket.objects.bulk_update(
            rows, ["status", "closed_at", "resolved_at", "status_changed_at"]
        )
        counts.updated += len(rows)

    writing = [*creating, *(t for t, _ in updating)]
    if not writing:
        return counts

    people = [t.requester for t in creating if t.requester]
    customers = _customers(account, people) if people else {}
    fallback = None
    agent_emails = {t.assignee_email for t in writing}
    agent_emails |= {
        m.author.email
        for t in writing
        for m in t.messages or []
        if m.from_agent and m.author and m.author.email
    }
    agents = _agents(account, agent_emails)
    for t in writing:
        if t.assignee_email and t.assignee_email not in agents:
            counts.notes.append(
                f"ticket {t.external_id}: assignee {t.assignee_email} is not an agent here; "
                "left unassigned"
            )

    now = _now()
    objects: dict[str, Ticket | _NewTicket] = {}
    new_ids = iter(uuids(len(creating)))
    for t in creating:
        customer_id = customers.get(t.requester.external_id) if t.requester else None
        if customer_id is None:
            fallback = (
                fallback
                or _customers(account, [ExtPerson(external_id="unknown", name="Unknown customer")])[
                    "unknown"
                ]
            )
            customer_id = fallback
        objects[t.external_id] = _NewTicket(
            id=next(new_ids),
            organization_id=org,
            customer_id=customer_id,
            source=account.provider,
            external_id=t.external_id,
            created_at=t.created_at,
            status_changed_at=t.updated_at,
            message_count=0,
            search_text=(t.subject or "").lower()[:500],
            last_message_at=None,
            last_message_preview="",
            last_message_from_agent=False,
            last_customer_message_at=None,
            last_agent_reply_at=None,
            first_response_at=None,
            resolved_at=None,
            closed_at=None,
        )
    for t, row in updating:
        ticket = Ticket(
            pk=row["pk"],
            organization_id=org,
            created_at=row["created_at"],
            message_count=row["message_count"],
            last_message_at=row["last_message_at"],
            last_message_preview=row["last_message_preview"],
            last_message_from_agent=row["last_message_from_agent"],
            last_customer_message_at=row["last_customer_message_at"],
            last_agent_reply_at=row["last_agent_reply_at"],
            first_response_at=row["first_response_at"],
            search_text=row["search_text"],
            resolved_at=row["resolved_at"],
            closed_at=row["closed_at"],
            status_changed_at=row["status_changed_at"],
        )
        ticket._old_status = row["status"]
        objects[t.external_id] = ticket

    for t in writing:
        ticket = objects[t.external_id]
        ticket.subject = t.subject or "(no subject)"
        if getattr(ticket, "_old_status", t.status) != t.status:
            ticket.status_changed_at = t.updated_at
        ticket.status = t.status
        ticket.priority = t.priority
        ticket.channel = t.channel
        ticket.assignee_id = agents.get(t.assignee_email)
        ticket.tag_names = sorted(set(t.tags))
        ticket.external_updated_at = t.updated_at
        ticket.updated_at = now
        _status_times(ticket, t.status, t.updated_at)

    # Messages: the new ones only; an agent reply of ours that the provider echoes back
    # (pushed, its id not recorded yet) is matched by its text instead of duplicated.
    # Messages already held are keyed by (ticket external id, message external id):
    # strings hash faster than UUIDs, and a page holds 5,000 messages.
    external_of = {objects[t.external_id].pk: t.external_id for t, _ in updating}
    known: set[tuple] = set()
    echoes: dict[tuple, list] = defaultdict(list)
    if external_of:
        for ticket_id, external_id, content, status in Message.all_objects.filter(
            ticket_id__in=list(external_of)
        ).values_list("ticket_id", "external_id", "content", "delivery_status"):
            if external_id:
                known.add((external_of[ticket_id], external_id))
            elif status:
                echoes[(ticket_id, _normalised(content))].append(external_id)
    fresh_by_ticket: list[tuple] = []
    claimed: list[tuple] = []
    for t in writing:
        ticket = objects[t.external_id]
        fresh = []
        for m in t.messages or []:
            key = (t.external_id, m.external_id)
            if key in known or not m.text:
                continue
            if echoes and m.from_agent and not m.internal:
                echo = (ticket.pk, _normalised(m.text))
                if echoes.get(echo):
                    echoes[echo].pop()
                    claimed.append((ticket.pk, m.text, m.external_id))
                    continue
            known.add(key)
            fresh.append(m)
        _fold_messages(ticket, fresh)
        if fresh:
            fresh_by_ticket.append((t, ticket.pk, fresh))

    new_messages: list[dict] = []  # rows (attname -> value): no model instances

    def message_rows() -> None:
        for t, ticket_id, fresh in fresh_by_ticket:
            for m in fresh:
                author = m.author or _NOBODY
                new_messages.append(
                    {
                        "organization_id": org,
                        "ticket_id": ticket_id,
                        "content": m.text,
                        "from_agent": m.from_agent,
                        "is_internal": m.internal,
                        "sent_to_customer": m.from_agent and not m.internal,
                        "author_name": author.name[:200],
                        "author_email": author.email if "@" in author.email else "",
                        "author_agent_id": agents.get(author.email) if m.from_agent else None,
                        "channel": t.channel,
                        "external_id": m.external_id,
                        "attachments": m.attachments,
                        "created_at": m.created_at,
                    }
                )

    if creating:
        # The message rows are built while PostgreSQL digests the tickets' (their indexes).
        bulk_insert(Ticket, [objects[t.external_id] for t in creating], meanwhile=message_rows)
    else:
        message_rows()
    if updating:
        Ticket.objects.bulk_update(
            [objects[t.external_id] for t, _ in updating], TICKET_FIELDS, batch_size=500
        )
    _tags_write(account, writing, objects, replace=[objects[t.external_id].pk for t, _ in updating])
    bulk_insert(Message, new_messages)
    for ticket_id, text, external_id in claimed:
        ours = (
            Message.all_objects.filter(ticket_id=ticket_id, external_id="", from_agent=True)
            .exclude(delivery_status="")
            .order_by("created_at")
            .values_list("pk", "content")
        )
        pk = next((pk for pk, c in ours if _normalised(c) == _normalised(text)), None)
        if pk:
            Message.all_objects.filter(pk=pk).update(external_id=external_id)
    counts.created += len(creating)
    counts.updated += len(updating)
    counts.messages_created += len(new_messages)
    return counts


def _tags_write(account, writing, objects, *, replace) -> None:
    names = sorted({n for t in writing for n in t.tags})
    through = Ticket.tags.through
    if replace:
        through.objects.filter(ticket_id__in=replace).delete()
    if not names:
        return
    org = account.organization_id
    Tag.objects.bulk_create(
        [Tag(organization_id=org, name=n[:TAG_MAX_LENGTH]) for n in names], ignore_conflicts=True
    )
    tags = dict(
        Tag.objects.filter(
            organization_id=org, name__any_of=[n[:TAG_MAX_LENGTH] for n in names]
        ).values_list("name", "pk")
    )
    # New tickets have no links yet and replaced ones had theirs deleted above: no
    # conflict is possible, so the links go in with COPY.
    bulk_insert(
        through,
        [
            {"ticket_id": objects[t.external_id].pk, "tag_id": tags[n]}
            for t in writing
            for n in sorted({n[:TAG_MAX_LENGTH] for n in t.tags})
            if n in tags
        ],
    )


def _now():
    return timezone.now()
