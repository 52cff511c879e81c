"""The customers list's and the ticket timeline's FilterSets (the ticket list's are in
test_api_tickets.py): a valid filter narrows the list, one or a comma list of values; an
unknown value is a 400 naming the parameter and listing the allowed values."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from agents.tests.factories import AgentFactory
from tickets import event_kinds
from tickets.filters import (
    CustomerFilterSet,
    TicketEventFilterSet,
    TicketFilterSet,
    filterset_apply,
)
from tickets.models import Customer, CustomerTier, Ticket
from tickets.services import customer_get_or_create, ticket_assign

pytestmark = pytest.mark.django_db


def _assert_400_listing(response, param: str, allowed) -> dict:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert param in body["errors"]
    assert "allowed values" in body["detail"]
    for value in allowed:
        assert value in body["detail"]
    return body


# --- Customers --------------------------------------------------------------------------


@pytest.fixture
def customers(organization, customer):
    vip = customer_get_or_create(organization=organization, external_id="v1", name="Vera Vip")
    premium = customer_get_or_create(organization=organization, external_id="p1", name="Pat")
    Customer.objects.filter(pk=vip.pk).update(tier="vip")
    Customer.objects.filter(pk=premium.pk).update(tier="premium")
    return {"standard": customer, "vip": vip, "premium": premium}


def _customer_ids(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [c["customer_id"] for c in response.json()["customers"]]


def test_customer_tier_filter_takes_one_or_a_comma_list(key_client, customers):
    assert _customer_ids(key_client.get("/api/v1/customers", {"tier": "vip"})) == ["v1"]
    both = key_client.get("/api/v1/customers", {"tier": "vip, premium"})
    assert sorted(_customer_ids(both)) == ["p1", "v1"]
    assert key_client.get("/api/v1/customers", {"tier": "vip"}).json()["pagination"]["total"] == 1


def test_customer_tier_filter_combines_with_search(key_client, customers):
    response = key_client.get("/api/v1/customers", {"tier": "standard,vip", "q": "vera"})
    assert _customer_ids(response) == ["v1"]


def test_unknown_customer_tier_is_400_listing_the_tiers(key_client, customers):
    response = key_client.get("/api/v1/customers", {"tier": "vip,gold"})
    body = _assert_400_listing(response, "tier", CustomerTier.values)
    assert body["detail"].startswith("Unknown tier gold;")  # names only the bad value


def test_an_empty_customer_filter_is_no_filter(key_client, customers):
    assert len(_customer_ids(key_client.get("/api/v1/customers", {"tier": "", "q": " "}))) == 3


# --- Ticket events ----------------------------------------------------------------------


def _kinds(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [e["kind"] for e in response.json()["events"]]


@pytest.fixture
def ticket_with_history(key_client, make_ticket):
    ticket = make_ticket()  # ticket.created, message.created
    key_client.patch(f"/api/v1/tickets/{ticket.pk}", {"priority": "high"}, format="json")
    key_client.patch(f"/api/v1/tickets/{ticket.pk}", {"status": "in_progress"}, format="json")
    return ticket


def test_events_filter_by_kind(key_client, ticket_with_history):
    url = f"/api/v1/tickets/{ticket_with_history.pk}/events"
    assert _kinds(key_client.get(url, {"kind": "ticket.updated"})) == ["ticket.updated"]
    response = key_client.get(url, {"kind": "ticket.created,ticket.status_changed"})
    assert _kinds(response) == ["ticket.status_changed", "ticket.created"]  # newest first
    assert response.json()["pagination"]["total"] == 2


def test_events_filter_by_time(key_client, make_ticket):
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        ticket = make_ticket()
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        key_client.patch(f"/api/v1/tickets/{ticket.pk}", {"priority": "high"}, format="json")
    url = f"/api/v1/tickets/{ticket.pk}/events"
    later = (start + timedelta(minutes=30)).isoformat()
    assert _kinds(key_client.get(url, {"created_after": later})) == ["ticket.updated"]
    assert set(_kinds(key_client.get(url, {"created_before": later}))) == {
        "ticket.created",
        "message.created",
    }
    exactly = (start + timedelta(hours=1)).isoformat()
    assert _kinds(key_client.get(url, {"created_after": exactly})) == ["ticket.updated"]
    assert "ticket.updated" not in _kinds(key_client.get(url, {"created_before": exactly}))


def test_unknown_event_kind_is_400_listing_the_kinds(key_client, ticket_with_history):
    response = key_client.get(
        f"/api/v1/tickets/{ticket_with_history.pk}/events", {"kind": "ticket.deleted"}
    )
    _assert_400_listing(response, "kind", event_kinds.TICKET_KINDS)


def test_a_customer_event_kind_is_no_ticket_event(key_client, ticket_with_history):
    response = key_client.get(
        f"/api/v1/tickets/{ticket_with_history.pk}/events", {"kind": "customer.updated"}
    )
    _assert_400_listing(response, "kind", ["ticket.created"])


@pytest.mark.parametrize("value", ["yesterday", "9999-12-31T23:00:00-05:00"])
def test_a_bad_event_instant_is_400_naming_it(key_client, ticket_with_history, value):
    response = key_client.get(
        f"/api/v1/tickets/{ticket_with_history.pk}/events", {"created_after": value}
    )
    assert response.status_code == 400
    assert "created_after" in response.json()["errors"]


# --- The FilterSets without HTTP ----------------------------------------------------------


def test_filterset_apply_returns_the_filters_applied(organization, customers):
    queryset, applied = filterset_apply(
        CustomerFilterSet,
        {"tier": "vip", "q": "", "page": "2"},
        Customer.objects.filter(organization=organization),
    )
    assert [c.external_id for c in queryset] == ["v1"]
    assert applied == {"tier": "vip"}  # unknown parameters (page) are ignored


def test_event_filterset_kinds_are_the_ticket_kinds():
    assert TicketEventFilterSet.base_filters["kind"].choices == list(event_kinds.TICKET_KINDS)
    assert "customer.updated" not in TicketEventFilterSet.base_filters["kind"].choices


def test_filter_sets_alive_at_once_keep_their_own_callers(organization, make_ticket, agent):
    """Each filter set copies the class's filters one level deep (not whole); a `method=`
    filter still answers for its own filter set: `me` is each one's caller."""
    other = AgentFactory(organization=organization)
    mine = make_ticket()
    ticket_assign(ticket=mine, actor=None, assignee=agent)
    ticket_assign(ticket=make_ticket(), actor=None, assignee=other)
    tickets = Ticket.objects.filter(organization=organization)
    first = TicketFilterSet({"assigned_to": "me"}, queryset=tickets, user=agent)
    second = TicketFilterSet({"assigned_to": "me"}, queryset=tickets, user=other)
    assert first.is_valid() and second.is_valid()
    assert [t.pk for t in first.qs] == [mine.pk]
    assert [t.assignee_id for t in second.qs] == [other.pk]
    assert first.filters["assigned_to"] is not second.filters["assigned_to"]
    assert TicketFilterSet.base_filters["assigned_to"] is not first.filters["assigned_to"]
