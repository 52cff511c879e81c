"""The ticket API as the frontend uses it (CONTRACTS.md section 2): the inbox list with its
filters, sorting and pagination, the ticket detail, create, update, the demo resets, the
timeline and the score breakdown, errors, organization isolation, query budgets and CORS."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents import roles
from agents.models import ApiKey
from agents.services import api_key_create, api_key_revoke
from agents.tests.factories import AgentFactory, TeamFactory
from tickets.models import Customer, Message, Ticket, TicketEvent
from tickets.services import (
    customer_get_or_create,
    message_add,
    note_add,
    ticket_create,
    ticket_transition,
    ticket_update,
)

pytestmark = pytest.mark.django_db

LIST_ITEM_FIELDS = {
    "id",
    "customer_id",
    "channel",
    "status",
    "priority",
    "subject",
    "created_at",
    "updated_at",
    "assigned_to",
    "tags",
    "message_count",
    "last_message_preview",
    "last_message_at",
    "last_message_from_agent",
    "matches_topic_alert",
    "smart_score",
}
METADATA_FIELDS = {"id", "status", "priority", "assigned_to", "team_id", "tags", "updated_at"}
MESSAGE_FIELDS = {
    "id",
    "ticket_id",
    "from_agent",
    "content",
    "created_at",
    "author_name",
    "author_email",
}
NOTE_FIELDS = {"id", "ticket_id", "content", "author_name", "author_id", "created_at"}
PAGINATION_FIELDS = {
    "page",
    "limit",
    "total",
    "total_pages",
    "has_next",
    "has_prev",
    "total_is_estimate",
    "next_cursor",
}


def _core(pagination: dict) -> dict:
    """The frontend's pagination fields (the cursor fields are checked on their own)."""
    return {
        k: pagination[k] for k in ("page", "limit", "total", "total_pages", "has_next", "has_prev")
    }


def _ids(response) -> list[str]:
    return [t["id"] for t in response.json()["tickets"]]


def _ids_from(body: dict) -> list[str]:
    return [t["id"] for t in body["tickets"]]


def _refund_rule(client, *, boost: float) -> None:
    """A custom rule created as a manager would (rules are managed through the API)."""
    response = client.post(
        "/api/rules",
        {"name": "Refunds", "type": "custom", "keywords": ["refund"], "boost_amount": boost},
        format="json",
    )
    assert response.status_code == 201


def _set_score(ticket, score: float) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(smart_score=score)


@pytest.fixture
def other_ticket(other_organization):
    """A ticket of another organization; its customer has the same customer_id as ours."""
    customer = customer_get_or_create(
        organization=other_organization, external_id="7408502702335", name="Globex Buyer"
    )
    return ticket_create(
        organization=other_organization,
        customer=customer,
        subject="Globex secret refund",
        initial_message="A refund for Globex.",
        actor=None,
    )


# --- The list: envelope and shapes ------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/tickets", "/api/tickets/", "/api/v1/tickets"])
def test_list_envelope_and_item_shape(key_client, make_ticket, path):
    ticket = make_ticket(tags=["Billing", "late"], priority="high", channel="chat")
    response = key_client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert {"tickets", "pagination", "filters_applied", "topic_alerts_active", "matches"} <= set(
        body
    )
    assert set(body["pagination"]) == PAGINATION_FIELDS
    assert body["pagination"] == {
        "page": 1,
        "limit": 50,
        "total": 1,
        "total_pages": 1,
        "has_next": False,
        "has_prev": False,
        "total_is_estimate": False,
        "next_cursor": body["pagination"]["next_cursor"],
    }
    assert isinstance(body["pagination"]["next_cursor"], str)
    assert body["topic_alerts_active"] == []
    assert body["matches"] == 0
    [item] = body["tickets"]
    assert LIST_ITEM_FIELDS <= set(item)
    assert item["id"] == str(ticket.pk)
    assert isinstance(item["id"], str)
    assert item["customer_id"] == "7408502702335"
    assert item["channel"] == "chat"
    assert item["status"] == "open"
    assert item["priority"] == "high"
    assert item["subject"] == "Where is my order?"
    assert item["assigned_to"] is None
    assert item["tags"] == ["billing", "late"]
    assert item["message_count"] == 1
    assert item["last_message_preview"] == "It has not arrived yet."
    assert item["last_message_from_agent"] is False
    assert isinstance(item["last_message_at"], str)
    assert item["matches_topic_alert"] is False
    assert isinstance(item["smart_score"], float)
    assert isinstance(item["created_at"], str) and isinstance(item["updated_at"], str)


def test_list_smart_score_is_a_json_number(key_client, make_ticket):
    _set_score(make_ticket(), 12.5)
    raw = key_client.get("/api/tickets").content.decode()
    assert '"smart_score":12.5' in raw.replace(" ", "")


def test_list_ignores_unknown_query_parameters(key_client, make_ticket):
    make_ticket()
    response = key_client.get("/api/tickets", {"_t": "1712345678901", "foo": "bar"})
    assert response.status_code == 200
    assert response.json()["pagination"]["total"] == 1


def test_list_reports_the_filters_applied(key_client, make_ticket):
    make_ticket()
    response = key_client.get("/api/tickets", {"status": "open", "sort": "priority"})
    applied = response.json()["filters_applied"]
    assert applied["status"] == "open"
    assert applied["sort"] == "priority"


def test_list_is_empty_without_tickets(key_client):
    body = key_client.get("/api/tickets").json()
    assert body["tickets"] == []
    assert body["pagination"]["total"] == 0
    assert body["pagination"]["has_next"] is False
    assert body["pagination"]["has_prev"] is False


# --- Filters ------------------------------------------------------------------------------


def test_filter_status_comma_list(key_client, make_ticket):
    open_ticket = make_ticket(subject="open one")
    pending = ticket_transition(
        ticket=make_ticket(subject="pending"), to_status="pending", actor=None
    )
    closed = ticket_transition(ticket=make_ticket(subject="closed"), to_status="closed", actor=None)
    assert set(_ids(key_client.get("/api/tickets", {"status": "open"}))) == {str(open_ticket.pk)}
    assert set(_ids(key_client.get("/api/tickets", {"status": "open,pending"}))) == {
        str(open_ticket.pk),
        str(pending.pk),
    }
    assert set(_ids(key_client.get("/api/tickets", {"status": "closed"}))) == {str(closed.pk)}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("status", "archived"),
        ("status", "open,bogus"),
        ("priority", "critical"),
        ("channel", "fax"),
        ("sort", "name"),
        ("order", "sideways"),
    ],
)
def test_unknown_enum_values_are_400_listing_the_allowed_ones(key_client, param, value):
    response = key_client.get("/api/tickets", {param: value})
    assert response.status_code == 400
    body = response.json()
    assert "allowed values" in body["detail"]
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert param in body["errors"]


def test_unknown_status_detail_lists_every_status(key_client):
    detail = key_client.get("/api/tickets", {"status": "archived"}).json()["detail"]
    for status in ("open", "in_progress", "pending", "resolved", "closed"):
        assert status in detail


def test_filter_priority_and_channel(key_client, make_ticket):
    urgent_chat = make_ticket(priority="urgent", channel="chat")
    make_ticket(priority="low", channel="chat")
    high_email = make_ticket(priority="high", channel="email")
    assert _ids(key_client.get("/api/tickets", {"priority": "urgent"})) == [str(urgent_chat.pk)]
    assert set(_ids(key_client.get("/api/tickets", {"priority": "urgent,high"}))) == {
        str(urgent_chat.pk),
        str(high_email.pk),
    }
    assert _ids(key_client.get("/api/tickets", {"channel": "email"})) == [str(high_email.pk)]
    assert _ids(key_client.get("/api/tickets", {"channel": "chat", "priority": "urgent"})) == [
        str(urgent_chat.pk)
    ]


def test_filter_assigned_to_id_me_and_none(agent_client, agent, organization, make_ticket):
    colleague = AgentFactory(organization=organization, role=roles.AGENT)
    mine = make_ticket(assignee=agent)
    theirs = make_ticket(assignee=colleague)
    nobody = make_ticket()
    assert _ids(agent_client.get("/api/tickets", {"assigned_to": "me"})) == [str(mine.pk)]
    assert _ids(agent_client.get("/api/tickets", {"assigned_to": str(colleague.pk)})) == [
        str(theirs.pk)
    ]
    assert _ids(agent_client.get("/api/tickets", {"assigned_to": "none"})) == [str(nobody.pk)]


def test_filter_assigned_to_me_with_an_api_key_is_400(key_client, make_ticket):
    make_ticket()
    response = key_client.get("/api/tickets", {"assigned_to": "me"})
    assert response.status_code == 400
    assert "assigned_to" in response.json()["errors"]


def test_filter_assigned_to_garbage_is_400(key_client):
    response = key_client.get("/api/tickets", {"assigned_to": "bob"})
    assert response.status_code == 400
    assert "assigned_to" in response.json()["errors"]


def test_filter_team_by_id_or_name(key_client, organization, make_ticket):
    billing = TeamFactory(organization=organization, name="Billing")
    TeamFactory(organization=organization, name="Shipping")
    in_team = make_ticket(team=billing)
    make_ticket()
    assert _ids(key_client.get("/api/tickets", {"team": str(billing.pk)})) == [str(in_team.pk)]
    assert _ids(key_client.get("/api/tickets", {"team": "Billing"})) == [str(in_team.pk)]
    assert _ids(key_client.get("/api/tickets", {"team": "Shipping"})) == []


def test_filter_customer_id(key_client, organization, make_ticket):
    ada = make_ticket()
    bob = customer_get_or_create(organization=organization, external_id="555", name="Bob")
    bobs = ticket_create(organization=organization, customer=bob, subject="Hi", actor=None)
    assert _ids(key_client.get("/api/tickets", {"customer_id": "7408502702335"})) == [str(ada.pk)]
    assert _ids(key_client.get("/api/tickets", {"customer_id": "555"})) == [str(bobs.pk)]
    assert _ids(key_client.get("/api/tickets", {"customer_id": "unknown"})) == []


def test_filter_tag_is_case_insensitive(key_client, make_ticket):
    tagged = make_ticket(tags=["VIP"])
    make_ticket(tags=["other"])
    assert _ids(key_client.get("/api/tickets", {"tag": "vip"})) == [str(tagged.pk)]
    assert _ids(key_client.get("/api/tickets", {"tag": "VIP"})) == [str(tagged.pk)]


def test_filter_created_and_updated_windows(key_client, make_ticket):
    now = timezone.now()
    old = make_ticket(created_at=now - timedelta(days=10))
    recent = make_ticket(created_at=now - timedelta(hours=1))
    cutoff = (now - timedelta(days=2)).isoformat()
    assert _ids(key_client.get("/api/tickets", {"created_after": cutoff})) == [str(recent.pk)]
    assert _ids(key_client.get("/api/tickets", {"created_before": cutoff})) == [str(old.pk)]
    Ticket.objects.filter(pk=old.pk).update(updated_at=now - timedelta(days=9))
    Ticket.objects.filter(pk=recent.pk).update(updated_at=now - timedelta(minutes=5))
    assert _ids(key_client.get("/api/tickets", {"updated_after": cutoff})) == [str(recent.pk)]


@pytest.mark.parametrize("param", ["created_after", "created_before", "updated_after"])
def test_filter_bad_datetime_is_400(key_client, param):
    response = key_client.get("/api/tickets", {param: "yesterday"})
    assert response.status_code == 400
    assert param in response.json()["errors"]


def test_filter_q_searches_subject_and_messages(key_client, make_ticket):
    by_subject = make_ticket(subject="Damaged parcel", initial_message="Box was crushed")
    by_message = make_ticket(subject="Help", initial_message="My parcel arrived late")
    make_ticket(subject="Invoice", initial_message="Please send an invoice")
    assert set(_ids(key_client.get("/api/tickets", {"q": "parcel"}))) == {
        str(by_subject.pk),
        str(by_message.pk),
    }
    assert _ids(key_client.get("/api/tickets", {"q": "crushed"})) == [str(by_subject.pk)]
    assert key_client.get("/api/tickets", {"q": "parcel"}).json()["pagination"]["total"] == 2


# --- Sorting --------------------------------------------------------------------------------


def test_default_order_is_newest_first(key_client, make_ticket):
    now = timezone.now()
    older = make_ticket(created_at=now - timedelta(hours=3))
    newer = make_ticket(created_at=now - timedelta(hours=1))
    middle = make_ticket(created_at=now - timedelta(hours=2))
    assert _ids(key_client.get("/api/tickets")) == [str(newer.pk), str(middle.pk), str(older.pk)]
    asc = key_client.get("/api/tickets", {"sort": "created_at", "order": "asc"})
    assert _ids(asc) == [str(older.pk), str(middle.pk), str(newer.pk)]


@pytest.mark.parametrize(
    ("order", "expected"),
    [("desc", ["urgent", "high", "normal", "low"]), ("asc", ["low", "normal", "high", "urgent"])],
)
def test_sort_by_priority_uses_severity_not_alphabet(key_client, make_ticket, order, expected):
    for priority in ("normal", "urgent", "low", "high"):
        make_ticket(priority=priority)
    response = key_client.get("/api/tickets", {"sort": "priority", "order": order})
    assert [t["priority"] for t in response.json()["tickets"]] == expected


def test_sort_by_updated_at(key_client, make_ticket):
    now = timezone.now()
    a, b = make_ticket(), make_ticket()
    Ticket.objects.filter(pk=a.pk).update(updated_at=now + timedelta(minutes=5))
    Ticket.objects.filter(pk=b.pk).update(updated_at=now - timedelta(minutes=5))
    assert _ids(key_client.get("/api/tickets", {"sort": "updated_at"})) == [str(a.pk), str(b.pk)]
    assert _ids(key_client.get("/api/tickets", {"sort": "updated_at", "order": "asc"})) == [
        str(b.pk),
        str(a.pk),
    ]


def test_sort_by_last_message_at(key_client, make_ticket):
    now = timezone.now()
    early = make_ticket(created_at=now - timedelta(hours=5))
    late = make_ticket(created_at=now - timedelta(hours=10))
    Ticket.objects.filter(pk=early.pk).update(last_message_at=now - timedelta(hours=4))
    Ticket.objects.filter(pk=late.pk).update(last_message_at=now - timedelta(minutes=1))
    response = key_client.get("/api/tickets", {"sort": "last_message_at", "order": "desc"})
    assert _ids(response) == [str(late.pk), str(early.pk)]


def test_sort_by_smart_score(key_client, make_ticket):
    low, high, mid = make_ticket(), make_ticket(), make_ticket()
    _set_score(low, 1.0)
    _set_score(high, 15.0)
    _set_score(mid, 7.5)
    response = key_client.get("/api/tickets", {"sort": "smart_score", "order": "desc"})
    assert _ids(response) == [str(high.pk), str(mid.pk), str(low.pk)]


def test_smart_order_ranks_higher_scores_first(key_client, make_ticket):
    now = timezone.now()
    newest_low = make_ticket(created_at=now)
    oldest_high = make_ticket(created_at=now - timedelta(days=2))
    middle = make_ticket(created_at=now - timedelta(days=1))
    _set_score(newest_low, 2.0)
    _set_score(oldest_high, 11.0)
    _set_score(middle, 6.0)
    response = key_client.get("/api/tickets", {"smart_order": "true", "order": "asc"})
    assert _ids(response) == [str(oldest_high.pk), str(middle.pk), str(newest_low.pk)]
    scores = [t["smart_score"] for t in response.json()["tickets"]]
    assert scores == sorted(scores, reverse=True)


def test_smart_order_not_a_boolean_is_400(key_client):
    response = key_client.get("/api/tickets", {"smart_order": "maybe"})
    assert response.status_code == 400
    assert "smart_order" in response.json()["errors"]


# --- Pagination -----------------------------------------------------------------------------


def test_pagination_walks_every_ticket_once(key_client, make_ticket):
    now = timezone.now()
    made = [make_ticket(created_at=now - timedelta(minutes=i)) for i in range(7)]
    seen = []
    expectations = [(1, False, True), (2, True, True), (3, True, False)]
    for page, has_prev, has_next in expectations:
        body = key_client.get("/api/tickets", {"limit": 3, "page": page}).json()
        assert _core(body["pagination"]) == {
            "page": page,
            "limit": 3,
            "total": 7,
            "total_pages": 3,
            "has_next": has_next,
            "has_prev": has_prev,
        }
        seen += [t["id"] for t in body["tickets"]]
    assert seen == [str(t.pk) for t in made]


def test_page_beyond_the_end_is_empty(key_client, make_ticket):
    for _ in range(3):
        make_ticket()
    response = key_client.get("/api/tickets", {"limit": 2, "page": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["tickets"] == []
    assert body["pagination"]["total"] == 3
    assert body["pagination"]["total_pages"] == 2
    assert body["pagination"]["has_next"] is False
    assert body["pagination"]["has_prev"] is True


def test_limit_is_capped_at_100(key_client, make_ticket):
    make_ticket()
    body = key_client.get("/api/tickets", {"limit": 1000}).json()
    assert body["pagination"]["limit"] == 100


def test_limit_above_100_never_returns_more_than_100(key_client, organization, customer):
    now = timezone.now()
    Ticket.objects.bulk_create(
        Ticket(
            organization=organization,
            customer=customer,
            subject=f"bulk {i}",
            created_at=now - timedelta(seconds=i),
        )
        for i in range(105)
    )
    body = key_client.get("/api/tickets", {"limit": 500}).json()
    assert len(body["tickets"]) == 100
    assert _core(body["pagination"]) == {
        "page": 1,
        "limit": 100,
        "total": 105,
        "total_pages": 2,
        "has_next": True,
        "has_prev": False,
    }


@pytest.mark.parametrize(
    ("param", "value"), [("limit", 0), ("limit", -5), ("limit", "ten"), ("page", 0), ("page", -1)]
)
def test_bad_page_or_limit_is_400(key_client, param, value):
    response = key_client.get("/api/tickets", {param: value})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert param in body["errors"]


# --- Topic alerts -------------------------------------------------------------------------


def test_topic_alerts_flag_tickets_and_count_matches_across_pages(key_client, make_ticket):
    now = timezone.now()
    matching = set()
    for i in range(6):
        content = "I want a REFUND now" if i % 2 == 0 else "Where is my parcel"
        if i == 5:
            content = "The item was damaged"
        ticket = make_ticket(initial_message=content, created_at=now - timedelta(minutes=i))
        if i % 2 == 0 or i == 5:
            matching.add(str(ticket.pk))
    flagged = set()
    for page in (1, 2, 3):
        body = key_client.get(
            "/api/tickets", {"topic_alerts": "refund, Damaged", "limit": 2, "page": page}
        ).json()
        assert body["topic_alerts_active"] == ["refund", "damaged"]
        # Counted over the whole filtered set, not only this page.
        assert body["matches"] == 4
        for item in body["tickets"]:
            assert isinstance(item["matches_topic_alert"], bool)
            if item["matches_topic_alert"]:
                flagged.add(item["id"])
    assert flagged == matching


def test_topic_alert_matches_follow_the_filters(key_client, make_ticket):
    make_ticket(initial_message="refund please", priority="high")
    make_ticket(initial_message="refund please", priority="low")
    make_ticket(initial_message="hello", priority="high")
    body = key_client.get("/api/tickets", {"topic_alerts": "refund", "priority": "high"}).json()
    assert body["pagination"]["total"] == 2
    assert body["matches"] == 1


def test_topic_alerts_match_the_subject(key_client, make_ticket):
    ticket = make_ticket(subject="Refund request", initial_message="see subject")
    body = key_client.get("/api/tickets", {"topic_alerts": "refund"}).json()
    assert body["matches"] == 1
    assert body["tickets"][0]["id"] == str(ticket.pk)
    assert body["tickets"][0]["matches_topic_alert"] is True


# --- apply_rules --------------------------------------------------------------------------


def test_apply_rules_returns_fresh_scores(key_client, manager_client, make_ticket):
    refund = make_ticket(initial_message="I need a refund")
    plain = make_ticket(initial_message="Where is it?")
    _refund_rule(manager_client, boost=9)
    stale = {t["id"]: t["smart_score"] for t in key_client.get("/api/tickets").json()["tickets"]}
    assert stale[str(refund.pk)] == stale[str(plain.pk)] == 0.0
    body = key_client.get("/api/tickets", {"apply_rules": "true", "smart_order": "true"}).json()
    assert body["filters_applied"]["apply_rules"] is True
    assert _ids_from(body) == [str(refund.pk), str(plain.pk)]
    fresh = {t["id"]: t["smart_score"] for t in body["tickets"]}
    assert fresh[str(plain.pk)] > 0
    # The rule's boost of 9, within what rules may add together (2 by default).
    assert fresh[str(refund.pk)] == pytest.approx(fresh[str(plain.pk)] + 2, abs=0.05)


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_sort_by_smart_score_with_apply_rules_orders_by_the_fresh_scores(
    key_client, manager_client, make_ticket, order
):
    at = timezone.now() - timedelta(hours=1)
    refund = make_ticket(initial_message="I need a refund", created_at=at)
    plain = make_ticket(initial_message="Where is it?", created_at=at)
    # Stored scores are stale: the rule below is newer than them.
    _set_score(refund, 1.0)
    _set_score(plain, 5.0)
    _refund_rule(manager_client, boost=9)
    body = key_client.get(
        "/api/tickets", {"sort": "smart_score", "order": order, "apply_rules": "true"}
    ).json()
    scores = [t["smart_score"] for t in body["tickets"]]
    assert scores == sorted(scores, reverse=order == "desc")


# --- Detail ---------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/api", "/api/v1"])
def test_detail_shape(key_client, make_ticket, prefix):
    ticket = make_ticket(tags=["billing"])
    message_add(ticket=ticket, content="We are on it", from_agent=True, actor=None)
    note_add(ticket=ticket, content="Customer is grumpy", author_label="agent-1", actor=None)
    response = key_client.get(f"{prefix}/tickets/{ticket.pk}")
    assert response.status_code == 200
    body = response.json()
    assert LIST_ITEM_FIELDS <= set(body)
    assert body["id"] == str(ticket.pk)
    assert body["customer_id"] == "7408502702335"
    assert body["message_count"] == 2
    assert isinstance(body["smart_score"], float)
    assert [m["content"] for m in body["messages"]] == ["It has not arrived yet.", "We are on it"]
    for message in body["messages"]:
        assert MESSAGE_FIELDS <= set(message)
        assert message["ticket_id"] == str(ticket.pk)
        assert isinstance(message["from_agent"], bool)
    assert [m["from_agent"] for m in body["messages"]] == [False, True]
    assert body["messages"][0]["author_name"] == "Ada Buyer"
    assert body["messages"][0]["author_email"] == "ada@example.com"
    [note] = body["notes"]
    assert NOTE_FIELDS <= set(note)
    assert note["content"] == "Customer is grumpy"
    assert note["author_id"] == "agent-1"
    # Nothing is known of this customer yet: no profile of invented zeros.
    assert "customer_profile" not in body
    assert body["customer"]["customer_id"] == "7408502702335"
    assert body["customer"]["name"] == "Ada Buyer"
    assert {"smart_score", "components"} <= set(body["score_breakdown"])
    assert "ai_recommendation" not in body and body["ai_draft_response"] is None


def test_detail_shows_public_messages_only_in_messages(key_client, make_ticket):
    ticket = make_ticket()
    note_add(ticket=ticket, content="internal only", actor=None)
    body = key_client.get(f"/api/tickets/{ticket.pk}").json()
    assert all(m["content"] != "internal only" for m in body["messages"])
    assert body["message_count"] == 1


# --- Create ---------------------------------------------------------------------------------


def _create_body(**overrides) -> dict:
    body = {
        "customer_id": "9990001112223",
        "subject": "Broken zipper",
        "channel": "email",
        "initial_message": "The zipper broke on day one.",
        "author_name": "Zed Buyer",
        "author_email": "zed@example.com",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("path", ["/api/tickets", "/api/v1/tickets/"])
def test_create_ticket_for_a_new_customer(key_client, organization, path):
    response = key_client.post(
        path, _create_body(tags=["Warranty"], priority="high"), format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"ticket", "messages", "notes"}
    ticket = body["ticket"]
    assert LIST_ITEM_FIELDS <= set(ticket)
    assert ticket["customer_id"] == "9990001112223"
    assert ticket["subject"] == "Broken zipper"
    assert ticket["channel"] == "email"
    assert ticket["priority"] == "high"
    assert ticket["status"] == "open"
    assert ticket["tags"] == ["warranty"]
    assert ticket["message_count"] == 1
    assert isinstance(ticket["smart_score"], float)
    [message] = body["messages"]
    assert MESSAGE_FIELDS <= set(message)
    assert message["content"] == "The zipper broke on day one."
    assert message["from_agent"] is False
    assert message["author_name"] == "Zed Buyer"
    assert message["author_email"] == "zed@example.com"
    assert body["notes"] == []
    customer = Customer.objects.get(organization=organization, external_id="9990001112223")
    assert customer.name == "Zed Buyer"
    assert customer.email == "zed@example.com"
    # The new ticket is readable at its id.
    assert key_client.get(f"/api/tickets/{ticket['id']}").status_code == 200


def test_create_reuses_a_known_customer(key_client, customer):
    response = key_client.post(
        "/api/tickets", _create_body(customer_id="7408502702335", author_name="X"), format="json"
    )
    assert response.status_code == 201
    assert response.json()["ticket"]["customer_id"] == "7408502702335"
    assert Customer.objects.filter(external_id="7408502702335").count() == 1
    customer.refresh_from_db()
    assert customer.name == "Ada Buyer"


def test_create_with_the_customer_id_of_another_org_creates_our_own(
    key_client, organization, other_ticket
):
    response = key_client.post(
        "/api/tickets", _create_body(customer_id="7408502702335"), format="json"
    )
    assert response.status_code == 201
    assert Customer.objects.filter(organization=organization, external_id="7408502702335").exists()
    other_customer = other_ticket.customer
    other_customer.refresh_from_db()
    assert other_customer.name == "Globex Buyer"
    assert other_customer.tickets.count() == 1


def test_create_with_numeric_customer_id_echoes_it_as_string(key_client):
    body = _create_body()
    body["customer_id"] = 7408502702999
    response = key_client.post("/api/tickets", body, format="json")
    assert response.status_code == 201
    assert response.json()["ticket"]["customer_id"] == "7408502702999"


def test_create_with_a_status(key_client):
    response = key_client.post("/api/tickets", _create_body(status="pending"), format="json")
    assert response.status_code == 201
    assert response.json()["ticket"]["status"] == "pending"


def test_create_without_initial_message_has_no_messages(key_client):
    body = _create_body()
    del body["initial_message"]
    response = key_client.post("/api/tickets", body, format="json")
    assert response.status_code == 201
    assert response.json()["messages"] == []
    assert response.json()["ticket"]["message_count"] == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer_id": ""}, "customer_id"),
        ({"subject": "   "}, "subject"),
        ({"channel": "fax"}, "channel"),
        ({"priority": "critical"}, "priority"),
        ({"status": "archived"}, "status"),
        ({"tags": "billing"}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"author_email": "not-an-email"}, "author_email"),
        ({"subject": ["a", "list"]}, "subject"),
    ],
)
def test_create_invalid_input_is_400_and_writes_nothing(key_client, overrides, field):
    counts = (Ticket.objects.count(), Customer.objects.count(), Message.objects.count())
    response = key_client.post("/api/tickets", _create_body(**overrides), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert field in body["errors"]
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert field in body["error"]["details"]
    assert (Ticket.objects.count(), Customer.objects.count(), Message.objects.count()) == counts


def test_create_missing_required_fields_names_them(key_client):
    response = key_client.post("/api/tickets", {}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "customer_id" in errors and "subject" in errors


def test_malformed_json_body_is_400_with_detail(key_client):
    counts = Ticket.objects.count()
    response = key_client.post(
        "/api/tickets", data='{"customer_id": "1", "subject": ', content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert body["error"]["message"] == body["detail"]
    assert Ticket.objects.count() == counts


# --- Update ---------------------------------------------------------------------------------


def test_patch_returns_the_ticket_metadata(key_client, make_ticket):
    ticket = make_ticket(tags=["a"])
    response = key_client.patch(
        f"/api/tickets/{ticket.pk}",
        {"status": "in_progress", "priority": "urgent", "tags": ["x", "Y"]},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"ticket"}
    assert METADATA_FIELDS <= set(body["ticket"])
    assert body["ticket"]["id"] == str(ticket.pk)
    assert body["ticket"]["status"] == "in_progress"
    assert body["ticket"]["priority"] == "urgent"
    assert sorted(body["ticket"]["tags"]) == ["x", "y"]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("in_progress", "urgent")
    assert body["ticket"]["updated_at"].startswith(ticket.updated_at.strftime("%Y-%m-%dT%H:%M"))


def test_patch_add_and_remove_tags(key_client, make_ticket):
    ticket = make_ticket(tags=["keep", "drop"])
    response = key_client.patch(
        f"/api/tickets/{ticket.pk}",
        {"add_tags": ["New"], "remove_tags": ["DROP"]},
        format="json",
    )
    assert response.status_code == 200
    assert sorted(response.json()["ticket"]["tags"]) == ["keep", "new"]
    listed = key_client.get("/api/tickets", {"tag": "new"}).json()["tickets"]
    assert [t["id"] for t in listed] == [str(ticket.pk)]
    assert key_client.get("/api/tickets", {"tag": "drop"}).json()["tickets"] == []


def test_patch_empty_tags_clears_them(key_client, make_ticket):
    ticket = make_ticket(tags=["a", "b"])
    response = key_client.patch(f"/api/tickets/{ticket.pk}", {"tags": []}, format="json")
    assert response.status_code == 200
    assert response.json()["ticket"]["tags"] == []
    assert key_client.get(f"/api/tickets/{ticket.pk}").json()["tags"] == []
    assert key_client.get("/api/tickets", {"tag": "a"}).json()["tickets"] == []


def test_patch_subject(key_client, make_ticket):
    ticket = make_ticket()
    response = key_client.patch(
        f"/api/tickets/{ticket.pk}", {"subject": "  New   subject "}, format="json"
    )
    assert response.status_code == 200
    assert key_client.get(f"/api/tickets/{ticket.pk}").json()["subject"] == "New subject"


def test_patch_assign_me_unassign_and_team(agent_client, agent, organization, make_ticket):
    ticket = make_ticket()
    team = TeamFactory(organization=organization, name="Tier 2")
    response = agent_client.patch(
        f"/api/tickets/{ticket.pk}", {"assigned_to": "me", "team": str(team.pk)}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["ticket"]["assigned_to"] == str(agent.pk)
    assert response.json()["ticket"]["team_id"] == str(team.pk)
    response = agent_client.patch(f"/api/tickets/{ticket.pk}", {"assigned_to": None}, format="json")
    assert response.status_code == 200
    assert response.json()["ticket"]["assigned_to"] is None
    assert response.json()["ticket"]["team_id"] == str(team.pk)


def test_patch_assign_to_an_agent_id(key_client, organization, make_ticket):
    colleague = AgentFactory(organization=organization)
    ticket = make_ticket()
    response = key_client.patch(
        f"/api/tickets/{ticket.pk}", {"assigned_to": str(colleague.pk)}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["ticket"]["assigned_to"] == str(colleague.pk)


@pytest.mark.parametrize("value", ["me", "not-a-uuid", "OTHER_ORG"])
def test_patch_bad_assignee_is_400_and_changes_nothing(
    key_client, other_organization, make_ticket, value
):
    if value == "OTHER_ORG":
        value = str(AgentFactory(organization=other_organization).pk)
    ticket = make_ticket()
    response = key_client.patch(
        f"/api/tickets/{ticket.pk}", {"assigned_to": value, "priority": "urgent"}, format="json"
    )
    assert response.status_code == 400
    assert "assigned_to" in response.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.assignee_id is None
    assert ticket.priority == "normal"


def test_patch_team_of_another_org_is_400(key_client, other_organization, make_ticket):
    team = TeamFactory(organization=other_organization)
    ticket = make_ticket()
    response = key_client.patch(f"/api/tickets/{ticket.pk}", {"team": str(team.pk)}, format="json")
    assert response.status_code == 400
    assert "team" in response.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.team_id is None


def test_illegal_transition_is_400_naming_allowed_targets_and_changes_nothing(
    key_client, organization, make_ticket
):
    colleague = AgentFactory(organization=organization)
    ticket = ticket_transition(ticket=make_ticket(tags=["old"]), to_status="closed", actor=None)
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    history_before = ticket.history.count()
    response = key_client.patch(
        f"/api/tickets/{ticket.pk}",
        {
            "status": "pending",
            "priority": "urgent",
            "add_tags": ["new"],
            "assigned_to": str(colleague.pk),
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert "open" in body["detail"]
    assert "status" in body["errors"]
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert ticket.priority == "normal"
    assert ticket.assignee_id is None
    assert ticket.tag_names == ["old"]
    assert list(ticket.tags.values_list("name", flat=True)) == ["old"]
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before
    assert ticket.history.count() == history_before
    detail = key_client.get(f"/api/tickets/{ticket.pk}").json()
    assert (detail["status"], detail["priority"], detail["tags"]) == ("closed", "normal", ["old"])


def test_patch_with_current_expected_updated_at_succeeds(key_client, make_ticket):
    ticket = make_ticket()
    read = key_client.get(f"/api/tickets/{ticket.pk}").json()
    response = key_client.patch(
        f"/api/tickets/{ticket.pk}",
        {"priority": "high", "expected_updated_at": read["updated_at"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["ticket"]["priority"] == "high"


def test_patch_with_stale_expected_updated_at_is_409_and_changes_nothing(key_client, make_ticket):
    ticket = make_ticket()
    read = key_client.get(f"/api/tickets/{ticket.pk}").json()
    # Someone else changes the ticket in between.
    assert (
        key_client.patch(
            f"/api/tickets/{ticket.pk}", {"priority": "low"}, format="json"
        ).status_code
        == 200
    )
    response = key_client.patch(
        f"/api/tickets/{ticket.pk}",
        {"priority": "urgent", "expected_updated_at": read["updated_at"]},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["detail"]
    assert response.json()["error"]["code"] == "CONFLICT"
    ticket.refresh_from_db()
    assert ticket.priority == "low"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "archived"}, "status"),
        ({"priority": 5}, "priority"),
        ({"tags": "solo"}, "tags"),
        ({"add_tags": [1, {"a": 1}]}, "add_tags"),
        ({"team": "not-a-uuid"}, "team"),
        ({"expected_updated_at": "last tuesday"}, "expected_updated_at"),
    ],
)
def test_patch_wrong_types_are_400_and_change_nothing(key_client, make_ticket, body, field):
    ticket = make_ticket(tags=["orig"])
    before = Ticket.objects.filter(pk=ticket.pk).values().get()
    response = key_client.patch(f"/api/tickets/{ticket.pk}", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Ticket.objects.filter(pk=ticket.pk).values().get() == before


def test_patch_malformed_json_is_400(key_client, make_ticket):
    ticket = make_ticket()
    response = key_client.patch(
        f"/api/tickets/{ticket.pk}", data="{status: open", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail"]


# --- Events and score breakdown ---------------------------------------------------------


def test_events_newest_first_and_paginated(key_client, make_ticket):
    ticket = make_ticket()
    key_client.patch(f"/api/tickets/{ticket.pk}", {"priority": "high"}, format="json")
    key_client.patch(f"/api/tickets/{ticket.pk}", {"status": "in_progress"}, format="json")
    response = key_client.get(f"/api/tickets/{ticket.pk}/events")
    assert response.status_code == 200
    body = response.json()
    kinds = [e["kind"] for e in body["events"]]
    assert kinds[0] == "ticket.status_changed"
    assert kinds[-1] == "ticket.created"
    assert "ticket.updated" in kinds and "message.created" in kinds
    assert body["pagination"]["total"] == len(kinds) == 4
    first = body["events"][0]
    assert {"id", "kind", "ticket_id", "actor", "payload", "created_at"} <= set(first)
    assert first["actor"] == "api_key:frontend"
    assert first["payload"]["to"] == "in_progress"
    page = key_client.get(f"/api/tickets/{ticket.pk}/events", {"limit": 3, "page": 2}).json()
    assert [e["kind"] for e in page["events"]] == ["ticket.created"]
    assert page["pagination"]["has_prev"] is True and page["pagination"]["has_next"] is False


def test_score_breakdown(key_client, make_ticket):
    ticket = make_ticket(priority="urgent")
    # Scoring now (prioritize) saves the score and its breakdown.
    scored = key_client.post(
        "/api/tickets/prioritize", {"ticket_ids": [str(ticket.pk)]}, format="json"
    )
    assert scored.status_code == 200
    response = key_client.get(f"/api/tickets/{ticket.pk}/score-breakdown")
    assert response.status_code == 200
    body = response.json()
    assert body["ticket_id"] == str(ticket.pk)
    assert isinstance(body["smart_score"], float)
    names = [c["name"] for c in body["components"]]
    assert "priority" in names
    assert body["smart_score"] == pytest.approx(sum(c["points"] for c in body["components"]), 0.01)
    detail = key_client.get(f"/api/tickets/{ticket.pk}").json()
    assert detail["smart_score"] == body["smart_score"]


# --- Organization isolation and ids ----------------------------------------------------


TICKET_ROUTES = [
    ("get", "/api/tickets/{id}"),
    ("patch", "/api/tickets/{id}"),
    ("get", "/api/tickets/{id}/messages"),
    ("post", "/api/tickets/{id}/messages"),
    ("get", "/api/tickets/{id}/notes"),
    ("post", "/api/tickets/{id}/notes"),
    ("get", "/api/tickets/{id}/events"),
    ("get", "/api/tickets/{id}/score-breakdown"),
]
WRITE_BODIES = {
    "patch": {"priority": "urgent"},
    "post": {"content": "hello", "from_agent": True},
}


@pytest.mark.parametrize(("method", "route"), TICKET_ROUTES)
def test_another_organizations_ticket_is_404(key_client, other_ticket, method, route):
    counts = (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count())
    response = getattr(key_client, method)(
        route.format(id=other_ticket.pk), WRITE_BODIES.get(method), format="json"
    )
    assert response.status_code == 404
    assert response.json()["detail"]
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count()) == counts
    other_ticket.refresh_from_db()
    assert other_ticket.priority == "normal"


@pytest.mark.parametrize(("method", "route"), TICKET_ROUTES)
def test_unknown_ticket_id_is_404(key_client, method, route):
    response = getattr(key_client, method)(
        route.format(id=uuid.uuid4()), WRITE_BODIES.get(method), format="json"
    )
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "route"), TICKET_ROUTES)
def test_malformed_ticket_id_is_400(key_client, method, route):
    response = getattr(key_client, method)(
        route.format(id="not-a-uuid"), WRITE_BODIES.get(method), format="json"
    )
    assert response.status_code == 400
    assert "not-a-uuid" in response.json()["detail"]


def test_other_organizations_tickets_never_appear_in_the_list(
    key_client, make_ticket, other_ticket
):
    ours = make_ticket()
    for params in [{}, {"q": "refund"}, {"customer_id": "7408502702335"}, {"status": "open"}]:
        body = key_client.get("/api/tickets", params).json()
        assert str(other_ticket.pk) not in _ids_from(body)
    body = key_client.get("/api/tickets", {"topic_alerts": "globex"}).json()
    assert _ids_from(body) == [str(ours.pk)]
    assert body["matches"] == 0
    assert body["pagination"]["total"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/tickets"),
        ("post", "/api/tickets"),
        ("get", "/api/v1/tickets/{id}"),
        ("patch", "/api/tickets/{id}"),
        ("get", "/api/tickets/{id}/messages"),
    ],
)
def test_unauthenticated_is_401(api_client, make_ticket, method, path):
    ticket = make_ticket()
    response = getattr(api_client, method)(path.format(id=ticket.pk), {}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_revoked_api_key_is_401(organization, make_ticket):
    make_ticket()
    _, raw = api_key_create(organization=organization, name="old", actor=None)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get("/api/tickets").status_code == 200
    api_key_revoke(api_key=ApiKey.objects.get(name="old"), actor=None)
    assert client.get("/api/tickets").status_code == 401


def test_invalid_api_key_is_401(make_ticket):
    make_ticket()
    client = APIClient()
    client.credentials(HTTP_X_API_KEY="qsk_definitely_not_valid")
    response = client.get("/api/tickets")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_API_KEY"


# --- Query budgets ------------------------------------------------------------------------


def test_list_query_budget(
    agent_client, manager_client, make_ticket, django_assert_max_num_queries
):
    _refund_rule(manager_client, boost=3)
    now = timezone.now()
    for i in range(60):
        make_ticket(
            subject=f"Order {i}",
            initial_message="refund please" if i % 3 == 0 else "where is it",
            tags=["billing", f"t{i % 4}"],
            priority=("normal", "high")[i % 2],
            created_at=now - timedelta(minutes=i),
        )
    params = {
        "status": "open,pending",
        "priority": "normal,high",
        "channel": "email",
        "tag": "billing",
        "topic_alerts": "refund,damaged",
        "apply_rules": "true",
        "smart_order": "true",
        "limit": 50,
    }
    with django_assert_max_num_queries(6):
        response = agent_client.get("/api/tickets", params)
    assert response.status_code == 200
    body = response.json()
    assert len(body["tickets"]) == 50
    assert body["pagination"]["total"] == 60
    assert body["matches"] == 20


def test_detail_query_budget(agent_client, make_ticket, django_assert_max_num_queries):
    ticket = make_ticket(tags=["a", "b"])
    for i in range(29):
        message_add(ticket=ticket, content=f"message {i}", from_agent=i % 2 == 0, actor=None)
    for i in range(5):
        note_add(ticket=ticket, content=f"note {i}", actor=None)
    agent_client.get(f"/api/tickets/{ticket.pk}")  # SQLite probes its JSON support once
    # The session, the agent, then the detail's own three.
    with django_assert_max_num_queries(5):
        response = agent_client.get(f"/api/tickets/{ticket.pk}")
    assert response.status_code == 200
    assert len(response.json()["messages"]) == 30
    assert len(response.json()["notes"]) == 5


def test_detail_with_an_api_key_joins_the_customers_intelligence(
    key_client, make_ticket, django_assert_max_num_queries
):
    """The key (unless cached), the ticket with its customer, kept intelligence and newest
    AI recommendation, its messages, the SLA clocks with their pauses: 4 at most (3 with
    the key cached: quimbi_support/tests/test_detail_queries.py)."""
    ticket = make_ticket()
    for i in range(49):
        message_add(ticket=ticket, content=f"message {i}", from_agent=i % 2 == 0, actor=None)
    key_client.get("/api/v1/auth/whoami")  # the key's first use records last_used_at
    key_client.get(f"/api/v1/tickets/{ticket.pk}")  # SQLite probes its JSON support once
    with django_assert_max_num_queries(4):
        response = key_client.get(f"/api/v1/tickets/{ticket.pk}")
    assert response.status_code == 200
    assert len(response.json()["messages"]) == 50


# --- CORS and slashes ---------------------------------------------------------------------


def test_cors_preflight_from_an_allowed_origin(settings, api_client):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = api_client.options(
        "/api/tickets",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PATCH",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key,content-type",
    )
    assert 200 <= response.status_code < 300
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    allowed_headers = {
        h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")
    }
    assert {"x-api-key", "content-type"} <= allowed_headers
    allowed_methods = {
        m.strip().upper() for m in response["Access-Control-Allow-Methods"].split(",")
    }
    assert "PATCH" in allowed_methods


def test_cors_actual_request_from_allowed_origin_carries_the_header(
    settings, key_client, make_ticket
):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    make_ticket()
    response = key_client.get("/api/tickets", HTTP_ORIGIN="https://app.example.com")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_cors_disallowed_origin_gets_no_allow_origin(settings, api_client, key_client):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    preflight = api_client.options(
        "/api/tickets",
        HTTP_ORIGIN="https://evil.example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PATCH",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key,content-type",
    )
    assert "Access-Control-Allow-Origin" not in preflight
    response = key_client.get("/api/tickets", HTTP_ORIGIN="https://evil.example.org")
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize(
    "path",
    [
        "/api/tickets",
        "/api/v1/tickets",
        "/api/tickets/{id}",
        "/api/tickets/{id}/messages",
        "/api/tickets/{id}/notes",
        "/api/tickets/{id}/events",
        "/api/tickets/{id}/score-breakdown",
        "/api/customers",
        "/api/customers/7408502702335",
        "/api/agents",
        "/api/rules",
    ],
)
def test_paths_without_trailing_slash_are_never_redirected(key_client, make_ticket, path):
    ticket = make_ticket()
    for method in ("get", "options"):
        response = getattr(key_client, method)(path.format(id=ticket.pk))
        assert response.status_code not in (301, 302, 307, 308), (method, path)
        assert response.status_code == 200, (method, path, response.status_code)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/tickets", None),
        ("patch", "/api/tickets/{id}", {"priority": "high"}),
        ("post", "/api/tickets/{id}/messages", {"content": "x", "from_agent": True}),
        ("post", "/api/tickets/{id}/notes", {"content": "x"}),
        ("post", "/api/tickets/prioritize", None),
    ],
)
def test_writes_without_trailing_slash_are_not_redirected(
    key_client, make_ticket, method, path, body
):
    ticket = make_ticket()
    if path == "/api/tickets":
        body = _create_body()
    if path == "/api/tickets/prioritize":
        body = {"ticket_ids": [str(ticket.pk)]}
    response = getattr(key_client, method)(path.format(id=ticket.pk), body, format="json")
    assert response.status_code in (200, 201), response.content


def test_every_error_has_detail_and_error_block(key_client):
    response = key_client.get(f"/api/tickets/{uuid.uuid4()}")
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"] == body["detail"]
    response = key_client.get("/api/no-such-endpoint")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_json_answers_are_json(key_client, make_ticket):
    ticket = make_ticket()
    response = key_client.get(f"/api/tickets/{ticket.pk}")
    assert response["Content-Type"].startswith("application/json")
    json.loads(response.content)


def test_cursor_walks_every_ticket_once_and_survives_inserts(key_client, make_ticket):
    now = timezone.now()
    made = [make_ticket(created_at=now - timedelta(minutes=i)) for i in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = key_client.get("/api/tickets", params).json()
        seen += [t["id"] for t in body["tickets"]]
        if len(seen) == 3:  # a new ticket arrives while the client pages
            make_ticket(created_at=now + timedelta(minutes=5))
        cursor = body["pagination"]["next_cursor"]
        if not body["pagination"]["has_next"]:
            break
    assert seen == [str(t.pk) for t in made]  # newest first, none missed or repeated


def test_cursor_follows_the_change_feed(key_client, make_ticket):
    first, second = make_ticket(), make_ticket()
    params = {"sort": "updated_at", "order": "asc", "limit": 1}
    body = key_client.get("/api/tickets", params).json()
    assert [t["id"] for t in body["tickets"]] == [str(first.pk)]
    page2 = key_client.get(
        "/api/tickets", params | {"cursor": body["pagination"]["next_cursor"]}
    ).json()
    assert [t["id"] for t in page2["tickets"]] == [str(second.pk)]
    assert page2["pagination"]["has_next"] is False
    # A change to the first ticket moves it to the end of the feed: polling with the last
    # cursor shows it again, as a change, and misses nothing.
    ticket_update(ticket=first, priority="urgent", actor=None)
    page3 = key_client.get(
        "/api/tickets", params | {"cursor": page2["pagination"]["next_cursor"]}
    ).json()
    assert [t["id"] for t in page3["tickets"]] == [str(first.pk)]


@pytest.mark.parametrize("cursor", ["garbage", "WyJ4Il0", "e30"])
def test_bad_cursor_is_400(key_client, make_ticket, cursor):
    make_ticket()
    response = key_client.get("/api/tickets", {"cursor": cursor})
    assert response.status_code == 400 and "cursor" in response.json()["errors"]


def test_cursor_needs_a_keyset_ordering(key_client, make_ticket):
    make_ticket()
    response = key_client.get("/api/tickets", {"cursor": "abc", "sort": "priority"})
    assert response.status_code == 400
    assert "cursor works with" in response.json()["detail"]
