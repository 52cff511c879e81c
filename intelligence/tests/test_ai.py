"""AI drafts and recommendations: reuse, regenerate, fallback, completion flags."""

import time

import pytest

from tickets.services import message_add

pytestmark = pytest.mark.django_db
GEN = "/api/generation/message"
ACTIONS = "/api/generation/actions"


@pytest.mark.parametrize("flavor", ["published", "code"])
def test_draft_is_generated_once_until_the_conversation_changes(
    quimbi, key_client, make_ticket, flavor
):
    quimbi.flavor = flavor
    ticket = make_ticket()
    url = f"/api/ai/tickets/{ticket.pk}/draft-response?_t=123"
    first = key_client.get(url).json()
    assert first["source"] == "quimbi" and first["draft"].startswith("H")
    assert first["personalization_applied"] == ["name"]
    assert key_client.get(url).json()["draft"] == first["draft"]
    assert quimbi.count(GEN) == 1  # opening the ticket twice costs one generation
    message_add(ticket=ticket, content="Any news?", from_agent=False, actor=None)
    key_client.get(url)
    assert quimbi.count(GEN) == 2
    _, body, _ = quimbi.requests[-1]
    assert body["conversation_history"][-1] == {"from_customer": True, "text": "Any news?"}
    assert body["context"]["conversation"][-1]["from"] == "customer"


def test_regenerate_honours_the_tone(quimbi, key_client, make_ticket):
    ticket = make_ticket()
    key_client.get(f"/api/ai/tickets/{ticket.pk}/draft-response")
    response = key_client.post(
        f"/api/ai/tickets/{ticket.pk}/draft-response/regenerate",
        {"tone": "formal", "length": "short"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["tone"] == "formal"
    _, body, _ = quimbi.requests[-1]
    assert body["tone"] == "formal" and body["context"]["constraints"]["tone"] == "formal"
    assert quimbi.count(GEN) == 2
    bad = key_client.post(
        f"/api/ai/tickets/{ticket.pk}/draft-response/regenerate",
        {"tone": "sarcastic"},
        format="json",
    )
    assert bad.status_code == 400


def test_draft_falls_back_when_quimbi_is_down(quimbi, key_client, make_ticket):
    quimbi.hang = True
    ticket = make_ticket()
    started = time.monotonic()
    response = key_client.get(f"/api/ai/tickets/{ticket.pk}/draft-response")
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "fallback" and "Ada" in body["draft"]
    assert "It has not arrived yet" in body["draft"]  # answers the customer's message
    assert time.monotonic() - started < 5  # one short try, then the fallback
    v1 = key_client.get(f"/api/v1/tickets/{ticket.pk}/draft")
    assert v1.status_code == 200


def test_recommendation_and_completion_survive_a_regeneration(quimbi, key_client, make_ticket):
    ticket = make_ticket()
    url = f"/api/ai/tickets/{ticket.pk}/recommendation"
    body = key_client.get(url).json()
    assert [a["action"] for a in body["actions"]] == [
        "Offer express shipping",
        "Apologise for the delay",
    ]
    assert body["estimated_impact"] == {"retention_probability": 0.8, "revenue_at_risk": 3400}
    done = key_client.patch(f"{url}/actions/0", {"completed": True}, format="json").json()
    assert done["actions"][0]["completed"] is True
    assert key_client.get(url).json()["actions"][0]["completed"] is True
    assert quimbi.count(ACTIONS) == 1
    message_add(ticket=ticket, content="Hello?", from_agent=False, actor=None)
    again = key_client.get(url).json()  # regenerated: the done action stays done
    assert quimbi.count(ACTIONS) == 2 and again["actions"][0]["completed"] is True
    assert (
        key_client.patch(f"{url}/actions/9", {"completed": True}, format="json").status_code == 404
    )


def test_recommendation_unavailable_is_a_clear_503(quimbi, key_client, make_ticket):
    quimbi.failures = [503] * 5
    response = key_client.get(f"/api/ai/tickets/{make_ticket().pk}/recommendation")
    assert response.status_code == 503 and "unavailable" in response.json()["detail"]


def test_system_configuration_and_churn_analytics(quimbi, key_client, customer):
    from intelligence.services import intelligence_refresh

    config = key_client.get("/api/system/configuration").json()
    assert config["axis_count"] == len(config["axes"]) == 13
    assert {a["category"] for a in config["axes"]} == {"purchase", "support"}
    intelligence_refresh(customer=customer)
    churn = key_client.get("/api/analytics/churn-risk").json()
    assert churn["distribution"]["high"] == 1
    assert churn["at_risk_customers"][0]["customer_id"] == customer.external_id


def test_admin_shows_intelligence_and_refreshes_it(quimbi, manager_client, make_ticket, customer):
    ticket = make_ticket()
    page = manager_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "no intelligence yet" in page
    response = manager_client.post(
        "/admin/tickets/customer/",
        {"action": "refresh_intelligence", "_selected_action": [str(customer.pk)]},
        follow=True,
    )
    assert "Refreshed 1 customer" in response.content.decode()
    page = manager_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "churn high 0.73" in page and "LTV 3,420" in page
    customer_page = manager_client.get(f"/admin/tickets/customer/{customer.pk}/change/")
    assert "weekly_highvalue" in customer_page.content.decode()
