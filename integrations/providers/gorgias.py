"""Gorgias: the client (cursor-paginated tickets and messages, ticket GET/PUT, message
POST) and the mapping of its objects to ExtTicket / ExtMessage (FORMATS.md Part G)."""

from __future__ import annotations

from datetime import UTC, datetime

from integrations.providers.http import ProviderHTTP
from integrations.providers.records import (
    ExtMessage,
    ExtPerson,
    ExtTicket,
    html_to_text,
    parse_time,
)

PRIORITIES = {"critical": "urgent", "urgent": "urgent", "high": "high", "normal": "normal"}
PRIORITIES["low"] = "low"
STATUSES_BACK = {
    "open": "open",
    "in_progress": "open",
    "pending": "open",
    "resolved": "closed",
    "closed": "closed",
}
CHANNELS = {
    "email": "email",
    "chat": "chat",
    "gorgias_chat": "chat",
    "facebook-messenger": "chat",
    "instagram-direct-message": "chat",
    "whatsapp": "chat",
    "sms": "sms",
    "phone": "phone",
    "aircall": "phone",
}


def base_url(account) -> str:
    return account.base_url or f"https://{account.domain}.gorgias.com"


def http_for(account, secret: str, threads: int = 8) -> ProviderHTTP:
    return ProviderHTTP(
        base_url=base_url(account),
        auth=(account.username, secret),
        per_minute=account.requests_per_minute,
        threads=threads,
    )


class GorgiasClient:
    def __init__(self, http: ProviderHTTP):
        self.http = http

    def tickets_page(self, cursor: str = "", order: str = "updated_datetime:asc") -> dict:
        params = {"limit": 100, "order_by": order}
        if cursor:
            params["cursor"] = cursor
        return self.http.get("/api/tickets", **params)

    def messages(self, ticket_id) -> list[dict]:
        found, cursor = [], ""
        while True:
            params = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = self.http.get(f"/api/tickets/{ticket_id}/messages", **params)
            found.extend(page.get("data") or [])
            cursor = (page.get("meta") or {}).get("next_cursor")
            if not cursor:
                return found

    def ticket(self, ticket_id) -> dict:
        return self.http.get(f"/api/tickets/{ticket_id}")

    def update(self, ticket_id, body: dict) -> dict:
        return self.http.request("PUT", f"/api/tickets/{ticket_id}", json=body)

    def post_message(self, ticket_id, body: dict) -> dict:
        return self.http.request("POST", f"/api/tickets/{ticket_id}/messages", json=body)


def _person(raw: dict | None, is_agent: bool = False) -> ExtPerson | None:
    if not raw:
        return None
    return ExtPerson(
        external_id=str(raw.get("id") or ""),
        email=(raw.get("email") or "").strip().lower(),
        name=raw.get("name")
        or " ".join(p for p in (raw.get("firstname"), raw.get("lastname")) if p),
        is_agent=is_agent,
    )


def ticket_of(raw: dict) -> ExtTicket:
    """An ExtTicket from a list (compact) or full ticket; an embedded `messages` list
    (the full shape) is mapped too. Snoozed tickets (closed, snooze in the future) are
    pending here; spam is closed; trashed is deleted."""
    now = datetime.now(UTC)
    status = "closed" if raw.get("status") == "closed" or raw.get("spam") else "open"
    snooze = parse_time(raw.get("snooze_datetime"))
    if raw.get("status") == "closed" and snooze and snooze > now and not raw.get("spam"):
        status = "pending"
    ticket = ExtTicket(
        external_id=str(raw["id"]),
        subject=(raw.get("subject") or "").strip()[:500],
        status=status,
        priority=PRIORITIES.get(str(raw.get("priority") or "").lower(), "normal"),
        channel=CHANNELS.get(str(raw.get("channel") or "").lower(), "form"),
        created_at=parse_time(raw.get("created_datetime")) or now,
        updated_at=parse_time(raw.get("updated_datetime")) or now,
        requester=_person(raw.get("customer")),
        assignee_email=((raw.get("assignee_user") or {}).get("email") or "").lower(),
        tags=[
            str(t.get("name") if isinstance(t, dict) else t).lower() for t in raw.get("tags") or []
        ],
        deleted=bool(raw.get("trashed_datetime")),
    )
    if isinstance(raw.get("messages"), list):
        ticket.messages = [message_of(m) for m in raw["messages"]]
    return ticket


def message_of(raw: dict) -> ExtMessage:
    internal = raw.get("channel") == "internal-note" or raw.get("public") is False
    from_agent = bool(raw.get("from_agent")) or internal
    text = raw.get("body_text") or raw.get("stripped_text") or ""
    if not text:
        text = html_to_text(raw.get("body_html") or raw.get("stripped_html") or "")
    return ExtMessage(
        external_id=str(raw["id"]),
        text=text.strip(),
        created_at=parse_time(raw.get("sent_datetime") or raw.get("created_datetime"))
        or datetime.now(UTC),
        from_agent=from_agent,
        internal=internal,
        author=_person(raw.get("sender"), is_agent=from_agent),
        attachments=[
            {
                "name": a.get("name") or "",
                "content_type": a.get("content_type") or "",
                "size": a.get("size") or 0,
                "url": a.get("url") or "",
            }
            for a in raw.get("attachments") or []
        ],
    )
