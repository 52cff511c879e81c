"""The ticket detail and the AI recommendation, validated against the real frontend's
own API document (contracts/support-frontend-openapi.yaml, a copy of the frontend's),
with nothing known, with intelligence kept in either answer shape, and stale."""

from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.utils import timezone

from intelligence.models import CustomerIntelligence
from intelligence.services import intelligence_refresh

pytestmark = pytest.mark.django_db
DOCUMENT = Path(__file__).resolve().parents[2] / "contracts" / "support-frontend-openapi.yaml"


def _nullable_to_json_schema(node):
    """OpenAPI 3.0's `nullable: true` is JSON Schema's `type: [T, "null"]`."""
    if isinstance(node, dict):
        node = {k: _nullable_to_json_schema(v) for k, v in node.items()}
        if node.pop("nullable", False):
            if "type" in node:
                node["type"] = [node["type"], "null"]
            elif "$ref" in node:
                node = {"anyOf": [{"$ref": node.pop("$ref")}, {"type": "null"}], **node}
        return node
    if isinstance(node, list):
        return [_nullable_to_json_schema(v) for v in node]
    return node


@pytest.fixture(scope="module")
def conforms():
    document = _nullable_to_json_schema(yaml.safe_load(DOCUMENT.read_text()))

    def check(name: str, instance: dict) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        errors = sorted(
            jsonschema.Draft4Validator(schema).iter_errors(instance), key=lambda e: e.path
        )
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:10]]

    return check


def test_detail_with_nothing_known_conforms_and_has_no_profile(conforms, key_client, make_ticket):
    body = key_client.get(f"/api/tickets/{make_ticket().pk}").json()
    conforms("Ticket", body)
    assert "customer_profile" not in body and "ai_recommendation" not in body


@pytest.mark.parametrize("flavor", ["published", "code"])
def test_detail_and_recommendation_with_quimbi_conform(
    conforms, quimbi, key_client, make_ticket, customer, flavor
):
    quimbi.flavor = flavor
    intelligence_refresh(customer=customer)
    ticket = make_ticket()

    recommendation = key_client.get(f"/api/ai/tickets/{ticket.pk}/recommendation").json()
    conforms("NextBestAction", recommendation)
    impact = recommendation["estimated_impact"]
    assert isinstance(impact["revenue_at_risk"], float)
    assert 0 <= impact["retention_probability"] <= 1

    body = key_client.get(f"/api/tickets/{ticket.pk}").json()
    conforms("Ticket", body)
    assert body["customer_profile"]["intelligence_status"] == "fresh"
    assert body["ai_recommendation"]["actions"][0]["action"] == "Offer express shipping"


def test_revenue_at_risk_is_derived_when_quimbi_gives_none(
    quimbi, key_client, make_ticket, customer
):
    quimbi.flavor = "code"  # its actions carry no estimated_impact
    intelligence_refresh(customer=customer)
    row = CustomerIntelligence.objects.get(customer=customer)
    body = key_client.get(f"/api/ai/tickets/{make_ticket().pk}/recommendation").json()
    assert body["estimated_impact"]["revenue_at_risk"] == round(
        row.lifetime_value * row.churn_score, 2
    )
    assert body["estimated_impact"]["retention_probability"] == round(1 - row.churn_score, 2)


def test_a_stale_profile_carries_the_last_known_values_marked_stale(
    conforms, quimbi, key_client, make_ticket, customer, settings
):
    intelligence_refresh(customer=customer)
    CustomerIntelligence.objects.filter(customer=customer).update(
        fetched_at=timezone.now() - timedelta(days=2)
    )
    settings.QUIMBI_BASE_URL = ""  # and Quimbi is gone since
    body = key_client.get(f"/api/tickets/{make_ticket().pk}").json()
    conforms("Ticket", body)
    profile = body["customer_profile"]
    assert profile["intelligence_status"] == "stale"
    assert profile["business_metrics"]["lifetime_value"] == 3420.5
