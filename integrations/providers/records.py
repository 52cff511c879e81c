"""One shape for what Zendesk and Gorgias tell us, so a single upsert path
(integrations/providers/upsert.py) serves imports and webhooks of both."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser


@dataclass
class ExtPerson:
    external_id: str
    email: str = ""
    name: str = ""
    is_agent: bool = False


@dataclass
class ExtMessage:
    external_id: str
    text: str
    created_at: datetime
    from_agent: bool
    internal: bool = False
    author: ExtPerson | None = None
    attachments: list[dict] = field(default_factory=list)


@dataclass
class ExtTicket:
    external_id: str
    subject: str
    status: str  # one of ours (tickets.lifecycle)
    priority: str
    channel: str
    created_at: datetime
    updated_at: datetime
    requester: ExtPerson | None = None
    assignee_email: str = ""
    tags: list[str] = field(default_factory=list)
    deleted: bool = False
    # None: not fetched (unchanged tickets are not asked for their messages).
    messages: list[ExtMessage] | None = None


def parse_time(value) -> datetime | None:
    """Zendesk `2023-09-18T15:57:42Z`, Gorgias `2024-02-14T21:30:50.201204+00:00` or naive
    (UTC), or an epoch number."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip().replace("Z", "+00:00")
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class _Text(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body (scripts and styles dropped, blocks on their own
    lines, runs of blank lines collapsed)."""
    parser = _Text()
    parser.feed(markup or "")
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
