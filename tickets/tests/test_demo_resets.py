"""The demo resets (POST /tickets/{id}/reset and /reset-conversation): they exist only
with DEMO_FEATURES on, only managers use them, and they archive instead of deleting,
leaving the reset in the ticket's timeline."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from agents import roles
from agents.services import api_key_create
from tickets.models import Message, Ticket, TicketEvent
from tickets.services import customer_get_or_create, message_add, note_add, ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_features(settings):
    settings.DEMO_FEATURES = True


@pytest.fixture
def demo_client(organization):
    """A frontend holding a manager's API key."""
    _, raw = api_key_create(organization=organization, name="demo", role=roles.MANAGER, actor=None)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


def test_reset_creates_a_new_ticket_with_only_the_first_message(demo_client, make_ticket):
    ticket = make_ticket(tags=["demo"], priority="high")
    message_add(ticket=ticket, content="reply", from_agent=True, actor=None)
    message_add(ticket=ticket, content="thanks", from_agent=False, actor=None)
    response = demo_client.post(f"/api/tickets/{ticket.pk}/reset")
    assert response.status_code == 201
    body = response.json()
    fresh = body["ticket"]
    assert fresh["id"] != str(ticket.pk)
    assert fresh["status"] == "open"
    assert fresh["subject"] == ticket.subject
    assert fresh["priority"] == "high"
    assert fresh["tags"] == ["demo"]
    assert fresh["customer_id"] == "7408502702335"
    assert fresh["message_count"] == 1
    assert [m["content"] for m in body["messages"]] == ["It has not arrived yet."]
    assert body["notes"] == []
    # The original is untouched, and its timeline says where it was copied.
    assert Ticket.objects.get(pk=ticket.pk).message_count == 3
    last = TicketEvent.objects.filter(ticket=ticket).order_by("-id").first()
    assert last.payload == {"reset_into": {"ticket_id": fresh["id"]}}


def test_reset_keeps_the_sender_of_an_agent_first_message(demo_client):
    created = demo_client.post(
        "/api/tickets",
        {"customer_id": "31337", "subject": "Your order shipped", "channel": "email"},
        format="json",
    ).json()["ticket"]
    sent = demo_client.post(
        f"/api/tickets/{created['id']}/messages",
        {"content": "Good news: it shipped today.", "from_agent": True, "author_name": "Sam"},
        format="json",
    )
    assert sent.status_code == 201
    response = demo_client.post(f"/api/tickets/{created['id']}/reset")
    assert response.status_code == 201
    [message] = response.json()["messages"]
    assert message["content"] == "Good news: it shipped today."
    assert message["from_agent"] is True
    assert response.json()["ticket"]["last_message_from_agent"] is True


def test_reset_conversation_keeps_only_the_first_message(demo_client, make_ticket):
    ticket = make_ticket()
    message_add(ticket=ticket, content="reply", from_agent=True, actor=None)
    message_add(ticket=ticket, content="still waiting", from_agent=False, actor=None)
    message_add(ticket=ticket, content="shipped", from_agent=True, close_ticket=True, actor=None)
    response = demo_client.post(f"/api/tickets/{ticket.pk}/reset-conversation")
    assert response.status_code == 200
    assert response.json() == {"status": "success", "messages_deleted": 3}
    detail = demo_client.get(f"/api/tickets/{ticket.pk}").json()
    assert [m["content"] for m in detail["messages"]] == ["It has not arrived yet."]
    assert detail["status"] == "open"
    assert detail["message_count"] == 1
    assert detail["last_message_preview"] == "It has not arrived yet."
    assert detail["last_message_from_agent"] is False


def test_reset_conversation_archives_messages_and_notes(demo_client, make_ticket, manager):
    ticket = make_ticket()
    message_add(ticket=ticket, content="reply", from_agent=True, actor=None)
    note_add(ticket=ticket, content="customer is upset", author_agent=manager, actor=manager)

    demo_client.post(f"/api/tickets/{ticket.pk}/reset-conversation")

    # Out of the conversation, still in the database.
    assert Message.objects.filter(ticket=ticket).count() == 1
    archived = Message.all_objects.filter(ticket=ticket, archived_at__isnull=False)
    assert sorted(m.content for m in archived) == ["customer is upset", "reply"]
    assert demo_client.get(f"/api/tickets/{ticket.pk}/notes").json()["notes"] == []
    event = TicketEvent.objects.filter(ticket=ticket, kind="ticket.updated").latest("id")
    assert event.payload == {"conversation_reset": {"messages_archived": 2}}


def test_the_reset_is_on_the_admin_timeline(demo_client, make_ticket, manager):
    ticket = make_ticket()
    message_add(ticket=ticket, content="reply", from_agent=True, actor=None)
    demo_client.post(f"/api/tickets/{ticket.pk}/reset-conversation")
    admin = Client()
    admin.force_login(manager)
    page = admin.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "demo reset: conversation back to its first message (1 archived)" in page


def test_reset_conversation_of_a_single_message_ticket_archives_nothing(demo_client, make_ticket):
    ticket = make_ticket()
    response = demo_client.post(f"/api/tickets/{ticket.pk}/reset-conversation/")
    assert response.json() == {"status": "success", "messages_deleted": 0}
    assert Message.all_objects.filter(ticket=ticket).count() == 1


@pytest.mark.parametrize("route", ["reset", "reset-conversation"])
def test_agents_may_not_reset(key_client, agent_client, make_ticket, route):
    ticket = make_ticket()
    message_add(ticket=ticket, content="reply", from_agent=True, actor=None)
    for client in (key_client, agent_client):  # an agent-role key, an agent's session
        response = client.post(f"/api/tickets/{ticket.pk}/{route}")
        assert response.status_code == 403
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(ticket=ticket).count() == 2


@pytest.mark.parametrize("route", ["reset", "reset-conversation"])
def test_without_demo_features_the_resets_do_not_exist(settings, demo_client, make_ticket, route):
    settings.DEMO_FEATURES = False
    ticket = make_ticket()
    message_add(ticket=ticket, content="reply", from_agent=True, actor=None)
    response = demo_client.post(f"/api/tickets/{ticket.pk}/{route}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(ticket=ticket).count() == 2


def test_the_schema_lists_the_resets_only_with_demo_features(settings, demo_client):
    settings.DEMO_FEATURES = False
    paths = demo_client.get("/api/schema/?format=json").json()["paths"]
    assert not [p for p in paths if "reset" in p]
    settings.DEMO_FEATURES = True
    paths = demo_client.get("/api/schema/?format=json").json()["paths"]
    assert "/api/v1/tickets/{id}/reset-conversation/" in paths


@pytest.mark.parametrize("route", ["reset", "reset-conversation"])
def test_another_organizations_ticket_cannot_be_reset(demo_client, other_organization, route):
    customer = customer_get_or_create(organization=other_organization, external_id="9")
    theirs = ticket_create(
        organization=other_organization, customer=customer, subject="x", actor=None
    )
    message_add(ticket=theirs, content="reply", from_agent=True, actor=None)
    response = demo_client.post(f"/api/tickets/{theirs.pk}/{route}")
    assert response.status_code == 404
    assert Ticket.objects.count() == 1
    assert Message.all_objects.filter(ticket=theirs, archived_at__isnull=True).count() == 1
