"""Prioritization rules through the API: managers write them, everyone reads them, and
they move tickets up the smart queue (POST /tickets/prioritize, list apply_rules)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents import roles
from agents.services import api_key_create
from agents.tests.factories import AgentFactory
from rules.models import Rule, ScoringConfig
from tickets.models import Ticket
from tickets.services import customer_get_or_create, ticket_create

pytestmark = pytest.mark.django_db

RULE_FIELDS = {
    "id",
    "name",
    "type",
    "keywords",
    "boost_amount",
    "active",
    "conditions",
    "created_at",
    "updated_at",
}


@pytest.fixture(autouse=True)
def uncapped_rules(organization):
    """These tests read each rule's whole boost: lift the cap on rules together."""
    ScoringConfig.objects.create(organization=organization, rules_cap=100)


@pytest.fixture
def manager_key_client(organization):
    _, raw = api_key_create(organization=organization, name="ops", role=roles.MANAGER, actor=None)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


@pytest.fixture
def other_manager_client(other_organization):
    client = APIClient()
    client.force_login(AgentFactory(organization=other_organization, role=roles.MANAGER))
    return client


@pytest.fixture
def twins(make_ticket):
    """Two tickets identical but for the word "refund" in the conversation."""
    at = timezone.now() - timedelta(hours=2)
    refund = make_ticket(initial_message="I would like a refund for this.", created_at=at)
    plain = make_ticket(initial_message="I would like a update for this.", created_at=at)
    return refund, plain


def _create_rule(client, **body):
    body.setdefault("name", "Refunds")
    body.setdefault("type", "custom")
    body.setdefault("keywords", ["refund"])
    body.setdefault("boost_amount", 6)
    return client.post("/api/rules", body, format="json")


def _prioritize(client, tickets, **body):
    return client.post(
        "/api/tickets/prioritize",
        {"ticket_ids": [str(t.pk) for t in tickets], **body},
        format="json",
    )


def _component(item: dict, name: str) -> dict | None:
    return next((c for c in item["score_breakdown"]["components"] if c["name"] == name), None)


# --- CRUD and shapes ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/rules", "/api/v1/rules/"])
def test_manager_creates_a_rule(manager_client, organization, path):
    response = manager_client.post(
        path,
        {"name": "Refunds", "type": "custom", "keywords": [" Refund ", "refund", "CHARGEBACK"]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == RULE_FIELDS
    assert isinstance(body["id"], str)
    assert body["name"] == "Refunds"
    assert body["type"] == "custom"
    assert body["keywords"] == ["refund", "chargeback"]
    assert isinstance(body["boost_amount"], float)
    assert body["active"] is True
    assert body["conditions"] == {}
    assert Rule.objects.filter(organization=organization, name="Refunds").count() == 1


def test_rules_list_and_detail(key_client, manager_client):
    created = _create_rule(manager_client).json()
    _create_rule(manager_client, name="Angry", keywords=["angry"], active=False)
    listed = key_client.get("/api/rules").json()
    assert [r["name"] for r in listed["rules"]] == ["Angry", "Refunds"]
    assert [
        r["name"] for r in key_client.get("/api/rules", {"active": "true"}).json()["rules"]
    ] == ["Refunds"]
    assert [
        r["name"] for r in key_client.get("/api/rules", {"active": "false"}).json()["rules"]
    ] == ["Angry"]
    detail = key_client.get(f"/api/rules/{created['id']}")
    assert detail.status_code == 200
    assert detail.json() == created


def test_manager_updates_and_deletes_a_rule(manager_client):
    rule = _create_rule(manager_client).json()
    response = manager_client.patch(
        f"/api/rules/{rule['id']}", {"boost_amount": 2.5, "active": False}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["boost_amount"] == 2.5
    assert response.json()["active"] is False
    assert response.json()["keywords"] == ["refund"]
    assert manager_client.delete(f"/api/rules/{rule['id']}").status_code == 204
    assert manager_client.get(f"/api/rules/{rule['id']}").status_code == 404
    assert not Rule.objects.filter(pk=rule["id"]).exists()


def test_manager_api_key_may_write_rules(manager_key_client):
    assert _create_rule(manager_key_client).status_code == 201


# --- Invalid input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "magic"}, "type"),
        ({"type": "custom", "keywords": []}, "keywords"),
        ({"type": "custom", "keywords": None}, "keywords"),
        ({"type": "custom", "keywords": "refund"}, "keywords"),
        ({"type": "custom", "keywords": [" "]}, "keywords"),
        ({"type": "churn", "keywords": [], "conditions": {"min_churn_risk": 2}}, "conditions"),
        ({"type": "churn", "keywords": [], "conditions": {"min_churn_risk": -0.1}}, "conditions"),
        ({"type": "churn", "keywords": [], "conditions": {"min_churn_risk": "high"}}, "conditions"),
        ({"type": "vip", "keywords": [], "conditions": {"colour": "gold"}}, "conditions"),
        ({"type": "vip", "keywords": [], "conditions": {"tiers": "vip"}}, "conditions"),
        ({"type": "vip", "keywords": [], "conditions": {"min_ltv": True}}, "conditions"),
        ({"type": "custom", "conditions": {"min_age_hours": 3}}, "conditions"),
        ({"type": "time_sensitive", "conditions": "soon"}, "conditions"),
        ({"boost_amount": 101}, "boost_amount"),
        ({"boost_amount": "lots"}, "boost_amount"),
        ({"name": ""}, "name"),
        ({"active": "perhaps"}, "active"),
    ],
)
def test_invalid_rule_is_400_and_creates_nothing(manager_client, body, field):
    response = _create_rule(manager_client, **body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["detail"]
    assert field in payload["errors"]
    assert payload["error"]["code"] == "VALIDATION_ERROR"
    assert Rule.objects.count() == 0


def test_unknown_rule_type_lists_the_allowed_types(manager_client):
    detail = _create_rule(manager_client, type="magic").json()["detail"]
    for allowed in ("vip", "churn", "time_sensitive", "custom"):
        assert allowed in detail


def test_rule_malformed_json_is_400(manager_client):
    response = manager_client.post(
        "/api/rules", data='{"name": "x", "type": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail"]
    assert Rule.objects.count() == 0


def test_duplicate_rule_name_is_409(manager_client):
    assert _create_rule(manager_client).status_code == 201
    response = _create_rule(manager_client, keywords=["money back"])
    assert response.status_code == 409
    assert "Refunds" in response.json()["detail"]
    assert response.json()["error"]["code"] == "CONFLICT"
    assert Rule.objects.count() == 1
    assert Rule.objects.get().keywords == ["refund"]


def test_renaming_onto_an_existing_name_is_409(manager_client):
    _create_rule(manager_client)
    other = _create_rule(manager_client, name="Angry", keywords=["angry"]).json()
    response = manager_client.patch(f"/api/rules/{other['id']}", {"name": "Refunds"}, format="json")
    assert response.status_code == 409
    assert Rule.objects.get(pk=other["id"]).name == "Angry"


def test_same_rule_name_in_another_organization_is_fine(manager_client, other_manager_client):
    assert _create_rule(other_manager_client).status_code == 201
    assert _create_rule(manager_client).status_code == 201


@pytest.mark.parametrize(
    "body",
    [{"keywords": []}, {"type": "churn", "conditions": {"min_churn_risk": 2}}, {"type": "nope"}],
)
def test_invalid_update_is_400_and_changes_nothing(manager_client, body):
    rule = _create_rule(manager_client).json()
    response = manager_client.patch(f"/api/rules/{rule['id']}", body, format="json")
    assert response.status_code == 400
    stored = Rule.objects.get(pk=rule["id"])
    assert (stored.type, stored.keywords, stored.conditions) == ("custom", ["refund"], {})


# --- Permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["agent_client", "key_client"])
def test_agents_read_but_cannot_write_rules(request, manager_client, client_name):
    client = request.getfixturevalue(client_name)
    rule = _create_rule(manager_client).json()
    assert client.get("/api/rules").status_code == 200
    assert client.get(f"/api/rules/{rule['id']}").status_code == 200
    responses = [
        _create_rule(client, name="Mine"),
        client.patch(f"/api/rules/{rule['id']}", {"boost_amount": 50}, format="json"),
        client.delete(f"/api/rules/{rule['id']}"),
    ]
    for response in responses:
        assert response.status_code == 403
        assert response.json()["detail"]
        assert response.json()["error"]["code"] == "FORBIDDEN"
    assert Rule.objects.count() == 1
    assert Rule.objects.get().boost_amount == 6


def test_rules_need_authentication(api_client):
    assert api_client.get("/api/rules").status_code == 401
    assert api_client.post("/api/rules", {}, format="json").status_code == 401
    assert api_client.post("/api/tickets/prioritize", {}, format="json").status_code == 401


# --- Organization isolation -------------------------------------------------------------


def test_another_organizations_rule_is_404_and_untouched(manager_client, other_manager_client):
    theirs = _create_rule(other_manager_client, name="Theirs").json()
    assert manager_client.get(f"/api/rules/{theirs['id']}").status_code == 404
    response = manager_client.patch(
        f"/api/rules/{theirs['id']}", {"boost_amount": 1}, format="json"
    )
    assert response.status_code == 404
    assert manager_client.delete(f"/api/rules/{theirs['id']}").status_code == 404
    stored = Rule.objects.get(pk=theirs["id"])
    assert stored.boost_amount == 6
    assert manager_client.get("/api/rules").json()["rules"] == []


def test_unknown_and_malformed_rule_ids(manager_client):
    assert manager_client.get(f"/api/rules/{uuid.uuid4()}").status_code == 404
    response = manager_client.get("/api/rules/not-a-uuid")
    assert response.status_code == 400
    assert "not-a-uuid" in response.json()["detail"]
    assert manager_client.patch("/api/rules/xyz", {}, format="json").status_code == 400
    assert manager_client.delete("/api/rules/xyz").status_code == 400


def test_another_organizations_rules_do_not_score_our_tickets(
    key_client, other_manager_client, twins
):
    _create_rule(other_manager_client, boost_amount=50)
    ranked = _prioritize(key_client, twins).json()["tickets"]
    for item in ranked:
        assert _component(item, "rule:Refunds") is None
    assert ranked[0]["smart_score"] == ranked[1]["smart_score"]


# --- Prioritize -----------------------------------------------------------------------------


def test_custom_rule_ranks_the_matching_ticket_first(key_client, manager_client, twins):
    refund, plain = twins
    rule = _create_rule(manager_client, boost_amount=6).json()
    response = _prioritize(key_client, [plain, refund])
    assert response.status_code == 200
    body = response.json()
    assert body["rules_applied"] is None
    first, second = body["tickets"]
    assert (first["id"], first["rank"]) == (str(refund.pk), 1)
    assert (second["id"], second["rank"]) == (str(plain.pk), 2)
    assert isinstance(first["smart_score"], float)
    assert first["smart_score"] == pytest.approx(second["smart_score"] + 6, abs=0.05)
    component = _component(first, "rule:Refunds")
    assert component is not None
    assert component["points"] == 6
    assert component["rule_id"] == rule["id"]
    assert "refund" in component["reason"]
    assert _component(second, "rule:Refunds") is None
    assert first["customer_id"] == "7408502702335"


def test_prioritize_saves_fresh_scores(key_client, manager_client, twins):
    refund, plain = twins
    _create_rule(manager_client)
    scored = {t["id"]: t["smart_score"] for t in _prioritize(key_client, twins).json()["tickets"]}
    detail = key_client.get(f"/api/tickets/{refund.pk}").json()
    assert detail["smart_score"] == scored[str(refund.pk)]
    assert _component(detail, "rule:Refunds")["points"] == 6
    breakdown = key_client.get(f"/api/tickets/{refund.pk}/score-breakdown").json()
    assert "rule:Refunds" in [c["name"] for c in breakdown["components"]]
    queue = key_client.get("/api/tickets", {"smart_order": "true"}).json()["tickets"]
    assert [t["id"] for t in queue] == [str(refund.pk), str(plain.pk)]


def test_rule_ids_restrict_to_the_given_rules_and_save_nothing(
    key_client, manager_client, make_ticket
):
    refund_rule = _create_rule(manager_client, boost_amount=6).json()
    _create_rule(manager_client, name="Damage", keywords=["damaged"], boost_amount=9)
    ticket = make_ticket(initial_message="It arrived damaged, I want a refund")
    response = _prioritize(key_client, [ticket], rule_ids=[refund_rule["id"]])
    assert response.status_code == 200
    body = response.json()
    assert body["rules_applied"] == [refund_rule["id"]]
    [item] = body["tickets"]
    names = [c["name"] for c in item["score_breakdown"]["components"]]
    assert "rule:Refunds" in names
    assert "rule:Damage" not in names
    # A what-if: the stored score is unchanged.
    assert Ticket.objects.get(pk=ticket.pk).smart_score == 0
    every = _prioritize(key_client, [ticket]).json()["tickets"][0]
    assert every["smart_score"] == pytest.approx(item["smart_score"] + 9, abs=0.05)


def test_rule_ids_may_name_an_inactive_rule(key_client, manager_client, twins):
    refund, _ = twins
    rule = _create_rule(manager_client, active=False).json()
    default = _prioritize(key_client, [refund]).json()["tickets"][0]
    assert _component(default, "rule:Refunds") is None
    what_if = _prioritize(key_client, [refund], rule_ids=[rule["id"]]).json()["tickets"][0]
    assert _component(what_if, "rule:Refunds")["points"] == 6


def test_vip_rule_matches_a_vip_customer(key_client, manager_client, organization, make_ticket):
    at = timezone.now() - timedelta(hours=1)
    ada_ticket = make_ticket(created_at=at)
    bob = customer_get_or_create(organization=organization, external_id="555", name="Bob")
    bob_ticket = ticket_create(
        organization=organization,
        customer=bob,
        subject="Where is my order?",
        initial_message="It has not arrived yet.",
        created_at=at,
        actor=None,
    )
    response = _create_rule(manager_client, name="VIP", type="vip", keywords=[], boost_amount=7)
    assert response.status_code == 201
    before = _prioritize(key_client, [ada_ticket, bob_ticket]).json()["tickets"]
    assert all(_component(t, "rule:VIP") is None for t in before)
    patched = key_client.patch("/api/customers/7408502702335", {"tier": "vip"}, format="json")
    assert patched.status_code == 200
    ranked = _prioritize(key_client, [bob_ticket, ada_ticket]).json()["tickets"]
    assert [t["id"] for t in ranked] == [str(ada_ticket.pk), str(bob_ticket.pk)]
    component = _component(ranked[0], "rule:VIP")
    assert component["points"] == 7
    assert "vip" in component["reason"]
    assert _component(ranked[1], "rule:VIP") is None


def test_time_sensitive_rule_needs_the_keyword_and_the_wait(
    key_client, manager_client, make_ticket
):
    now = timezone.now()
    old = make_ticket(initial_message="urgent: wedding dress", created_at=now - timedelta(hours=6))
    new = make_ticket(initial_message="urgent: wedding dress", created_at=now)
    old_other = make_ticket(initial_message="no hurry", created_at=now - timedelta(hours=6))
    _create_rule(
        manager_client,
        name="Wedding",
        type="time_sensitive",
        keywords=["wedding"],
        conditions={"min_age_hours": 4},
        boost_amount=5,
    )
    ranked = {t["id"]: t for t in _prioritize(key_client, [old, new, old_other]).json()["tickets"]}
    assert _component(ranked[str(old.pk)], "rule:Wedding")["points"] == 5
    assert _component(ranked[str(new.pk)], "rule:Wedding") is None
    assert _component(ranked[str(old_other.pk)], "rule:Wedding") is None


def test_negative_boost_lowers_the_ticket(key_client, manager_client, twins):
    refund, plain = twins
    _create_rule(manager_client, boost_amount=-1.5)
    ranked = _prioritize(key_client, twins).json()["tickets"]
    assert [t["id"] for t in ranked] == [str(plain.pk), str(refund.pk)]


def test_closed_tickets_score_zero(key_client, manager_client, twins):
    refund, _ = twins
    _create_rule(manager_client)
    key_client.patch(f"/api/tickets/{refund.pk}", {"status": "closed"}, format="json")
    [item] = _prioritize(key_client, [refund]).json()["tickets"]
    assert item["smart_score"] == 0.0
    assert item["status"] == "closed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ticket_ids": []}, "ticket_ids"),
        ({"ticket_ids": ["not-a-uuid"]}, "ticket_ids"),
        ({"ticket_ids": "abc"}, "ticket_ids"),
        ({}, "ticket_ids"),
        ({"ticket_ids": "TICKET", "rule_ids": ["nope"]}, "rule_ids"),
        ({"ticket_ids": "TICKET", "rule_ids": "all"}, "rule_ids"),
    ],
)
def test_prioritize_invalid_input_is_400(key_client, twins, body, field):
    if body.get("ticket_ids") == "TICKET":
        body = {**body, "ticket_ids": [str(twins[0].pk)]}
    response = key_client.post("/api/tickets/prioritize", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_prioritize_unknown_or_foreign_ids_are_404_and_save_nothing(
    key_client, other_manager_client, other_organization, twins
):
    refund, _ = twins
    theirs = ticket_create(
        organization=other_organization,
        customer=customer_get_or_create(organization=other_organization, external_id="1"),
        subject="Theirs",
        actor=None,
    )
    their_rule = _create_rule(other_manager_client).json()
    for body in (
        {"ticket_ids": [str(refund.pk), str(theirs.pk)]},
        {"ticket_ids": [str(uuid.uuid4())]},
        {"ticket_ids": [str(refund.pk)], "rule_ids": [their_rule["id"]]},
        {"ticket_ids": [str(refund.pk)], "rule_ids": [str(uuid.uuid4())]},
    ):
        response = key_client.post("/api/tickets/prioritize", body, format="json")
        assert response.status_code == 404, body
        assert response.json()["detail"]
    assert Ticket.objects.get(pk=refund.pk).smart_score == 0
    assert Ticket.objects.get(pk=theirs.pk).smart_score == 0


def test_prioritize_with_duplicate_ids_ranks_each_ticket_once(key_client, twins):
    refund, plain = twins
    body = {"ticket_ids": [str(refund.pk), str(refund.pk), str(plain.pk)]}
    ranked = key_client.post("/api/tickets/prioritize", body, format="json").json()["tickets"]
    assert sorted(t["id"] for t in ranked) == sorted([str(refund.pk), str(plain.pk)])
    assert [t["rank"] for t in ranked] == [1, 2]


# --- apply_rules on the list ------------------------------------------------------------


def test_list_apply_rules_uses_rules_created_through_the_api(key_client, manager_client, twins):
    refund, plain = twins
    _create_rule(manager_client, boost_amount=8)
    stale = key_client.get("/api/tickets", {"smart_order": "true"}).json()["tickets"]
    assert {t["smart_score"] for t in stale} == {0.0}
    body = key_client.get("/api/tickets", {"apply_rules": "true", "smart_order": "true"}).json()
    first, second = body["tickets"]
    assert first["id"] == str(refund.pk)
    assert first["smart_score"] == pytest.approx(second["smart_score"] + 8, abs=0.05)
    # Deactivating the rule takes it out of the fresh scores.
    rule_id = Rule.objects.get(name="Refunds").pk
    manager_client.patch(f"/api/rules/{rule_id}", {"active": False}, format="json")
    again = key_client.get("/api/tickets", {"apply_rules": "true"}).json()["tickets"]
    assert again[0]["smart_score"] == pytest.approx(again[1]["smart_score"], abs=0.05)


@pytest.mark.parametrize("path", ["/api/v1/tickets/prioritize", "/api/v1/tickets/prioritize/"])
def test_prioritize_answers_on_the_versioned_path(key_client, twins, path):
    response = key_client.post(path, {"ticket_ids": [str(t.pk) for t in twins]}, format="json")
    assert response.status_code == 200
    assert [t["rank"] for t in response.json()["tickets"]] == [1, 2]
