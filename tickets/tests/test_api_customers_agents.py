"""Customers (addressed by the commerce platform's `customer_id`) and agents through the API."""

import pytest
from rest_framework.test import APIClient

from agents import roles
from agents.tests.factories import AgentFactory, TeamFactory
from tickets.models import Customer
from tickets.services import customer_get_or_create, ticket_create

pytestmark = pytest.mark.django_db

CUSTOMER_FIELDS = {"customer_id", "name", "email", "phone", "tier", "created_at", "updated_at"}


@pytest.fixture
def other_customer(other_organization):
    customer = customer_get_or_create(
        organization=other_organization, external_id="424242", name="Globex Gal"
    )
    ticket_create(organization=other_organization, customer=customer, subject="Hi", actor=None)
    return customer


# --- Customers ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/customers", "/api/v1/customers/"])
def test_customer_list_shape_with_ticket_counts(key_client, customer, make_ticket, path):
    make_ticket()
    make_ticket()
    response = key_client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"customers", "pagination"}
    [item] = body["customers"]
    assert CUSTOMER_FIELDS <= set(item)
    assert item["customer_id"] == "7408502702335"
    assert item["name"] == "Ada Buyer"
    assert item["email"] == "ada@example.com"
    assert item["tier"] == "standard"
    assert item["tickets_count"] == 2
    assert body["pagination"]["total"] == 1


def test_customer_list_filters_and_search(key_client, organization, customer):
    vip = customer_get_or_create(organization=organization, external_id="100", name="Vera Vip")
    Customer.objects.filter(pk=vip.pk).update(tier="vip")
    listed = key_client.get("/api/customers", {"tier": "vip"}).json()["customers"]
    assert [c["customer_id"] for c in listed] == ["100"]
    by_name = key_client.get("/api/customers", {"q": "ada"}).json()["customers"]
    assert [c["customer_id"] for c in by_name] == ["7408502702335"]
    by_id = key_client.get("/api/customers", {"q": "100"}).json()["customers"]
    assert [c["customer_id"] for c in by_id] == ["100"]
    bad = key_client.get("/api/customers", {"tier": "gold"})
    assert bad.status_code == 400
    assert "allowed values" in bad.json()["detail"]


def test_customer_list_pagination(key_client, organization):
    for i in range(5):
        customer_get_or_create(organization=organization, external_id=f"c{i}", name=f"C {i}")
    body = key_client.get("/api/customers", {"limit": 2, "page": 3}).json()
    assert [c["customer_id"] for c in body["customers"]] == ["c4"]
    assert body["pagination"] == {
        "page": 3,
        "limit": 2,
        "total": 5,
        "total_pages": 3,
        "has_next": False,
        "has_prev": True,
    }
    assert key_client.get("/api/customers", {"limit": 0}).status_code == 400


def test_customer_detail(key_client, customer, make_ticket):
    make_ticket()
    response = key_client.get("/api/customers/7408502702335")
    assert response.status_code == 200
    body = response.json()
    assert CUSTOMER_FIELDS <= set(body)
    assert body["customer_id"] == "7408502702335"
    assert body["tickets_count"] == 1


def test_create_customer(key_client, organization):
    response = key_client.post(
        "/api/customers",
        {
            "customer_id": "8001",
            "name": "New Person",
            "email": "NEW@Example.com",
            "tier": "premium",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["customer_id"] == "8001"
    assert body["email"] == "new@example.com"
    assert body["tier"] == "premium"
    assert body["tickets_count"] == 0
    assert key_client.get("/api/customers/8001").json()["name"] == "New Person"


def test_create_customer_without_customer_id_gets_one(key_client):
    response = key_client.post("/api/customers", {"name": "Anon"}, format="json")
    assert response.status_code == 201
    customer_id = response.json()["customer_id"]
    assert customer_id
    assert key_client.get(f"/api/customers/{customer_id}").json()["name"] == "Anon"


def test_create_duplicate_customer_is_409_and_writes_nothing(key_client, customer):
    before = Customer.objects.count()
    response = key_client.post(
        "/api/customers", {"customer_id": "7408502702335", "name": "Dup"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["detail"]
    assert Customer.objects.count() == before
    customer.refresh_from_db()
    assert customer.name == "Ada Buyer"


def test_same_customer_id_may_exist_in_another_organization(key_client, other_customer):
    response = key_client.post(
        "/api/customers", {"customer_id": other_customer.external_id, "name": "Ours"}, format="json"
    )
    assert response.status_code == 201
    other_customer.refresh_from_db()
    assert other_customer.name == "Globex Gal"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "nope"}, "email"), ({"tier": "gold"}, "tier"), ({"name": ["x"]}, "name")],
)
def test_create_customer_invalid_is_400_and_writes_nothing(key_client, body, field):
    before = Customer.objects.count()
    response = key_client.post("/api/customers", {"customer_id": "9", **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Customer.objects.count() == before


def test_patch_customer(key_client, customer):
    response = key_client.patch(
        "/api/customers/7408502702335",
        {"tier": "vip", "phone": " +1 555 0100 ", "name": "Ada B."},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == "7408502702335"
    assert body["tier"] == "vip"
    assert body["phone"] == "+1 555 0100"
    assert body["name"] == "Ada B."
    customer.refresh_from_db()
    assert customer.tier == "vip"


@pytest.mark.parametrize(
    ("body", "field"), [({"tier": "gold"}, "tier"), ({"email": "bad"}, "email")]
)
def test_patch_customer_invalid_is_400_and_changes_nothing(key_client, customer, body, field):
    response = key_client.patch("/api/customers/7408502702335", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    customer.refresh_from_db()
    assert (customer.tier, customer.email) == ("standard", "ada@example.com")


def test_customer_tier_shows_in_ticket_detail(key_client, make_ticket):
    ticket = make_ticket()
    key_client.patch("/api/customers/7408502702335", {"tier": "vip"}, format="json")
    detail = key_client.get(f"/api/tickets/{ticket.pk}").json()
    assert detail["customer"]["tier"] == "vip"


def test_another_organizations_customer_is_404(key_client, customer, other_customer):
    for method, body in (("get", None), ("patch", {"tier": "vip"})):
        response = getattr(key_client, method)("/api/customers/424242", body, format="json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
    other_customer.refresh_from_db()
    assert other_customer.tier == "standard"
    listed = key_client.get("/api/customers").json()["customers"]
    assert [c["customer_id"] for c in listed] == ["7408502702335"]
    assert key_client.get("/api/customers", {"q": "424242"}).json()["customers"] == []


def test_customer_tickets_count_is_per_organization(key_client, customer, other_organization):
    # Same customer_id in both organizations: only our tickets count.
    theirs = customer_get_or_create(organization=other_organization, external_id="7408502702335")
    ticket_create(organization=other_organization, customer=theirs, subject="x", actor=None)
    assert key_client.get("/api/customers/7408502702335").json()["tickets_count"] == 0


def test_unknown_customer_is_404(key_client):
    assert key_client.get("/api/customers/nobody").status_code == 404
    assert key_client.patch("/api/customers/nobody", {}, format="json").status_code == 404


def test_customers_need_authentication(api_client, customer):
    assert api_client.get("/api/customers").status_code == 401
    assert api_client.get("/api/customers/7408502702335").status_code == 401


# --- Agents -----------------------------------------------------------------------------


def test_agent_list_is_the_organizations_active_agents(
    key_client, agent, manager, organization, other_organization
):
    AgentFactory(organization=other_organization, email="spy@globex.test")
    AgentFactory(organization=organization, email="gone@acme.test", is_active=False)
    team = TeamFactory(organization=organization, name="Returns")
    agent.teams.add(team)
    response = key_client.get("/api/agents")
    assert response.status_code == 200
    agents = response.json()["agents"]
    assert {a["email"] for a in agents} == {"agent@acme.test", "manager@acme.test"}
    mine = next(a for a in agents if a["email"] == "agent@acme.test")
    assert {"id", "email", "name", "role", "availability", "teams"} <= set(mine)
    assert mine["id"] == str(agent.pk)
    assert mine["role"] == roles.AGENT
    assert mine["teams"] == ["Returns"]


def test_agents_me(agent_client, agent):
    response = agent_client.get("/api/agents/me")
    assert response.status_code == 200
    assert response.json()["id"] == str(agent.pk)
    assert response.json()["email"] == "agent@acme.test"


def test_agents_me_set_availability(agent_client, agent):
    response = agent_client.patch("/api/agents/me", {"availability": "away"}, format="json")
    assert response.status_code == 200
    assert response.json()["availability"] == "away"
    agent.refresh_from_db()
    assert agent.availability == "away"


@pytest.mark.parametrize("value", ["sleeping", None, 3])
def test_agents_me_bad_availability_is_400(agent_client, agent, value):
    response = agent_client.patch("/api/agents/me", {"availability": value}, format="json")
    assert response.status_code == 400
    assert "availability" in response.json()["errors"]
    agent.refresh_from_db()
    assert agent.availability == "available"


@pytest.mark.parametrize("method", ["get", "patch"])
def test_agents_me_with_an_api_key_is_400(key_client, method):
    response = getattr(key_client, method)(
        "/api/agents/me", {"availability": "away"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"]


def test_agents_me_with_a_token_login(agent):
    client = APIClient()
    token = client.post(
        "/api/auth/token", {"email": agent.email, "password": "pw-for-tests-123"}, format="json"
    )
    assert token.status_code == 201
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert client.get("/api/agents/me").json()["id"] == str(agent.pk)


def test_agents_need_authentication(api_client):
    assert api_client.get("/api/agents").status_code == 401
    assert api_client.get("/api/agents/me").status_code == 401
