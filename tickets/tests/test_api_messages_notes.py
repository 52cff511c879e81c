"""The conversation through the API: messages (and what they do to the ticket's status)
and internal notes, which the customer never sees (CONTRACTS.md section 2)."""

import uuid

import pytest

from tickets.models import Message, Ticket, TicketEvent
from tickets.services import message_add, note_add, ticket_transition

pytestmark = pytest.mark.django_db

MESSAGE_FIELDS = {
    "id",
    "ticket_id",
    "from_agent",
    "content",
    "created_at",
    "author_name",
    "author_email",
}
METADATA_FIELDS = {"id", "status", "priority", "assigned_to", "tags", "updated_at"}
NOTE_FIELDS = {"id", "ticket_id", "content", "author_name", "author_id", "created_at"}


def _post_message(client, ticket, **body):
    body.setdefault("content", "Thanks, we are looking into it.")
    body.setdefault("from_agent", True)
    return client.post(f"/api/tickets/{ticket.pk}/messages", body, format="json")


def _counts(ticket) -> tuple[int, int, int]:
    return (
        Message.objects.filter(ticket=ticket).count(),
        TicketEvent.objects.filter(ticket=ticket).count(),
        Ticket.objects.get(pk=ticket.pk).message_count,
    )


# --- Reading the conversation -----------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/api", "/api/v1"])
def test_list_messages_in_order_without_notes(key_client, make_ticket, prefix):
    ticket = make_ticket()
    message_add(ticket=ticket, content="We are on it", from_agent=True, actor=None)
    note_add(ticket=ticket, content="secret note", actor=None)
    message_add(ticket=ticket, content="Thanks!", from_agent=False, actor=None)
    response = key_client.get(f"{prefix}/tickets/{ticket.pk}/messages")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"messages"}
    contents = [m["content"] for m in body["messages"]]
    assert contents == ["It has not arrived yet.", "We are on it", "Thanks!"]
    for message in body["messages"]:
        assert MESSAGE_FIELDS <= set(message)
        assert message["ticket_id"] == str(ticket.pk)
        assert isinstance(message["id"], str)
    assert [m["from_agent"] for m in body["messages"]] == [False, True, False]


# --- Posting messages ---------------------------------------------------------------------


def test_post_agent_reply_shape_and_sets_pending(key_client, make_ticket):
    ticket = make_ticket(tags=["billing"])
    response = _post_message(
        key_client, ticket, author_name="Sam Agent", author_email="sam@acme.test"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"message", "ticket_updated"}
    message = body["message"]
    assert MESSAGE_FIELDS <= set(message)
    assert message["ticket_id"] == str(ticket.pk)
    assert message["from_agent"] is True
    assert message["content"] == "Thanks, we are looking into it."
    assert message["author_name"] == "Sam Agent"
    assert message["author_email"] == "sam@acme.test"
    updated = body["ticket_updated"]
    assert METADATA_FIELDS <= set(updated)
    assert updated["id"] == str(ticket.pk)
    assert updated["status"] == "pending"
    assert updated["priority"] == "normal"
    assert updated["tags"] == ["billing"]
    detail = key_client.get(f"/api/tickets/{ticket.pk}").json()
    assert detail["status"] == "pending"
    assert detail["message_count"] == 2
    assert detail["last_message_from_agent"] is True
    assert detail["last_message_preview"] == "Thanks, we are looking into it."
    assert detail["updated_at"] == updated["updated_at"]


def test_agent_reply_as_logged_in_agent_defaults_author(agent_client, agent, make_ticket):
    ticket = make_ticket()
    response = _post_message(agent_client, ticket)
    assert response.status_code == 201
    message = response.json()["message"]
    assert message["author_name"] == agent.get_full_name()
    assert message["author_email"] == agent.email


def test_agent_reply_with_close_ticket_closes(key_client, make_ticket):
    ticket = make_ticket()
    response = _post_message(key_client, ticket, close_ticket=True)
    assert response.status_code == 201
    assert response.json()["ticket_updated"]["status"] == "closed"
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert ticket.closed_at is not None


def test_agent_message_not_sent_to_customer_keeps_status(key_client, make_ticket):
    ticket = make_ticket()
    response = _post_message(key_client, ticket, send_to_customer=False)
    assert response.status_code == 201
    assert response.json()["ticket_updated"]["status"] == "open"
    assert response.json()["message"]["from_agent"] is True
    ticket.refresh_from_db()
    assert ticket.first_response_at is None


@pytest.mark.parametrize("start", ["pending", "resolved", "closed"])
def test_customer_message_reopens(key_client, make_ticket, start):
    ticket = ticket_transition(ticket=make_ticket(), to_status=start, actor=None)
    response = _post_message(
        key_client, ticket, from_agent=False, content="Still broken", author_name="Ada Buyer"
    )
    assert response.status_code == 201
    assert response.json()["message"]["from_agent"] is False
    assert response.json()["ticket_updated"]["status"] == "open"
    listed = key_client.get("/api/tickets", {"status": "open"}).json()["tickets"]
    assert [t["id"] for t in listed] == [str(ticket.pk)]
    assert listed[0]["last_message_from_agent"] is False
    assert listed[0]["last_message_preview"] == "Still broken"


def test_customer_message_on_an_open_ticket_keeps_it_open(key_client, make_ticket):
    ticket = make_ticket()
    response = _post_message(key_client, ticket, from_agent=False, content="Any news?")
    assert response.json()["ticket_updated"]["status"] == "open"


def test_message_count_and_search_follow_new_messages(key_client, make_ticket):
    ticket = make_ticket()
    _post_message(key_client, ticket, content="Your parcel was rerouted via Zanzibar")
    found = key_client.get("/api/tickets", {"q": "zanzibar"}).json()["tickets"]
    assert [t["id"] for t in found] == [str(ticket.pk)]
    assert found[0]["message_count"] == 2
    flagged = key_client.get("/api/tickets", {"topic_alerts": "zanzibar"}).json()
    assert flagged["matches"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": ""}, "content"),
        ({"content": "   \n\t "}, "content"),
        ({"content": None}, "content"),
        ({"from_agent": "yes"}, "from_agent"),
        ({"from_agent": 1}, "from_agent"),
        ({"from_agent": None}, "from_agent"),
        ({"send_to_customer": "false"}, "send_to_customer"),
        ({"close_ticket": "true"}, "close_ticket"),
        ({"author_email": "nope"}, "author_email"),
    ],
)
def test_invalid_message_is_400_and_writes_nothing(key_client, make_ticket, body, field):
    ticket = make_ticket()
    before = _counts(ticket)
    response = _post_message(key_client, ticket, **body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["detail"]
    assert field in payload["errors"]
    assert payload["error"]["code"] == "VALIDATION_ERROR"
    assert _counts(ticket) == before
    assert Ticket.objects.get(pk=ticket.pk).status == "open"


def test_message_without_from_agent_is_400(key_client, make_ticket):
    ticket = make_ticket()
    response = key_client.post(
        f"/api/tickets/{ticket.pk}/messages", {"content": "hi"}, format="json"
    )
    assert response.status_code == 400
    assert "from_agent" in response.json()["errors"]


def test_message_malformed_json_is_400_and_writes_nothing(key_client, make_ticket):
    ticket = make_ticket()
    before = _counts(ticket)
    response = key_client.post(
        f"/api/tickets/{ticket.pk}/messages",
        data='{"content": "hi", "from_agent": tru',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["detail"]
    assert _counts(ticket) == before


def test_message_on_another_organizations_ticket_is_404_and_writes_nothing(
    key_client, other_organization
):
    from tickets.services import customer_get_or_create, ticket_create

    theirs = ticket_create(
        organization=other_organization,
        customer=customer_get_or_create(organization=other_organization, external_id="1"),
        subject="Theirs",
        initial_message="hello",
        actor=None,
    )
    before = _counts(theirs)
    assert _post_message(key_client, theirs).status_code == 404
    assert key_client.get(f"/api/tickets/{theirs.pk}/messages").status_code == 404
    assert _counts(theirs) == before
    theirs.refresh_from_db()
    assert theirs.status == "open"


def test_message_create_query_budget(agent_client, make_ticket, django_assert_max_num_queries):
    ticket = make_ticket(tags=["a", "b"])
    with django_assert_max_num_queries(12):
        response = _post_message(agent_client, ticket)
    assert response.status_code == 201


# --- Notes --------------------------------------------------------------------------------


def test_post_note_shape_and_author_id_is_a_free_label(agent_client, agent, make_ticket):
    ticket = make_ticket()
    response = agent_client.post(
        f"/api/tickets/{ticket.pk}/notes",
        {"content": "Call them tomorrow", "author_name": "Sam", "author_id": "agent-1"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"note"}
    note = body["note"]
    assert NOTE_FIELDS <= set(note)
    assert note["ticket_id"] == str(ticket.pk)
    assert note["content"] == "Call them tomorrow"
    assert note["author_name"] == "Sam"
    assert note["author_id"] == "agent-1"
    listed = agent_client.get(f"/api/tickets/{ticket.pk}/notes").json()
    assert listed == {"notes": [note]}
    stored = Message.objects.get(pk=note["id"])
    # The authenticated caller is recorded separately from the label.
    assert stored.author_agent_id == agent.pk


def test_note_defaults_author_to_the_logged_in_agent(agent_client, agent, make_ticket):
    ticket = make_ticket()
    response = agent_client.post(
        f"/api/tickets/{ticket.pk}/notes", {"content": "remember"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["note"]["author_name"] == agent.get_full_name()


def test_notes_never_reach_messages_or_the_message_count(key_client, make_ticket):
    ticket = make_ticket()
    before = key_client.get(f"/api/tickets/{ticket.pk}").json()
    response = key_client.post(
        f"/api/tickets/{ticket.pk}/notes", {"content": "VIP, be nice"}, format="json"
    )
    assert response.status_code == 201
    messages = key_client.get(f"/api/tickets/{ticket.pk}/messages").json()["messages"]
    assert [m["content"] for m in messages] == ["It has not arrived yet."]
    detail = key_client.get(f"/api/tickets/{ticket.pk}").json()
    assert detail["message_count"] == 1
    assert detail["last_message_preview"] == before["last_message_preview"]
    assert detail["last_message_from_agent"] is False
    assert detail["status"] == "open"
    assert [n["content"] for n in detail["notes"]] == ["VIP, be nice"]
    listed = key_client.get("/api/tickets").json()["tickets"][0]
    assert listed["message_count"] == 1
    assert listed["last_message_preview"] == "It has not arrived yet."
    # A note is not customer text: search and topic alerts do not see it.
    assert key_client.get("/api/tickets", {"q": "vip"}).json()["tickets"] == []
    assert key_client.get("/api/tickets", {"topic_alerts": "vip"}).json()["matches"] == 0


def test_note_is_visible_to_the_change_feed(key_client, make_ticket):
    ticket = make_ticket()
    read = key_client.get(f"/api/tickets/{ticket.pk}").json()
    key_client.post(f"/api/tickets/{ticket.pk}/notes", {"content": "later"}, format="json")
    listed = key_client.get("/api/tickets", {"updated_after": read["updated_at"]}).json()
    assert [t["id"] for t in listed["tickets"]] == [str(ticket.pk)]


@pytest.mark.parametrize(
    "body",
    [
        {"content": ""},
        {"content": "   "},
        {},
        {"content": ["a"]},
        {"content": "x", "author_id": []},
    ],
)
def test_invalid_note_is_400_and_writes_nothing(key_client, make_ticket, body):
    ticket = make_ticket()
    before = _counts(ticket)
    response = key_client.post(f"/api/tickets/{ticket.pk}/notes", body, format="json")
    assert response.status_code == 400
    payload = response.json()
    assert payload["detail"]
    assert set(payload["errors"]) & {"content", "author_id"}
    assert _counts(ticket) == before


def test_notes_of_unknown_or_malformed_ticket(key_client):
    assert key_client.get(f"/api/tickets/{uuid.uuid4()}/notes").status_code == 404
    assert key_client.post(
        "/api/tickets/123/notes", {"content": "x"}, format="json"
    ).status_code == (400)
    assert Message.objects.count() == 0
