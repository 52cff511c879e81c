"""The ticket detail, with every block the frontend shows filled in, in three queries: the
ticket (its customer, kept intelligence and newest AI recommendation in the same row), its
messages, and its SLA clocks (each carrying its pauses)."""

import pytest

from intelligence.models import TicketRecommendation
from sla.policies import policy_save
from tickets.services import message_add, ticket_change
from tickets.tests.outbox import dispatch_all


@pytest.fixture
def paused_once(organization, make_ticket):
    """A 50-message ticket whose resolution clock was paused (pending) and resumed, with
    two recommendations kept (the newer one is shown)."""
    policy_save(
        organization=organization,
        data={
            "name": "Standard",
            "position": 100,
            "first_response_minutes": 60,
            "resolution_minutes": 480,
            "pause_on_pending": ["resolution"],
        },
        actor=None,
    )
    ticket = make_ticket()
    dispatch_all()
    for i in range(49):
        message_add(ticket=ticket, content=f"message {i}", from_agent=i % 2 == 0, actor=None)
    for status in ("pending", "open"):
        ticket = ticket_change(ticket=ticket, actor=None, status=status)
        dispatch_all()
    for action in ("Older advice", "Offer express shipping"):
        TicketRecommendation.objects.create(
            ticket=ticket,
            data={"priority": "high", "actions": [{"action": action, "priority": 1}]},
            conversation_version=ticket.message_count,
        )
    return ticket


def test_the_detail_is_three_queries_with_a_cached_key(
    settings, key_client, paused_once, django_assert_max_num_queries
):
    settings.AUTH_CACHE_SECONDS = 300
    settings.AUTH_CACHE_PROCESS_LOCAL = True
    # The key's first use records last_used_at and caches it; SQLite's connection probes
    # its JSON support once.
    key_client.get(f"/api/v1/tickets/{paused_once.pk}")
    with django_assert_max_num_queries(3):
        response = key_client.get(f"/api/v1/tickets/{paused_once.pk}")
    assert response.status_code == 200
    body = response.json()
    assert len(body["messages"]) == 50
    assert [a["action"] for a in body["ai_recommendation"]["actions"]] == ["Offer express shipping"]
    explanation = {e["metric"]: e for e in body["sla"]["explanation"]}
    pauses = explanation["resolution"]["pauses"]
    assert len(pauses) == 1
    assert pauses[0]["paused_at"] < pauses[0]["resumed_at"]
    assert explanation["first_response"]["pauses"] == []


def test_a_ticket_without_recommendation_or_clocks_has_neither(
    settings, key_client, make_ticket, django_assert_max_num_queries
):
    settings.AUTH_CACHE_SECONDS = 300
    settings.AUTH_CACHE_PROCESS_LOCAL = True
    ticket = make_ticket()
    key_client.get(f"/api/v1/tickets/{ticket.pk}")
    with django_assert_max_num_queries(3):
        body = key_client.get(f"/api/v1/tickets/{ticket.pk}").json()
    assert "ai_recommendation" not in body
    assert body["sla"]["explanation"] == []
