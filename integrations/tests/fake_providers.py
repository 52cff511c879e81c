"""Local stand-in HTTP servers for Zendesk Support and Gorgias (tests and benchmarks).

Wire formats follow the research notes FORMATS.md (Part Z, Part G); the sample payloads they
are seeded from live in ``provider_fixtures/`` beside this file (byte copies of the shared
fixtures). Standard library only: each fake is a ``ThreadingHTTPServer`` on 127.0.0.1, port 0,
served from a daemon thread.

    with FakeZendesk() as zd:
        zd.load_fixtures()
        client = ZendeskClient(base_url=zd.base_url, email=zd.email, token=zd.api_token)

State lives in plain dicts (``tickets``, ``comments``/``messages``, ``users``) guarded by one
lock; change it through ``add_ticket``/``touch`` (they keep the listing order up to date).
Every request is recorded in ``requests`` as ``(method, path_with_query, headers, body)`` with
lower-cased header names; applied write-backs are in ``updates`` (and ``posted`` for Gorgias).
"""

import base64
import bisect
import hashlib
import hmac
import html
import itertools
import json
import math
import re
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

FIXTURES = Path(__file__).resolve().parent / "provider_fixtures"
ZENDESK_URL = "https://quimbi-demo.zendesk.com"
ZD_AGENT_ID = 24110034510881  # admin "Ingrid" in zendesk_users.json: default comment author
ZD_REQUESTER_ID = 25930117708123
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_API_VIA = {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}}


def sign_webhook(secret: str, body: bytes, timestamp: str) -> str:
    """Zendesk webhook signature: base64(HMAC-SHA256(key=secret UTF-8, msg=timestamp + body))."""
    mac = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def _load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _zd_iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zd_epoch(iso: str) -> int:
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def _g_us(iso: str) -> int:
    """Gorgias datetime (offset or naive = UTC) -> integer microseconds since the epoch."""
    dt = datetime.fromisoformat(iso)
    return ((dt if dt.tzinfo else dt.replace(tzinfo=UTC)) - _EPOCH) // timedelta(microseconds=1)


def _g_iso(us: int) -> str:
    return (_EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _b64json(obj) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


def _unb64json(cursor: str):  # tolerate a "+" that arrived unquoted (decoded as a space)
    return json.loads(base64.b64decode(cursor.replace(" ", "+").encode(), validate=True))


class HTTPFail(Exception):
    """Raised by a route to answer ``status`` with a JSON ``payload``."""

    def __init__(self, status: int, payload):
        super().__init__(status)
        self.status, self.payload = status, payload


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients that timed out
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; one buffered write per response, no Nagle
    wbufsize, disable_nagle_algorithm = -1, True
    fake = None  # set on a per-server subclass

    def _any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, data, extra = self.fake._handle(self.command, self.path, headers, body)
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, str(v))
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

    def log_message(self, format, *args):
        pass


class _FakeServer:
    """Shared plumbing: server thread, request log, fault injection, auth and rate-limit hooks."""

    retry_header = "Retry-After"
    routes: list = []  # (method, compiled regex, method name)

    def __init__(self):
        self._lock = threading.RLock()
        self.requests: list = []
        self.updates: list = []
        self._fails: list = []  # [prefix, remaining, status, retry_after, body]
        self._hangs: list = []  # [prefix, remaining, seconds]
        self._ids = itertools.count(30_000_000_000_001)
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop serving and release the port (idempotent)."""
        if not self._closed:
            self._closed = True
            self._server.shutdown()
            self._server.server_close()

    def fail_next(self, path_prefix, status, times=1, retry_after=None, body=None):
        """The next ``times`` requests whose path (with query) starts with ``path_prefix``
        answer ``status``; ``retry_after`` adds the retry header; ``body`` is bytes, str or a
        JSON-able object (default: a small JSON error)."""
        with self._lock:
            self._fails.append([path_prefix, times, status, retry_after, body])

    def hang_next(self, path_prefix, seconds, times=1):
        """Sleep ``seconds`` before answering the next ``times`` matching requests."""
        with self._lock:
            self._hangs.append([path_prefix, times, seconds])

    @staticmethod
    def _take(rules, path):
        for rule in rules:
            if path.startswith(rule[0]) and rule[1] > 0:
                rule[1] -= 1
                return rule
        return None

    def _handle(self, method, raw_path, headers, body):
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        with self._lock:
            self.requests.append((method, raw_path, headers, body))
            hang = self._take(self._hangs, raw_path)
            fail = self._take(self._fails, raw_path)
        if hang:
            time.sleep(hang[2])
        with self._lock:
            now = time.monotonic()
            if fail:
                _, _, status, retry_after, payload = fail
                extra = self._rate_headers(now)
                if retry_after is not None:
                    extra[self.retry_header] = retry_after
                if payload is None:
                    payload = {"error": "InjectedFailure", "description": f"injected {status}"}
                return self._reply(status, payload, extra)
            if not self._authorized(headers.get("authorization", "")):
                return self._reply(401, self.unauthorized_body, self._rate_headers(now))
            wait = self._admit(now)
            extra = self._rate_headers(now)
            if wait is not None:
                extra[self.retry_header] = wait
                return self._reply(429, self.too_many_body, extra)
            self._raw = raw_path
            for verb, rx, name in self.routes:
                match = rx.match(split.path)
                if match and verb == method:
                    try:
                        status, payload = getattr(self, name)(match, query, body)
                    except HTTPFail as exc:
                        status, payload = exc.status, exc.payload
                    except Exception as exc:  # a bug in the fake or an odd body: say so
                        status, payload = 500, {"error": "FakeError", "description": repr(exc)}
                    return self._reply(status, payload, extra)
            return self._reply(404, self.not_found_body, extra)

    @staticmethod
    def _reply(status, payload, extra):
        if isinstance(payload, str):
            payload = payload.encode()
        if not isinstance(payload, bytes):
            payload = json.dumps(payload, ensure_ascii=False).encode()
        return status, payload, extra

    @staticmethod
    def _basic(user, secret):
        return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()

    @staticmethod
    def _json_body(body):
        try:
            data = json.loads(body or b"null")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise HTTPFail(400, {"error": "InvalidJSON", "description": "body must be an object"})
        return data

    @staticmethod
    def _int(query, name, default, lo, hi):
        try:
            value = int(query.get(name, default))
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise HTTPFail(400, {"error": "InvalidValue", "description": f"{name} out of range"})
        return value


# --------------------------------------------------------------------------------------------
# Zendesk


class FakeZendesk(_FakeServer):
    """Fake Zendesk Support API (FORMATS.md Z1-Z11) at ``base_url + "/api/v2/..."``.

    State: ``tickets`` (id -> ticket as in the incremental export, incl. ``generated_timestamp``),
    ``comments`` (ticket id -> list of comments), ``users`` (id -> user). Auth: Basic
    base64("{email}/token:{api_token}"), else 401 ``{"error": "Couldn't authenticate you"}``.
    ``rate_limit_per_minute`` (None = unlimited) enables a sliding-window 429 + Retry-After.
    ``updates`` records ``(ticket_id, parsed PUT body)`` for every applied PUT.
    """

    unauthorized_body = {"error": "Couldn't authenticate you"}
    too_many_body = {"error": "APIRateLimitExceeded", "description": "Rate limit exceeded"}
    not_found_body = {"error": "InvalidEndpoint", "description": "Not found"}
    routes = [
        ("GET", re.compile(r"^/api/v2/incremental/tickets/cursor(?:\.json)?$"), "_export"),
        ("GET", re.compile(r"^/api/v2/tickets/(\d+)(?:\.json)?$"), "_get_ticket"),
        ("PUT", re.compile(r"^/api/v2/tickets/(\d+)(?:\.json)?$"), "_put_ticket"),
        ("GET", re.compile(r"^/api/v2/tickets/(\d+)/comments(?:\.json)?$"), "_comments"),
        ("GET", re.compile(r"^/api/v2/users/show_many(?:\.json)?$"), "_show_many"),
    ]

    def __init__(self, email="admin@quimbi-demo.example", api_token="zd-token"):
        self.email, self.api_token = email, api_token
        self.tickets: dict = {}
        self.comments: dict = {}
        self.users: dict = {}
        self.rate_limit_per_minute: int | None = None
        self.agent_id = ZD_AGENT_ID  # author of PUT comments without author_id
        self._keys: list = []  # sorted (generated_timestamp, id)
        self._key_of: dict = {}
        self._high = (0, 0)  # highest key ever handed out: touch() always lands after it
        self._window: deque = deque()
        super().__init__()

    def load_fixtures(self):
        """Seed tickets, comments and users from the fixture files (48211: later version wins;
        47501 is deleted and its comments endpoint answers the fixture's 404 body)."""
        pages = [_load(f"zendesk_incremental_tickets_page{n}.json") for n in (1, 2)]
        for ticket in sorted((t for p in pages for t in p["tickets"]), key=lambda t: t["id"]):
            known = self.tickets.get(ticket["id"])
            if not known or known["generated_timestamp"] < ticket["generated_timestamp"]:
                comments = _load(f"zendesk_ticket_comments_{ticket['id']}.json").get("comments")
                self.add_ticket(ticket, comments or ())
        for user in _load("zendesk_users.json")["users"]:
            self.users[user["id"]] = user

    def add_ticket(self, ticket: dict, comments=(), users=()):
        """Insert or replace a ticket (``generated_timestamp`` defaults from ``updated_at``),
        its comments and any users. Cheap enough for tens of thousands of tickets."""
        with self._lock:
            ticket.setdefault("generated_timestamp", _zd_epoch(ticket["updated_at"]))
            self.tickets[ticket["id"]] = ticket
            self.comments[ticket["id"]] = list(comments)
            for user in users:
                self.users[user["id"]] = user
            self._index(ticket)

    def touch(self, ticket_id, **changes):
        """Apply ``changes`` and bump ``updated_at``/``generated_timestamp`` to now (strictly after
        every key seen so far), so the export re-emits the ticket after any saved cursor."""
        with self._lock:
            ticket = self.tickets[ticket_id]
            ticket.update(changes)
            self._bump(ticket)
            return ticket

    def _index(self, ticket):
        old = self._key_of.pop(ticket["id"], None)
        if old is not None:
            del self._keys[bisect.bisect_left(self._keys, old)]
        key = (ticket["generated_timestamp"], ticket["id"])
        bisect.insort(self._keys, key)
        self._key_of[ticket["id"]] = key
        self._high = max(self._high, key)

    def _bump(self, ticket):
        ts = int(time.time())
        if (ts, ticket["id"]) <= self._high:
            ts = self._high[0] + 1
        ticket["generated_timestamp"], ticket["updated_at"] = ts, _zd_iso(ts)
        self._index(ticket)

    @staticmethod
    def make_ticket(id, **overrides) -> dict:
        """A ticket with every export key (FORMATS.md Z2); ``overrides`` replace keys.
        ``raw_subject``/``submitter_id``/``fields`` follow ``subject``/``requester_id``/
        ``custom_fields`` unless given; ``generated_timestamp`` defaults from ``updated_at``."""
        created = overrides.get("created_at", "2026-11-23T08:00:00Z")
        subject = overrides.get("subject", f"Ticket {id}")
        requester = overrides.get("requester_id", ZD_REQUESTER_ID)
        ticket = {
            "url": f"{ZENDESK_URL}/api/v2/tickets/{id}.json", "id": id, "external_id": None,
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": created, "updated_at": created, "generated_timestamp": None,
            "type": None, "subject": subject, "raw_subject": subject,
            "description": overrides.get("description", f"Question {id}"), "priority": None,
            "status": "open", "recipient": None, "requester_id": requester,
            "submitter_id": requester, "assignee_id": None, "organization_id": None,
            "group_id": None, "collaborator_ids": [], "follower_ids": [], "email_cc_ids": [],
            "forum_topic_id": None, "problem_id": None, "has_incidents": False,
            "is_public": True, "due_at": None, "tags": [], "custom_fields": [],
            "satisfaction_rating": None, "sharing_agreement_ids": [], "custom_status_id": 1,
            "fields": list(overrides.get("custom_fields", [])), "followup_ids": [],
            "ticket_form_id": None, "brand_id": None, "allow_channelback": False,
            "allow_attachments": True, "from_messaging_channel": False,
        }  # fmt: skip
        ticket.update(overrides)
        if ticket["generated_timestamp"] is None:
            ticket["generated_timestamp"] = _zd_epoch(ticket["updated_at"])
        return ticket

    @staticmethod
    def make_comment(
        id, author_id, public=True, body="Hello", created_at="2026-11-23T08:00:00Z", **overrides
    ) -> dict:
        """A comment (FORMATS.md Z3); ``html_body`` defaults to the wrapped, escaped body."""
        comment = {
            "id": id, "type": "Comment", "author_id": author_id, "body": body,
            "html_body": '<div class="zd-comment" dir="auto"><p dir="auto">'
            + html.escape(body).replace("\n", "<br>") + "</p></div>",
            "plain_body": body, "public": public, "attachments": [], "audit_id": id - 1,
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": created_at, "metadata": {"system": {}, "custom": {}},
        }  # fmt: skip
        comment.update(overrides)
        return comment

    @staticmethod
    def make_user(id, role="end-user", email=None, **overrides) -> dict:
        """A user (FORMATS.md Z4); ``role`` is end-user, agent or admin; ``email`` may be None."""
        user = {
            "id": id, "url": f"{ZENDESK_URL}/api/v2/users/{id}.json", "name": f"User {id}",
            "email": email, "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z", "time_zone": "UTC", "iana_time_zone": "UTC",
            "phone": None, "shared_phone_number": None, "photo": None, "locale_id": 1,
            "locale": "en-US", "organization_id": None, "role": role,
            "verified": email is not None, "external_id": None, "tags": [], "alias": "",
            "active": True, "shared": False, "shared_agent": False, "last_login_at": None,
            "two_factor_auth_enabled": None, "signature": None, "details": "", "notes": "",
            "role_type": None, "custom_role_id": None, "moderator": role != "end-user",
            "ticket_restriction": None if role != "end-user" else "requested",
            "only_private_comments": False, "restricted_agent": False, "suspended": False,
            "default_group_id": None, "report_csv": role == "admin", "user_fields": {},
        }  # fmt: skip
        user.update(overrides)
        return user

    def _authorized(self, header):
        expected = self._basic(f"{self.email}/token", self.api_token)
        return hmac.compare_digest(header.encode(), expected.encode())

    def _admit(self, now):
        while self._window and self._window[0] <= now - 60:
            self._window.popleft()
        limit = self.rate_limit_per_minute
        if limit is not None and len(self._window) >= limit:
            return max(1, math.ceil(self._window[0] + 60 - now))
        self._window.append(now)
        return None

    def _rate_headers(self, now):
        limit = self.rate_limit_per_minute or 700
        remaining = max(0, limit - len(self._window))
        reset = math.ceil(self._window[0] + 60 - now) if self._window else 60
        return {
            "x-rate-limit": limit, "x-rate-limit-remaining": remaining,
            "ratelimit-limit": limit, "ratelimit-remaining": remaining, "ratelimit-reset": reset,
        }  # fmt: skip

    def _live(self, ticket_id):
        ticket = self.tickets.get(int(ticket_id))
        if ticket is None or ticket.get("status") == "deleted":
            raise HTTPFail(404, {"error": "RecordNotFound", "description": "Not found"})
        return ticket

    @staticmethod
    def _public(ticket):
        return {k: v for k, v in ticket.items() if k != "generated_timestamp"}

    def _export(self, match, q, body):
        per_page = self._int(q, "per_page", 1000, 1, 1000)
        if "cursor" in q:  # "{generated_timestamp}.0||{id}|": resume strictly after it
            try:
                ts, _, tid, _ = (
                    base64.b64decode(q["cursor"].replace(" ", "+"), validate=True)
                    .decode()
                    .split("|")
                )
                last = (int(float(ts)), int(tid))
            except ValueError:
                raise HTTPFail(400, {"error": "InvalidCursor"}) from None
            pos = bisect.bisect_right(self._keys, last)
        elif "start_time" in q:
            last = (self._int(q, "start_time", 0, 0, 2**40), 0)
            pos = bisect.bisect_left(self._keys, last)
        else:
            raise HTTPFail(400, {"error": "InvalidValue", "description": "start_time required"})
        drop_deleted = q.get("exclude_deleted") == "true"
        page = []
        while pos < len(self._keys) and len(page) < per_page:
            last = self._keys[pos]
            pos += 1
            ticket = self.tickets[last[1]]
            if not (drop_deleted and ticket.get("status") == "deleted"):
                page.append(ticket)
        cursor = base64.b64encode(f"{last[0]}.0||{last[1]}|".encode()).decode()
        params = f"&per_page={per_page}" + "".join(
            f"&{k}={quote(q[k])}" for k in ("include", "exclude_deleted") if k in q
        )
        result = {
            "tickets": [dict(t) for t in page],
            "after_url": f"{self.base_url}/api/v2/incremental/tickets/cursor.json"
            f"?cursor={quote(cursor, safe='')}{params}",
            "before_url": None, "after_cursor": cursor, "before_cursor": None,
            "end_of_stream": pos >= len(self._keys),
        }  # fmt: skip
        if "users" in q.get("include", "").split(","):
            ids = dict.fromkeys(
                t.get(f) for t in page for f in ("requester_id", "submitter_id", "assignee_id")
            )
            result["users"] = [self.users[i] for i in ids if i in self.users]
        return 200, result

    def _get_ticket(self, match, q, body):
        return 200, {"ticket": self._public(self._live(match[1]))}

    def _comments(self, match, q, body):
        ticket = self.tickets.get(int(match[1]))
        if ticket is None or ticket.get("status") == "deleted":
            path = FIXTURES / f"zendesk_ticket_comments_{match[1]}.json"
            if ticket is not None and path.exists():  # 47501: the fixture holds the 404 body
                raise HTTPFail(404, path.read_bytes())
            self._live(0)
        size = self._int(q, "page[size]", 100, 1, 100)
        rows = sorted(self.comments.get(ticket["id"], []), key=lambda c: (c["created_at"], c["id"]))
        ids = [c["id"] for c in rows]
        start, end = 0, None
        try:
            if "page[after]" in q:
                start = ids.index(int(_unb64json(q["page[after]"])["v"].split(":")[1])) + 1
            elif "page[before]" in q:
                end = ids.index(int(_unb64json(q["page[before]"])["v"].split(":")[1]))
                start = max(0, end - size)
        except (ValueError, KeyError, IndexError, TypeError):
            raise HTTPFail(400, {"error": "InvalidPaginationParameter"}) from None
        end = start + size if end is None else end
        page = rows[start:end]

        def cur(c):
            return quote(_b64json({"o": "created_at", "v": f"{ticket['id']}:{c['id']}"}), safe="")

        after, before = (cur(page[-1]), cur(page[0])) if page else (None, None)
        url = f"{self.base_url}/api/v2/tickets/{ticket['id']}/comments.json?page%5B"
        return 200, {
            "comments": page,
            "meta": {"has_more": end < len(rows), "after_cursor": after, "before_cursor": before},
            "links": {
                "prev": before and f"{url}before%5D={before}&page%5Bsize%5D={size}",
                "next": after and f"{url}after%5D={after}&page%5Bsize%5D={size}",
            },
        }

    def _show_many(self, match, q, body):
        ids = [i for i in q.get("ids", "").split(",") if i.strip()]
        if not ids or len(ids) > 100 or not all(i.strip().isdigit() for i in ids):
            raise HTTPFail(400, {"error": "InvalidValue", "description": "ids: 1 to 100 ids"})
        users = [self.users[int(i)] for i in ids if int(i) in self.users]
        return 200, {"users": users, "next_page": None, "previous_page": None, "count": len(users)}

    def _put_ticket(self, match, q, body):
        ticket = self._live(match[1])
        data = self._json_body(body).get("ticket")
        if not isinstance(data, dict):
            raise HTTPFail(400, {"error": "InvalidValue", "description": "ticket missing"})
        if ticket["status"] == "closed":
            msg = "Status: closed prevents ticket update"
            raise HTTPFail(422, {"error": "RecordInvalid", "description": msg,
                                 "details": {"status": [{"description": msg}]}})  # fmt: skip
        if data.get("safe_update") and data.get("updated_stamp") != ticket["updated_at"]:
            raise HTTPFail(409, {"error": "UpdateConflict", "description": "Safe Update failed"})
        self.updates.append((ticket["id"], data))
        audit_id, events = next(self._ids), []
        comment = data.get("comment")
        if comment:
            text = comment.get("body") or re.sub(r"<[^>]+>", "", comment.get("html_body", ""))
            extra = {"html_body": comment["html_body"]} if "html_body" in comment else {}
            new = self.make_comment(
                next(self._ids), comment.get("author_id", self.agent_id),
                public=comment.get("public", True), body=text,
                audit_id=audit_id, via={**_API_VIA}, **extra,
            )  # fmt: skip
            self.comments.setdefault(ticket["id"], []).append(new)
            keys = ("id", "type", "author_id", "body", "html_body", "plain_body", "public",
                    "attachments", "audit_id")  # fmt: skip
            events.append({k: new[k] for k in keys})
        skip = {"comment", "safe_update", "updated_stamp", "id", "url", "generated_timestamp"}
        for field, value in data.items():
            if field in ticket and field not in skip and ticket[field] != value:
                events.append({"id": next(self._ids), "type": "Change", "field_name": field,
                               "value": value, "previous_value": ticket[field]})  # fmt: skip
                ticket[field] = value
                if field == "custom_fields":
                    ticket["fields"] = value
        if events:
            self._bump(ticket)
        if comment:
            new["created_at"] = ticket["updated_at"]
        audit = {
            "id": audit_id, "ticket_id": ticket["id"], "created_at": ticket["updated_at"],
            "author_id": comment.get("author_id", self.agent_id) if comment else self.agent_id,
            "metadata": {"system": {}, "custom": {}},
            "via": {**_API_VIA}, "events": events,
        }  # fmt: skip
        return 200, {"ticket": self._public(ticket), "audit": audit}


# --------------------------------------------------------------------------------------------
# Gorgias


class FakeGorgias(_FakeServer):
    """Fake Gorgias REST API (FORMATS.md G1-G8) at ``base_url + "/api/..."``.

    State: ``tickets`` (id -> TicketCompact, the list shape incl. ``messages_count``),
    ``messages`` (ticket id -> list of TicketMessage). Auth: Basic base64("{username}:{api_key}").
    ``bucket=(capacity, window_seconds)`` is the leaky-bucket limit (None disables); every
    response carries ``X-Gorgias-Account-Api-Call-Limit: used/capacity``, a 429 adds
    ``Retry-after``. ``posted`` records ``(ticket_id, body)`` of created messages and
    ``updates`` ``(ticket_id, body)`` of ticket PUTs.
    """

    retry_header = "Retry-after"
    unauthorized_body = {"error": {"msg": "Unauthorized"}}
    too_many_body = {"error": {"msg": "Too many requests"}}
    not_found_body = {"error": {"msg": "Not found"}}
    routes = [
        ("GET", re.compile(r"^/api/tickets/?$"), "_list"),
        ("GET", re.compile(r"^/api/tickets/(\d+)/?$"), "_get_ticket"),
        ("PUT", re.compile(r"^/api/tickets/(\d+)/?$"), "_put_ticket"),
        ("GET", re.compile(r"^/api/tickets/(\d+)/messages/?$"), "_list_messages"),
        ("POST", re.compile(r"^/api/tickets/(\d+)/messages/?$"), "_post_message"),
    ]
    _orders = {f"{f}_datetime:{d}" for f in ("updated", "created") for d in ("asc", "desc")}

    def __init__(self, username="lea.fontaine@quimbi-demo.example", api_key="gg-key",
                 bucket=(40, 20.0)):  # fmt: skip
        self.username, self.api_key, self.bucket = username, api_key, bucket
        self.tickets: dict = {}
        self.messages: dict = {}
        self.posted: list = []
        self._level, self._leaked_at = 0.0, time.monotonic()
        self._version, self._cache = 0, {}
        self._high_us = 0
        super().__init__()

    def load_fixtures(self):
        """Seed tickets from both list pages (86540101: later ``updated_datetime`` wins) and
        their messages from ``gorgias_messages_<id>.json``."""
        for page in (1, 2):
            for ticket in _load(f"gorgias_tickets_page{page}.json")["data"]:
                known = self.tickets.get(ticket["id"])
                if not known or _g_us(known["updated_datetime"]) < _g_us(
                    ticket["updated_datetime"]
                ):
                    messages = _load(f"gorgias_messages_{ticket['id']}.json")["data"]
                    self.add_ticket(ticket, messages)

    def add_ticket(self, ticket: dict, messages=()):
        """Insert or replace a TicketCompact and its messages."""
        with self._lock:
            self.tickets[ticket["id"]] = ticket
            self.messages[ticket["id"]] = list(messages)
            self._high_us = max(self._high_us, _g_us(ticket["updated_datetime"]))
            self._version += 1

    def touch(self, ticket_id, **changes):
        """Apply ``changes`` and set ``updated_datetime`` to now (after every known value)."""
        with self._lock:
            ticket = self.tickets[ticket_id]
            ticket.update(changes)
            self._bump(ticket)
            return ticket

    def _now(self):
        us = max((datetime.now(UTC) - _EPOCH) // timedelta(microseconds=1), self._high_us + 1)
        self._high_us = us
        return _g_iso(us)

    def _bump(self, ticket):
        ticket["updated_datetime"] = self._now()
        self._version += 1

    @staticmethod
    def make_ticket(id, **overrides) -> dict:
        """A TicketCompact (list shape, FORMATS.md G2); ``overrides`` replace keys."""
        created = overrides.get("created_datetime", "2026-11-23T08:00:00.000000+00:00")
        ticket = {
            "id": id, "uri": f"/api/tickets/{id}/", "external_id": None, "language": "en",
            "status": "open", "priority": "normal", "channel": "email", "via": "email",
            "from_agent": False,
            "customer": {"id": 400000001, "email": "customer@example.com", "name": "Customer",
                         "firstname": "Customer", "lastname": "", "meta": None},
            "assignee_user": None, "assignee_team": None, "subject": f"Ticket {id}",
            "excerpt": "", "integrations": [], "meta": None, "tags": [], "messages_count": 0,
            "is_unread": True, "spam": False, "created_datetime": created,
            "opened_datetime": None, "last_received_message_datetime": created,
            "last_message_datetime": created, "last_sent_message_not_delivered": False,
            "updated_datetime": created, "closed_datetime": None, "snooze_datetime": None,
            "trashed_datetime": None, "custom_fields": {},
        }  # fmt: skip
        ticket.update(overrides)
        return ticket

    @staticmethod
    def make_message(id, ticket_id, from_agent=False, body_text="Hello", **overrides) -> dict:
        """A TicketMessage (FORMATS.md G3): incoming by default, outgoing with
        ``from_agent=True``; ``overrides`` replace keys (e.g. ``channel="internal-note"``)."""
        created = overrides.get("created_datetime", "2026-11-23T08:00:00.000000+00:00")
        customer = {"id": 400000001, "email": "customer@example.com", "name": "Customer",
                    "firstname": "Customer", "lastname": "", "meta": None}  # fmt: skip
        agent = {"id": 501234, "email": "lea.fontaine@quimbi-demo.example", "name": "Léa Fontaine",
                 "firstname": "Léa", "lastname": "Fontaine", "meta": None}  # fmt: skip
        sender, receiver = (agent, customer) if from_agent else (customer, None)
        to = receiver or agent
        message = {
            "id": id, "uri": f"/api/tickets/{ticket_id}/messages/{id}/", "message_id": None,
            "ticket_id": ticket_id, "external_id": None, "public": True, "channel": "email",
            "via": "api" if from_agent else "email",
            "source": {"type": "email", "to": [{"name": to["name"], "address": to["email"]}],
                       "from": {"name": sender["name"], "address": sender["email"]}},
            "sender": sender, "receiver": receiver, "integration_id": None, "intents": [],
            "rule_id": None, "from_agent": from_agent, "subject": None, "body_text": body_text,
            "body_html": f"<div>{html.escape(body_text)}</div>", "stripped_text": body_text,
            "stripped_html": f"<div>{html.escape(body_text)}</div>", "stripped_signature": None,
            "attachments": [], "macros": [], "actions": None, "headers": None, "meta": None,
            "imported": False, "created_datetime": created, "processed_datetime": created,
            "sent_datetime": created, "failed_datetime": None, "opened_datetime": None,
            "deleted_datetime": None, "last_sending_error": None, "is_retriable": False,
        }  # fmt: skip
        message.update(overrides)
        return message

    def _authorized(self, header):
        return hmac.compare_digest(
            header.encode(), self._basic(self.username, self.api_key).encode()
        )

    def _leak(self, now):
        if self.bucket:
            capacity, window = self.bucket
            self._level = max(0.0, self._level - (now - self._leaked_at) * capacity / window)
        self._leaked_at = now

    def _admit(self, now):
        self._leak(now)
        if not self.bucket:
            return None
        capacity, window = self.bucket
        if self._level + 1 > capacity:
            return max(1, math.ceil((self._level + 1 - capacity) * window / capacity))
        self._level += 1
        return None

    def _rate_headers(self, now):
        self._leak(now)
        capacity = self.bucket[0] if self.bucket else 40
        return {"X-Gorgias-Account-Api-Call-Limit": f"{math.ceil(self._level)}/{capacity}"}

    def _ticket(self, ticket_id):
        ticket = self.tickets.get(int(ticket_id))
        if ticket is None:
            raise HTTPFail(404, self.not_found_body)
        return ticket

    def _sorted_messages(self, ticket_id):
        rows = self.messages.get(ticket_id, [])
        return sorted(rows, key=lambda m: (_g_us(m["created_datetime"]), m["id"]))

    def _full(self, ticket):
        drop = {"messages_count", "excerpt", "integrations", "last_sent_message_not_delivered"}
        full = {k: v for k, v in ticket.items() if k not in drop}
        full.update(events=[], imported=False, processed_datetime=ticket["created_datetime"],
                    satisfaction_survey=None, reply_options={},
                    messages=self._sorted_messages(ticket["id"]))  # fmt: skip
        return full

    def _page(self, keys, rows, q, field, sign, uri):
        """Cursor page over rows sorted by ``keys`` ((sign*µs, sign*id) ascending)."""
        limit = self._int(q, "limit", 30, 1, 100)
        i, j = 0, None
        if q.get("cursor"):
            try:
                direction, value, row_id = _unb64json(q["cursor"])
                key = (sign * _g_us(value), sign * int(row_id))
            except (ValueError, TypeError):
                raise HTTPFail(400, {"error": {"msg": "Invalid cursor"}}) from None
            if direction == "prev":
                j = bisect.bisect_left(keys, key)
                i = max(0, j - limit)
            else:
                i = bisect.bisect_right(keys, key)
        j = i + limit if j is None else j
        page = rows[i:j]

        def cur(direction, row):
            return _b64json([direction, row[field], row["id"]]) if row else None

        return {
            "data": page, "object": "list", "uri": uri,
            "meta": {"prev_cursor": cur("prev", page and i > 0 and page[0]),
                     "next_cursor": cur("next", page and j < len(rows) and page[-1])},
        }  # fmt: skip

    def _list(self, match, q, body):
        order = q.get("order_by", "created_datetime:desc")
        if order not in self._orders:
            raise HTTPFail(400, {"error": {"msg": f"Invalid order_by {order}"}})
        field, direction = order.split(":")
        sign, trashed = (-1 if direction == "desc" else 1), q.get("trashed") == "true"
        cache_key = (field, sign, trashed, self._version)
        if cache_key not in self._cache:
            self._cache = {}
            rows = [t for t in self.tickets.values() if bool(t.get("trashed_datetime")) == trashed]
            entries = sorted(((sign * _g_us(t[field]), sign * t["id"]), t) for t in rows)
            self._cache[cache_key] = ([e[0] for e in entries], [dict(e[1]) for e in entries])
        keys, rows = self._cache[cache_key]
        return 200, self._page(keys, rows, q, field, sign, self._raw)

    def _get_ticket(self, match, q, body):
        return 200, self._full(self._ticket(match[1]))

    def _list_messages(self, match, q, body):
        ticket = self._ticket(match[1])
        rows = self._sorted_messages(ticket["id"])
        keys = [(_g_us(m["created_datetime"]), m["id"]) for m in rows]
        return 200, self._page(keys, rows, q, "created_datetime", 1, self._raw)

    def _post_message(self, match, q, body):
        ticket = self._ticket(match[1])
        data = self._json_body(body)
        if "channel" not in data or "from_agent" not in data:
            raise HTTPFail(400, {"error": {"msg": "channel and from_agent are required"}})
        self.posted.append((ticket["id"], data))
        now, note = self._now(), data["channel"] == "internal-note"
        message = self.make_message(
            next(self._ids), ticket["id"], from_agent=bool(data["from_agent"]),
            body_text=data.get("body_text") or "", public=not note,
            created_datetime=now, processed_datetime=now, sent_datetime=None,
        )  # fmt: skip
        sender = message["sender"] if message["from_agent"] else ticket["customer"]
        receiver = ticket["customer"] if message["from_agent"] and not note else None
        to = [{"name": receiver["name"], "address": receiver["email"]}] if receiver else []
        from_ = {"name": sender["name"], "address": sender["email"]}
        source = {"type": data["channel"], "from": from_, "to": to}
        message.update(sender=sender, receiver=receiver, source=source)
        message.update({k: v for k, v in data.items() if k in message and k not in ("id", "uri")})
        person = dict.fromkeys(("id", "email", "name", "firstname", "lastname", "meta"))
        known = {p["id"]: p for p in (ticket["customer"], ticket.get("assignee_user")) if p}
        for role in ("sender", "receiver"):  # {"id"} or {"email"} -> full person shape
            if isinstance(data.get(role), dict):
                message[role] = {**person, **known.get(data[role].get("id"), {}), **data[role]}
        if message["from_agent"] and not note and not message["sent_datetime"]:
            message["sent_datetime"] = now  # "sent" at once by the fake
        self.messages.setdefault(ticket["id"], []).append(message)
        ticket["messages_count"] = ticket.get("messages_count", 0) + 1
        ticket["last_message_datetime"] = now
        if not message["from_agent"]:
            ticket["last_received_message_datetime"] = now
        self._bump(ticket)
        return 201, message

    def _put_ticket(self, match, q, body):
        ticket = self._ticket(match[1])
        data = self._json_body(body)
        if data.get("status", "open") not in ("open", "closed"):
            raise HTTPFail(400, {"error": {"msg": "status must be open or closed"}})
        self.updates.append((ticket["id"], data))
        for field, value in data.items():
            if field == "tags":  # [{"name"}|{"id"}] (bare names tolerated) -> tag objects
                tags = [t if isinstance(t, dict) else {"name": t} for t in value]
                value = [{"id": t.get("id") or next(self._ids), "name": t.get("name"),
                          "decoration": t.get("decoration")} for t in tags]  # fmt: skip
            if field in ticket and field not in ("id", "uri", "messages_count"):
                ticket[field] = value
        if "status" in data:
            ticket["closed_datetime"] = self._now() if data["status"] == "closed" else None
        self._bump(ticket)
        return 200, self._full(ticket)
