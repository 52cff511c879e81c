"""Kept intelligence, the profile endpoints, and ticket endpoints while Quimbi hangs."""

from datetime import timedelta

import pytest
import time_machine
from celery import current_app
from django.core.cache import cache
from django.utils import timezone

from intelligence.client import QuimbiUnavailable
from intelligence.models import CustomerIntelligence
from intelligence.services import intelligence_refresh

ANALYZE = "/api/intelligence/analyze"
pytestmark = pytest.mark.django_db


def test_refresh_keeps_the_answer_and_profile_serves_it(quimbi, key_client, customer):
    intelligence_refresh(customer=customer)
    row = CustomerIntelligence.objects.get(customer=customer)
    assert (row.lifetime_value, row.churn_score, row.ltv_12m) == (3420.5, 0.73, 1250.0)
    body = key_client.get(f"/api/mcp/customer/{customer.external_id}").json()
    assert body["intelligence_status"] == "fresh"
    assert body["archetype"]["id"] == body["archetype"]["archetype_id"] == "weekly_highvalue"
    assert body["business_metrics"]["lifetime_value"] == 3420.5
    assert body["churn_risk"]["risk_level"] == "high"
    assert body["segment_memberships"] == body["fuzzy_memberships"]
    churn = key_client.get(f"/api/mcp/customer/{customer.external_id}/churn-risk").json()
    assert churn["churn_risk_score"] == 0.73
    v1 = key_client.get(f"/api/v1/customers/{customer.external_id}/intelligence").json()
    assert v1["customer_id"] == customer.external_id


def test_profile_fetches_once_when_nothing_is_kept(quimbi, key_client, customer):
    assert key_client.get(f"/api/mcp/customer/{customer.external_id}").status_code == 200
    key_client.get(f"/api/mcp/customer/{customer.external_id}")
    assert quimbi.count(ANALYZE) == 1  # the second answer came from what was kept


def test_stale_intelligence_is_served_during_an_outage(quimbi, key_client, customer):
    intelligence_refresh(customer=customer)
    quimbi.failures = [503] * 20
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        body = key_client.get(f"/api/mcp/customer/{customer.external_id}").json()
    assert body["intelligence_status"] == "stale"
    assert body["business_metrics"]["lifetime_value"] == 3420.5


def test_outage_with_nothing_kept_is_a_clear_503(quimbi, key_client, customer):
    quimbi.failures = [503] * 5
    response = key_client.get(f"/api/mcp/customer/{customer.external_id}")
    assert response.status_code == 503 and "unavailable" in response.json()["detail"]


def test_unknown_customer_is_404(quimbi, key_client):
    assert key_client.get("/api/mcp/customer/no-such-customer").status_code == 404


def test_ticket_endpoints_keep_their_latency_while_quimbi_hangs(quimbi, key_client, make_ticket):
    quimbi.hang = True
    ticket = make_ticket()
    assert key_client.get("/api/v1/tickets").status_code == 200
    detail = key_client.get(f"/api/v1/tickets/{ticket.pk}")
    assert detail.status_code == 200
    assert "customer_profile" not in detail.json()  # nothing known yet
    # Nothing on the ticket path waits for Quimbi: it is not even asked (a call would
    # hang until the read timeout), whatever the clock of the machine running this says.
    assert quimbi.requests == []


def test_a_failed_refresh_keeps_the_last_good_answer(quimbi, customer):
    intelligence_refresh(customer=customer)
    cache.clear()  # the cached answer expired, and Quimbi is down
    quimbi.failures = [500] * 10
    with pytest.raises(QuimbiUnavailable):
        intelligence_refresh(customer=customer)
    row = CustomerIntelligence.objects.get(customer=customer)
    assert row.lifetime_value == 3420.5 and row.last_error


def test_intelligence_feeds_the_score_and_vip_rule(
    quimbi, key_client, manager_client, make_ticket, customer
):
    ticket = make_ticket()
    before = key_client.post(
        "/api/v1/tickets/prioritize", {"ticket_ids": [str(ticket.pk)]}, format="json"
    ).json()["tickets"][0]["score_breakdown"]
    assert {c["name"]: c for c in before["components"]}["intelligence"] == {
        "name": "intelligence",
        "points": 0.0,
        "reason": "no customer intelligence yet",
    }
    manager_client.post(
        "/api/v1/rules",
        {
            "name": "Big spenders",
            "type": "vip",
            "conditions": {"tiers": ["x"], "min_ltv": 1000},
            "boost_amount": 3,
        },
        format="json",
    )
    intelligence_refresh(customer=customer)  # LTV 3420.5, churn 0.73
    body = key_client.post(
        "/api/v1/tickets/prioritize", {"ticket_ids": [str(ticket.pk)]}, format="json"
    ).json()
    components = {c["name"]: c for c in body["tickets"][0]["score_breakdown"]["components"]}
    # LTV 3.42 * 0.5 + churn 0.73 * 2 = 3.17, capped at 3.
    assert components["intelligence"]["points"] == 3.0
    assert "capped" in components["intelligence"]["reason"]
    assert components["rule:Big spenders"]["points"] == 2.0  # rules add at most 2
    assert "rules capped at 2" in components["rule:Big spenders"]["reason"]
    # The list's live rescoring reads the same intelligence without extra queries.
    listed = key_client.get("/api/v1/tickets?apply_rules=true").json()["tickets"][0]
    assert listed["smart_score"] == body["tickets"][0]["smart_score"]


def test_changed_intelligence_rescores_the_customers_tickets(quimbi, customer, make_ticket):
    from tickets.models import Ticket, TicketEvent
    from tickets.tests.outbox import dispatch_all

    ticket = make_ticket()
    dispatch_all()
    before = Ticket.objects.get(pk=ticket.pk).smart_score

    intelligence_refresh(customer=customer)
    event = TicketEvent.objects.get(kind="customer.updated")
    assert event.customer_id == customer.pk and event.payload == {"fields": ["intelligence"]}
    dispatch_all()  # what the worker does with it: the customer's tickets are rescored
    rescored = Ticket.objects.get(pk=ticket.pk)
    assert rescored.smart_score > before
    assert "churn risk 0.73" in str(rescored.score_breakdown)

    cache.clear()
    intelligence_refresh(customer=customer)  # the same answer again: nothing to do
    assert TicketEvent.objects.filter(kind="customer.updated").count() == 1


def test_without_quimbi_configured_profiles_are_neutral_not_errors(
    key_client, customer, make_ticket, settings
):
    settings.QUIMBI_BASE_URL = ""
    body = key_client.get(f"/api/mcp/customer/{customer.external_id}")
    assert body.status_code == 200 and body.json()["intelligence_status"] == "unavailable"
    recommendation = key_client.get(f"/api/ai/tickets/{make_ticket().pk}/recommendation")
    assert recommendation.status_code == 200 and recommendation.json()["actions"] == []


def test_opening_a_ticket_queues_one_refresh_a_minute_and_none_without_quimbi(
    quimbi, key_client, make_ticket, monkeypatch, django_capture_on_commit_callbacks, settings
):
    queued = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args: queued.append((name, args)))
    ticket = make_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):  # three agents open it: nothing kept yet, one refresh queued
            assert key_client.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    assert queued == [("intelligence.refresh_customer", [str(ticket.customer_id)])]
    cache.clear()  # a minute later, still nothing kept: queued again
    with django_capture_on_commit_callbacks(execute=True):
        key_client.get(f"/api/v1/tickets/{ticket.pk}")
    assert len(queued) == 2
    settings.QUIMBI_BASE_URL = ""  # no Quimbi: nothing to refresh from
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        key_client.get(f"/api/v1/tickets/{ticket.pk}")
    assert len(queued) == 2
