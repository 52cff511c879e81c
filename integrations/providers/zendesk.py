"""Zendesk Support: the client (incremental cursor export, comments, users, ticket
update) and the mapping of its objects to ExtTicket / ExtMessage (FORMATS.md Part Z)."""

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

STATUSES = {
    "new": "open",
    "open": "open",
    "pending": "pending",
    "hold": "pending",
    "solved": "resolved",
    "closed": "closed",
}
# Ours -> Zendesk, for push-back (in_progress is "open" there).
STATUSES_BACK = {
    "open": "open",
    "in_progress": "open",
    "pending": "pending",
    "resolved": "solved",
    "closed": "closed",
}
PRIORITIES = {"urgent": "urgent", "high": "high", "normal": "normal", "low": "low"}
CHANNELS = {
    "email": "email",
    "mail": "email",
    "chat": "chat",
    "native_messaging": "chat",
    "mobile_sdk": "chat",
    "web_widget": "chat",
    "messaging": "chat",
    "sms": "sms",
    "voice": "phone",
    "phone": "phone",
}


def base_url(account) -> str:
    return account.base_url or f"https://{account.subdomain}.zendesk.com"


def http_for(account, secret: str, threads: int = 8) -> ProviderHTTP:
    return ProviderHTTP(
        base_url=base_url(account),
        auth=(f"{account.email}/token", secret),
        per_minute=account.requests_per_minute,
        threads=threads,
    )


class ZendeskClient:
    def __init__(self, http: ProviderHTTP):
        self.http = http

    def export_page(self, cursor: str, start_time: int | None = None) -> dict:
        """One page of the cursor-based incremental export, users sideloaded."""
        params = {"per_page": 1000, "include": "users"}
        if cursor:
            params["cursor"] = cursor
        else:
            params["start_time"] = start_time or 0
        return self.http.get("/api/v2/incremental/tickets/cursor.json", **params)

    def comments(self, ticket_id) -> list[dict]:
        """Every comment, oldest first: cursor pagination (`meta.has_more`,
        `page[after]`), or the older offset style (`next_page` URL) if that is what
        answers."""
        found, after = [], None
        page = self.http.get(f"/api/v2/tickets/{ticket_id}/comments.json", **{"page[size]": 100})
        while True:
            found.extend(page.get("comments") or [])
            meta = page.get("meta") or {}
            if meta.get("has_more") and meta.get("after_cursor"):
                after = meta["after_cursor"]
                page = self.http.get(
                    f"/api/v2/tickets/{ticket_id}/comments.json",
                    **{"page[size]": 100, "page[after]": after},
                )
            elif not meta and str(page.get("next_page") or "").startswith(self.http.base_url):
                page = self.http.get(page["next_page"])  # never our credentials elsewhere
            else:
                return found

    def users(self, ids) -> list[dict]:
        ids = sorted({int(i) for i in ids if i})
        found = []
        for start in range(0, len(ids), 100):
            chunk = ",".join(str(i) for i in ids[start : start + 100])
            found.extend(self.http.get("/api/v2/users/show_many.json", ids=chunk).get("users", []))
        return found

    def ticket(self, ticket_id) -> dict:
        return self.http.get(f"/api/v2/tickets/{ticket_id}.json")["ticket"]

    def update(self, ticket_id, body: dict) -> dict:
        return self.http.request("PUT", f"/api/v2/tickets/{ticket_id}.json", json={"ticket": body})


def _person(user: dict | None, fallback_id) -> ExtPerson | None:
    if not user and not fallback_id:
        return None
    user = user or {}
    return ExtPerson(
        external_id=str(user.get("id") or fallback_id),
        email=(user.get("email") or "").strip().lower(),
        name=user.get("name") or "",
        is_agent=user.get("role") in ("agent", "admin"),
    )


def _channel(via) -> str:
    channel = (via or {}).get("channel") if isinstance(via, dict) else via
    return CHANNELS.get(str(channel or "").lower(), "form")


def ticket_of(raw: dict, users: dict) -> ExtTicket:
    """An ExtTicket from an export/GET ticket object; `users` maps id -> user object."""
    status = str(raw.get("status") or "open").lower()
    requester = _person(users.get(raw.get("requester_id")), raw.get("requester_id"))
    assignee = users.get(raw.get("assignee_id")) or {}
    return ExtTicket(
        external_id=str(raw["id"]),
        subject=(raw.get("subject") or raw.get("raw_subject") or "").strip()[:500],
        status=STATUSES.get(status, "open"),
        priority=PRIORITIES.get(str(raw.get("priority") or "").lower(), "normal"),
        channel=_channel(raw.get("via")),
        created_at=parse_time(raw.get("created_at")) or datetime.now(UTC),
        updated_at=parse_time(raw.get("updated_at")) or datetime.now(UTC),
        requester=requester,
        assignee_email=(assignee.get("email") or "").lower(),
        tags=[str(t).lower() for t in raw.get("tags") or []],
        deleted=status == "deleted",
    )


def message_of(raw: dict, users: dict) -> ExtMessage:
    author = users.get(raw.get("author_id")) or {}
    is_agent = author.get("role") in ("agent", "admin")
    body = raw.get("plain_body") or raw.get("body") or html_to_text(raw.get("html_body") or "")
    return ExtMessage(
        external_id=str(raw["id"]),
        text=body.strip(),
        created_at=parse_time(raw.get("created_at")) or datetime.now(UTC),
        from_agent=is_agent or not raw.get("public", True),
        internal=not raw.get("public", True),
        author=_person(author, raw.get("author_id")),
        attachments=[
            {
                "name": a.get("file_name") or "",
                "content_type": a.get("content_type") or "",
                "size": a.get("size") or 0,
                "url": a.get("content_url") or a.get("url") or "",
            }
            for a in raw.get("attachments") or []
        ],
    )
