"""CSAT: a resolved or closed ticket is rated 1-5; a later rating replaces it (history
kept, one `ticket.rated` event each); shown on the ticket detail."""

import pytest

from agents.exceptions import DomainError
from tickets.models import Satisfaction, TicketEvent
from tickets.services import satisfaction_record, ticket_transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolved(make_ticket):
    ticket = make_ticket()
    return ticket_transition(ticket=ticket, to_status="resolved", actor=None)


def _url(ticket):
    return f"/api/v1/tickets/{ticket.pk}/satisfaction"


def test_an_open_ticket_cannot_be_rated(agent_client, make_ticket):
    ticket = make_ticket()
    response = agent_client.post(_url(ticket), {"rating": 5}, format="json")
    assert response.status_code == 400
    assert "resolved or closed" in response.json()["detail"]
    assert "open" in response.json()["detail"]
    assert not Satisfaction.objects.exists()


def test_rating_then_replacing_keeps_history_and_events(agent_client, agent, resolved):
    first = agent_client.post(_url(resolved), {"rating": 2, "comment": "slow"}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["satisfaction"]["rating"] == 2
    second = agent_client.post(_url(resolved), {"rating": 5, "comment": "fixed!"}, format="json")
    assert second.status_code == 200
    body = second.json()
    assert body["satisfaction"] == {
        "rating": 5,
        "comment": "fixed!",
        "rated_at": body["satisfaction"]["rated_at"],
    }
    assert [v["rating"] for v in body["history"]] == [5, 2]
    assert Satisfaction.objects.filter(ticket=resolved).count() == 1
    row = Satisfaction.objects.get(ticket=resolved)
    assert row.history.count() == 2 and row.history.first().history_user == agent
    events = TicketEvent.objects.filter(ticket=resolved, kind="ticket.rated").order_by("id")
    assert [e.payload for e in events] == [
        {"rating": 2, "previous_rating": None, "comment": "slow"},
        {"rating": 5, "previous_rating": 2, "comment": "fixed!"},
    ]
    assert agent_client.get(_url(resolved)).json()["satisfaction"]["rating"] == 5


def test_a_closed_ticket_can_be_rated_by_an_api_key(key_client, resolved):
    ticket_transition(ticket=resolved, to_status="closed", actor=None)
    response = key_client.post(_url(resolved), {"rating": 4}, format="json")
    assert response.status_code == 201
    event = TicketEvent.objects.get(ticket=resolved, kind="ticket.rated")
    assert event.actor is None and event.actor_label.startswith("api_key:")


@pytest.mark.parametrize(
    "body",
    [{"rating": 0}, {"rating": 6}, {"rating": "great"}, {"rating": 4.5}, {"rating": True}, {}],
)
def test_rating_must_be_1_to_5(agent_client, resolved, body):
    response = agent_client.post(_url(resolved), body, format="json")
    assert response.status_code == 400
    assert "rating" in response.json()["errors"]


def test_unknown_fields_are_refused(agent_client, resolved):
    response = agent_client.post(_url(resolved), {"rating": 3, "score": 3}, format="json")
    assert response.status_code == 400
    assert "score" in response.json()["errors"]


def test_the_service_checks_the_rating_and_the_status(resolved, make_ticket):
    with pytest.raises(DomainError):
        satisfaction_record(ticket=resolved, rating=9, actor=None)
    with pytest.raises(DomainError) as exc:
        satisfaction_record(ticket=make_ticket(), rating=3, actor=None)
    assert exc.value.code == "ticket_not_done"


def test_unrated_ticket_answers_null(agent_client, make_ticket):
    ticket = make_ticket()
    body = agent_client.get(_url(ticket)).json()
    assert body == {"ticket_id": str(ticket.pk), "satisfaction": None, "history": []}
    assert agent_client.get(f"/api/v1/tickets/{ticket.pk}").json()["satisfaction"] is None


def test_the_detail_shows_the_rating(agent_client, resolved):
    satisfaction_record(ticket=resolved, rating=3, comment="ok", actor=None)
    detail = agent_client.get(f"/api/v1/tickets/{resolved.pk}").json()
    assert detail["satisfaction"]["rating"] == 3
    assert detail["satisfaction"]["comment"] == "ok"


def test_another_organizations_ticket_is_404(other_manager_client, resolved):
    assert other_manager_client.get(_url(resolved)).status_code == 404
    response = other_manager_client.post(_url(resolved), {"rating": 1}, format="json")
    assert response.status_code == 404
    assert not Satisfaction.objects.exists()


def test_admin_ticket_page_shows_the_rating(manager_client, resolved):
    satisfaction_record(ticket=resolved, rating=4, comment="quick", actor=None)
    page = manager_client.get(f"/admin/tickets/ticket/{resolved.pk}/change/")
    assert page.status_code == 200
    assert "4/5" in page.content.decode()
    listing = manager_client.get("/admin/tickets/satisfaction/")
    assert listing.status_code == 200 and "quick" in listing.content.decode()
