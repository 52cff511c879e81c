"""Self-test of the fake Zendesk / Gorgias servers, spoken to with plain urllib."""

import base64
import json
import socket
import urllib.error
import urllib.parse
import urllib.request

import pytest

from integrations.tests.fake_providers import FIXTURES, FakeGorgias, FakeZendesk, sign_webhook


def q(meta, key="next_cursor"):
    return urllib.parse.quote(meta[key], safe="")


def call(fake, method, path, body=None, auth=True, timeout=5):
    """(status, headers, parsed JSON) of one request; auth=True uses the fake's credentials."""
    req = urllib.request.Request(fake.base_url + path, method=method)
    if body is not None:
        req.data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    if auth is True:
        user = f"{fake.email}/token" if isinstance(fake, FakeZendesk) else fake.username
        secret = fake.api_token if isinstance(fake, FakeZendesk) else fake.api_key
        auth = (user, secret)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, err.headers, json.loads(err.read())


@pytest.fixture
def zd():
    with FakeZendesk() as fake:
        fake.load_fixtures()
        yield fake


@pytest.fixture
def gg():
    with FakeGorgias() as fake:
        fake.load_fixtures()
        yield fake


EXPORT = "/api/v2/incremental/tickets/cursor.json"


def test_zendesk_requires_auth(zd):
    assert call(zd, "GET", "/api/v2/tickets/48211.json", auth=None)[0] == 401
    status, headers, body = call(zd, "GET", "/api/v2/tickets/48211", auth=(zd.email, "zd-token"))
    assert (status, body) == (401, {"error": "Couldn't authenticate you"})
    assert headers["Content-Type"].startswith("application/json")
    status, headers, body = call(zd, "GET", "/api/v2/tickets/48211.json")
    assert status == 200 and body["ticket"]["status"] == "solved"
    assert "generated_timestamp" not in body["ticket"]
    for name in ("x-rate-limit", "x-rate-limit-remaining", "ratelimit-limit", "ratelimit-reset"):
        assert headers[name].isdigit()
    assert call(zd, "GET", "/api/v2/tickets/47501.json")[0] == 404  # deleted


def test_zendesk_export_walks_pages_then_a_saved_cursor_sees_only_touched(zd):
    seen, path = [], f"{EXPORT}?start_time=1795392000&per_page=3"
    while True:
        status, _, page = call(zd, "GET", path)
        assert status == 200
        assert set(page) == {"tickets", "after_url", "before_url", "after_cursor",
                             "before_cursor", "end_of_stream"}  # fmt: skip
        seen += [(t["id"], t["generated_timestamp"]) for t in page["tickets"]]
        if page["end_of_stream"]:
            break
        assert page["after_url"].startswith(zd.base_url)
        path = page["after_url"][len(zd.base_url) :]
    assert [i for i, _ in seen] == [48212, 48213, 47990, 47501, 48211]  # 48211: later version
    assert seen == sorted(seen, key=lambda s: (s[1], s[0]))
    saved = page["after_cursor"]  # same position as the fixture's last page
    last = json.loads((FIXTURES / "zendesk_incremental_tickets_page2.json").read_text())
    assert saved == last["after_cursor"]
    assert call(zd, "GET", f"{EXPORT}?cursor={saved}")[2]["tickets"] == []

    zd.touch(48212, status="open")
    _, _, later = call(zd, "GET", f"{EXPORT}?cursor={saved}&per_page=3")
    assert [t["id"] for t in later["tickets"]] == [48212] and later["end_of_stream"]
    assert later["tickets"][0]["status"] == "open"
    assert call(zd, "GET", f"{EXPORT}?cursor={later['after_cursor']}")[2]["tickets"] == []
    _, _, live = call(zd, "GET", f"{EXPORT}?start_time=0&exclude_deleted=true")
    assert 47501 not in [t["id"] for t in live["tickets"]] and len(live["tickets"]) == 4


def test_zendesk_export_sideloads_users(zd):
    _, _, page = call(zd, "GET", f"{EXPORT}?start_time=0&per_page=2&include=users")
    ids = {t[f] for t in page["tickets"] for f in ("requester_id", "assignee_id")} - {None}
    assert {u["id"] for u in page["users"]} == ids
    assert "users" not in call(zd, "GET", f"{EXPORT}?start_time=0")[2]
    status, _, body = call(zd, "GET", "/api/v2/users/show_many.json?ids=25930117709012,1")
    assert status == 200 and [u["email"] for u in body["users"]] == [None]
    ids = ",".join(str(i) for i in range(1, 102))
    assert call(zd, "GET", f"/api/v2/users/show_many.json?ids={ids}")[0] == 400


def test_zendesk_comments_paginate_and_deleted_ticket_404s(zd):
    path, ids = "/api/v2/tickets/48211/comments.json?page[size]=1", []
    while True:
        status, _, page = call(zd, "GET", path)
        assert status == 200 and len(page["comments"]) <= 1
        ids += [c["id"] for c in page["comments"]]
        if not page["meta"]["has_more"]:
            break
        path = page["links"]["next"][len(zd.base_url) :]
    expected = json.loads((FIXTURES / "zendesk_ticket_comments_48211.json").read_text())
    assert ids == [c["id"] for c in expected["comments"]]

    status, _, body = call(zd, "GET", "/api/v2/tickets/47501/comments.json")
    assert (status, body) == (404, {"error": "RecordNotFound", "description": "Not found"})


def test_zendesk_put_appends_comment_and_returns_audit(zd):
    before = zd.tickets[48213]["generated_timestamp"]
    update = {"ticket": {"comment": {"body": "Refund sent.", "public": True}, "status": "solved"}}
    status, _, body = call(zd, "PUT", "/api/v2/tickets/48213.json", update)
    assert status == 200 and body["ticket"]["status"] == "solved"
    comment_event, change = body["audit"]["events"]
    assert comment_event["type"] == "Comment" and comment_event["body"] == "Refund sent."
    assert change == {"id": change["id"], "type": "Change", "field_name": "status",
                      "value": "solved", "previous_value": "pending"}  # fmt: skip
    assert zd.comments[48213][-1]["id"] == comment_event["id"]
    assert zd.comments[48213][-1]["author_id"] == zd.agent_id
    assert zd.tickets[48213]["generated_timestamp"] > before
    assert zd.updates == [(48213, update["ticket"])]
    status, _, body = call(zd, "PUT", "/api/v2/tickets/47990.json", update)  # closed
    assert status == 422 and "closed prevents ticket update" in body["description"]


def test_zendesk_injected_failures_rate_limit_and_hang(zd):
    zd.rate_limit_per_minute = 2
    assert [call(zd, "GET", "/api/v2/tickets/48211")[0] for _ in range(2)] == [200, 200]
    status, headers, _ = call(zd, "GET", "/api/v2/tickets/48211")
    assert status == 429 and int(headers["Retry-After"]) >= 1
    assert headers["x-rate-limit"] == "2" and headers["x-rate-limit-remaining"] == "0"
    zd.rate_limit_per_minute = None

    zd.fail_next("/api/v2/incremental", 429, retry_after=7)
    status, headers, _ = call(zd, "GET", f"{EXPORT}?start_time=0")
    assert status == 429 and headers["Retry-After"] == "7"
    assert call(zd, "GET", f"{EXPORT}?start_time=0")[0] == 200
    zd.fail_next("/api/v2/tickets/", 503, times=2)
    assert [call(zd, "GET", "/api/v2/tickets/48211")[0] for _ in range(3)] == [503, 503, 200]
    zd.hang_next("/api/v2/tickets/48211", 1.0)
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        call(zd, "GET", "/api/v2/tickets/48211", timeout=0.2)


def test_zendesk_signature_helper_reproduces_fixture_vectors():
    body = (FIXTURES / "zendesk_webhook_ticket_updated.json").read_bytes()
    ts = "2026-11-23T16:42:21Z"
    assert (
        sign_webhook("dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==", body, ts)
        == "ioOzP4BIDhAqUF4vzaJqQKfSPTm/J5StU6827rFD8K0="
    )
    assert (
        sign_webhook("qY1pV3cJ8mZr4N2xW6tB0dLs5Hf9Ka7Ue3Go1Ti8Rw0=", body, ts)
        == "YpYBg/kcX/7BiZWiJZqRCTIuvt8g+NtHhMrRClWv7z0="
    )
    vectors = (FIXTURES / "zendesk_webhook_ticket_updated.signature.txt").read_text()
    assert "ioOzP4BIDhAqUF4vzaJqQKfSPTm/J5StU6827rFD8K0=" in vectors


def test_zendesk_builders_feed_the_export():
    with FakeZendesk() as zd:
        for i in range(1, 251):
            ticket = FakeZendesk.make_ticket(i, requester_id=7, updated_at="2026-11-23T08:00:00Z")
            comment = FakeZendesk.make_comment(i * 10, 7, body=f"hi {i}")
            zd.add_ticket(ticket, [comment], [FakeZendesk.make_user(7, "end-user", "a@b.c")])
        _, _, page = call(zd, "GET", f"{EXPORT}?start_time=0&per_page=100&include=users")
        assert [t["id"] for t in page["tickets"]] == list(range(1, 101))
        assert page["users"][0]["email"] == "a@b.c" and not page["end_of_stream"]
        assert call(zd, "GET", "/api/v2/tickets/9/comments")[2]["comments"][0]["body"] == "hi 9"


def test_gorgias_auth_and_list_walk_sees_ticket_updated_mid_walk(gg):
    assert call(gg, "GET", "/api/tickets", auth=None)[0] == 401
    assert call(gg, "GET", "/api/tickets", auth=(gg.username, "nope"))[0] == 401
    path, seen = "/api/tickets?limit=2&order_by=updated_datetime:asc", []
    while True:
        status, headers, page = call(gg, "GET", path)
        assert status == 200 and page["object"] == "list" and len(page["data"]) <= 2
        assert headers["X-Gorgias-Account-Api-Call-Limit"].endswith("/40")
        seen += [t["id"] for t in page["data"]]
        if len(seen) == 2:
            gg.touch(86540102, status="closed")  # already seen: must come round again
        if page["meta"]["next_cursor"] is None:
            break
        path = f"/api/tickets?limit=2&order_by=updated_datetime:asc&cursor={q(page['meta'])}"
    assert seen == [86540102, 86540103, 86540104, 86540105, 86540101, 86540102]
    _, _, desc = call(gg, "GET", "/api/tickets?order_by=updated_datetime:desc")
    assert [t["id"] for t in desc["data"]][:2] == [86540102, 86540101]
    assert "messages_count" in desc["data"][0]
    assert call(gg, "GET", "/api/tickets?limit=101")[0] == 400


def test_gorgias_ticket_messages_post_and_put(gg):
    status, _, ticket = call(gg, "GET", "/api/tickets/86540101")
    assert status == 200 and len(ticket["messages"]) == 4 and "messages_count" not in ticket
    assert call(gg, "GET", "/api/tickets/1")[0] == 404
    _, _, page = call(gg, "GET", "/api/tickets/86540101/messages?limit=3")
    assert len(page["data"]) == 3 and page["meta"]["next_cursor"]
    _, _, rest = call(gg, "GET", f"/api/tickets/86540101/messages?limit=3&cursor={q(page['meta'])}")
    assert [m["id"] for m in rest["data"]] == [208900004] and rest["meta"]["next_cursor"] is None

    reply = {"channel": "email", "via": "api", "from_agent": True, "sender": {"id": 501234},
             "receiver": {"id": 402100771}, "body_text": "Nouveau colis envoyé."}  # fmt: skip
    status, _, message = call(gg, "POST", "/api/tickets/86540101/messages", reply)
    assert status == 201 and message["id"] and message["sent_datetime"]
    assert message["ticket_id"] == 86540101 and message["body_text"] == reply["body_text"]
    assert message["sender"]["email"] == "lea.fontaine@quimbi-demo.example"  # expanded {"id"}
    assert message["receiver"]["email"] == "anais.lefevre@example.fr"
    assert gg.posted == [(86540101, reply)] and gg.tickets[86540101]["messages_count"] == 5
    note = {"channel": "internal-note", "from_agent": True, "body_text": "n"}
    message = call(gg, "POST", "/api/tickets/86540101/messages", note)[2]
    assert message["public"] is False and message["sent_datetime"] is None
    assert call(gg, "POST", "/api/tickets/86540101/messages", {"body_text": "x"})[0] == 400

    status, _, full = call(gg, "PUT", "/api/tickets/86540101", {"status": "closed"})
    assert status == 200 and full["status"] == "closed" and full["closed_datetime"]
    assert len(full["messages"]) == 6


def test_gorgias_leaky_bucket_answers_429_with_retry_after():
    with FakeGorgias(bucket=(3, 60.0)) as gg:
        assert [call(gg, "GET", "/api/tickets")[0] for _ in range(3)] == [200, 200, 200]
        status, headers, _ = call(gg, "GET", "/api/tickets")
        assert status == 429 and int(headers["Retry-after"]) >= 1
        assert headers["X-Gorgias-Account-Api-Call-Limit"] == "3/3"
        gg.bucket = None
        assert call(gg, "GET", "/api/tickets")[0] == 200
        gg.fail_next("/api/tickets", 500)
        assert call(gg, "GET", "/api/tickets")[0] == 500
