"""The rules list's FilterSet: `active` and `type` narrow the list; an unknown value is a
400 naming the parameter and listing the allowed values (it used to be ignored)."""

import pytest

from rules.models import Rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(organization):
    return [
        Rule.objects.create(organization=organization, name="Big spenders", type="vip"),
        Rule.objects.create(organization=organization, name="Leaving", type="churn"),
        Rule.objects.create(
            organization=organization,
            name="Refunds",
            type="custom",
            keywords=["refund"],
            active=False,
        ),
    ]


def _names(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [r["name"] for r in response.json()["rules"]]


def test_rules_filter_by_type(key_client, rules):
    assert _names(key_client.get("/api/v1/rules", {"type": "vip"})) == ["Big spenders"]
    assert _names(key_client.get("/api/v1/rules", {"type": "churn,custom"})) == [
        "Leaving",
        "Refunds",
    ]


def test_rules_filter_by_active_and_type(key_client, rules):
    assert _names(key_client.get("/api/v1/rules", {"active": "true"})) == [
        "Big spenders",
        "Leaving",
    ]
    assert _names(key_client.get("/api/v1/rules", {"active": "false", "type": "custom"})) == [
        "Refunds"
    ]
    assert _names(key_client.get("/api/v1/rules", {"active": "true", "type": "custom"})) == []


@pytest.mark.parametrize(
    ("param", "value", "allowed"),
    [
        ("type", "urgent", ["vip", "churn", "time_sensitive", "custom"]),
        ("type", "vip,urgent", ["vip", "churn", "time_sensitive", "custom"]),
        ("active", "perhaps", ["true", "false"]),
        ("active", "1", ["true", "false"]),
    ],
)
def test_unknown_rule_filter_values_are_400_listing_the_allowed_ones(
    key_client, rules, param, value, allowed
):
    response = key_client.get("/api/v1/rules", {param: value})
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert param in body["errors"]
    assert "allowed values" in body["detail"]
    for name in allowed:
        assert name in body["detail"]
