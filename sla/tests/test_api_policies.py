"""SLA policies through the API: writing and reading them, validation, matching order,
tenant isolation and roles."""

import uuid

import pytest
from rest_framework.test import APIClient

from agents import roles
from agents.tests.factories import TeamFactory
from sla.models import SLAPolicy
from sla.policies import calendar_save

pytestmark = pytest.mark.django_db

URL = "/api/v1/sla/policies"
STEP_DEFAULTS = {
    "metric": "any",
    "raise_priority": False,
    "escalate": True,
    "assign_team": None,
    "assign_manager": False,
    "notify": True,
}


def _calendar(organization, name="NY office"):
    return calendar_save(
        organization=organization,
        data={
            "name": name,
            "timezone": "America/New_York",
            "hours": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
        },
        actor=None,
    )


@pytest.fixture
def calendar(organization):
    return _calendar(organization)


def gold(**changes) -> dict:
    body = {"name": "Gold", "first_response_minutes": 60, "resolution_minutes": 480}
    body.update(changes)
    return body


def create(client, **changes) -> dict:
    response = client.post(URL, gold(**changes), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


# --- Writing and reading ----------------------------------------------------------------


def test_create_returns_the_policy_as_written(manager_client, calendar):
    team = TeamFactory(organization=calendar.organization, name="Tier 2")
    body = create(
        manager_client,
        position=3,
        active=True,
        priorities=["urgent", "high"],
        channels=["email", "chat"],
        customer_tiers=["vip"],
        next_response_minutes=120,
        calendar=str(calendar.pk),
        pause_on_pending=["resolution"],
        at_risk_percent=75,
        escalation=[
            {"on": "at_risk", "metric": "first_response", "notify": True},
            {
                "on": "breached",
                "raise_priority": True,
                "assign_team": str(team.pk),
                "assign_manager": True,
            },
        ],
    )
    assert body["name"] == "Gold"
    assert body["position"] == 3
    assert body["active"] is True
    assert body["priorities"] == ["urgent", "high"]
    assert body["channels"] == ["email", "chat"]
    assert body["customer_tiers"] == ["vip"]
    assert body["first_response_minutes"] == 60
    assert body["next_response_minutes"] == 120
    assert body["resolution_minutes"] == 480
    assert body["calendar"] == str(calendar.pk)
    assert body["pause_on_pending"] == ["resolution"]
    assert body["at_risk_percent"] == 75
    # Steps come back complete, with the defaults of what was left out.
    assert body["escalation"] == [
        {**STEP_DEFAULTS, "on": "at_risk", "metric": "first_response"},
        {
            **STEP_DEFAULTS,
            "on": "breached",
            "raise_priority": True,
            "assign_team": str(team.pk),
            "assign_manager": True,
        },
    ]
    read = manager_client.get(f"{URL}/{body['id']}")
    assert read.status_code == 200
    assert read.json() == body


def test_a_minimal_policy_gets_defaults(manager_client):
    response = manager_client.post(
        URL, {"name": "Basic", "resolution_minutes": 1440}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["active"] is True
    assert body["position"] == 0
    assert body["priorities"] == body["channels"] == body["customer_tiers"] == []
    assert body["first_response_minutes"] is None
    assert body["next_response_minutes"] is None
    assert body["calendar"] is None  # 24/7
    assert body["pause_on_pending"] == []
    assert body["at_risk_percent"] == 80
    assert body["escalation"] == []


def test_list_is_in_matching_order(manager_client, other_manager_client):
    create(manager_client, name="Catch-all", position=100)
    create(manager_client, name="VIP", position=1)
    create(manager_client, name="Urgent", position=1)
    create(other_manager_client, name="Globex only")
    response = manager_client.get(URL)
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["policies"]] == ["Urgent", "VIP", "Catch-all"]


def test_duplicate_values_in_condition_lists_are_dropped(manager_client):
    body = create(manager_client, priorities=["high", "high", "urgent"])
    assert body["priorities"] == ["high", "urgent"]


def test_patch_changes_only_what_is_sent(manager_client, calendar):
    created = create(manager_client, calendar=str(calendar.pk), priorities=["urgent"])
    response = manager_client.patch(
        f"{URL}/{created['id']}", {"first_response_minutes": 30, "active": False}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["first_response_minutes"] == 30
    assert body["active"] is False
    assert body["name"] == "Gold"
    assert body["resolution_minutes"] == 480
    assert body["calendar"] == str(calendar.pk)
    assert body["priorities"] == ["urgent"]
    assert manager_client.get(f"{URL}/{created['id']}").json() == body


def test_patch_calendar_to_null_makes_the_policy_24_7(manager_client, calendar):
    created = create(manager_client, calendar=str(calendar.pk))
    response = manager_client.patch(f"{URL}/{created['id']}", {"calendar": None}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["calendar"] is None
    assert SLAPolicy.objects.get(pk=created["id"]).calendar_id is None


def test_patch_can_drop_one_target_while_another_remains(manager_client):
    created = create(manager_client)
    response = manager_client.patch(
        f"{URL}/{created['id']}", {"first_response_minutes": None}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["first_response_minutes"] is None
    assert response.json()["resolution_minutes"] == 480


def test_delete_a_policy(manager_client):
    created = create(manager_client)
    response = manager_client.delete(f"{URL}/{created['id']}")
    assert response.status_code == 204
    assert manager_client.get(f"{URL}/{created['id']}").status_code == 404
    assert not SLAPolicy.objects.exists()


# --- Validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"priorities": ["critical"]}, "priorities"),
        ({"priorities": ["high", "whenever"]}, "priorities"),
        ({"channels": ["fax"]}, "channels"),
        ({"customer_tiers": ["platinum"]}, "customer_tiers"),
        ({"pause_on_pending": ["lunch"]}, "pause_on_pending"),
        ({"first_response_minutes": None, "resolution_minutes": None}, "first_response_minutes"),
        ({"first_response_minutes": 0}, "first_response_minutes"),
        ({"resolution_minutes": -10}, "resolution_minutes"),
        ({"at_risk_percent": 0}, "at_risk_percent"),
        ({"at_risk_percent": 101}, "at_risk_percent"),
        ({"calendar": str(uuid.uuid4())}, "calendar"),
        ({"calendar": "not-a-uuid"}, "calendar"),
        ({"escalation": [{"on": "breached", "page_the_ceo": True}]}, "escalation"),
        ({"escalation": [{"on": "late"}]}, "escalation"),
        ({"escalation": [{"metric": "resolution"}]}, "escalation"),
        ({"escalation": [{"on": "breached", "metric": "happiness"}]}, "escalation"),
        ({"escalation": [{"on": "breached", "raise_priority": "yes"}]}, "escalation"),
        ({"escalation": [{"on": "breached", "assign_team": str(uuid.uuid4())}]}, "escalation"),
        ({"escalation": "escalate!"}, "escalation"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
    ],
)
def test_bad_policy_is_a_400_naming_the_field_and_writes_nothing(manager_client, changes, field):
    response = manager_client.post(URL, gold(**changes), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert field in body["errors"], body
    assert body["detail"]
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert not SLAPolicy.objects.exists()


def test_a_policy_needs_a_target(manager_client):
    response = manager_client.post(URL, {"name": "Empty"}, format="json")
    assert response.status_code == 400
    assert "first_response_minutes" in response.json()["errors"]
    assert "target" in response.json()["detail"]
    assert not SLAPolicy.objects.exists()


def test_another_organizations_calendar_is_refused(
    manager_client, other_organization, organization
):
    theirs = _calendar(other_organization, name="Globex hours")
    response = manager_client.post(URL, gold(calendar=str(theirs.pk)), format="json")
    assert response.status_code == 400
    assert "calendar" in response.json()["errors"]
    assert not SLAPolicy.objects.exists()

    created = create(manager_client)
    response = manager_client.patch(
        f"{URL}/{created['id']}", {"calendar": str(theirs.pk)}, format="json"
    )
    assert response.status_code == 400
    assert SLAPolicy.objects.get(pk=created["id"]).calendar_id is None


def test_another_organizations_team_is_refused_in_escalation(manager_client, other_organization):
    their_team = TeamFactory(organization=other_organization, name="Globex team")
    step = {"on": "breached", "assign_team": str(their_team.pk)}
    response = manager_client.post(URL, gold(escalation=[step]), format="json")
    assert response.status_code == 400
    assert "escalation" in response.json()["errors"]
    assert not SLAPolicy.objects.exists()


def test_a_rejected_patch_changes_nothing(manager_client):
    created = create(manager_client, priorities=["urgent"])
    for change in (
        {"first_response_minutes": None, "resolution_minutes": None},
        {"at_risk_percent": 0},
        {"at_risk_percent": 101},
        {"name": "Renamed", "priorities": ["bogus"]},
        {"position": 9, "escalation": [{"on": "sometime"}]},
        {"calendar": str(uuid.uuid4())},
    ):
        response = manager_client.patch(f"{URL}/{created['id']}", change, format="json")
        assert response.status_code == 400, (change, response.json())
    assert manager_client.get(f"{URL}/{created['id']}").json() == created


def test_at_risk_percent_bounds_are_accepted(manager_client):
    assert create(manager_client, name="Early", at_risk_percent=1)["at_risk_percent"] == 1
    assert create(manager_client, name="Late", at_risk_percent=100)["at_risk_percent"] == 100


def test_duplicate_name_is_a_conflict(manager_client):
    create(manager_client)
    response = manager_client.post(URL, gold(), format="json")
    assert response.status_code == 409
    assert "name" in response.json()["errors"]
    assert response.json()["error"]["code"] == "CONFLICT"
    assert SLAPolicy.objects.count() == 1


def test_renaming_onto_another_policys_name_is_a_conflict(manager_client):
    create(manager_client, name="Gold")
    silver = create(manager_client, name="Silver")
    response = manager_client.patch(f"{URL}/{silver['id']}", {"name": "Gold"}, format="json")
    assert response.status_code == 409
    assert manager_client.get(f"{URL}/{silver['id']}").json()["name"] == "Silver"


def test_same_name_in_another_organization_is_fine(manager_client, other_manager_client):
    create(manager_client)
    create(other_manager_client)


# --- Roles and tenants ---------------------------------------------------------------------


@pytest.mark.parametrize("client_fixture", ["agent_client", "key_client"])
def test_agents_and_api_keys_read_but_do_not_write(request, manager_client, client_fixture):
    client = request.getfixturevalue(client_fixture)
    created = create(manager_client)
    assert [p["name"] for p in client.get(URL).json()["policies"]] == ["Gold"]
    assert client.get(f"{URL}/{created['id']}").json() == created

    post = client.post(URL, gold(name="Mine"), format="json")
    assert post.status_code == 403
    assert post.json()["error"]["code"] == "FORBIDDEN"
    patch = client.patch(f"{URL}/{created['id']}", {"resolution_minutes": 1}, format="json")
    assert patch.status_code == 403
    assert client.delete(f"{URL}/{created['id']}").status_code == 403
    assert list(SLAPolicy.objects.values_list("name", "resolution_minutes")) == [("Gold", 480)]


def test_manager_role_api_key_writes(organization):
    from agents.services import api_key_create

    _, raw = api_key_create(organization=organization, name="ops", role=roles.MANAGER, actor=None)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    response = client.post(URL, gold(), format="json")
    assert response.status_code == 201, response.json()
    assert SLAPolicy.objects.get().organization == organization


def test_another_organizations_policy_is_not_found(manager_client, other_manager_client):
    theirs = create(other_manager_client, name="Globex gold")
    path = f"{URL}/{theirs['id']}"
    assert manager_client.get(path).status_code == 404
    assert manager_client.patch(path, {"name": "Stolen"}, format="json").status_code == 404
    assert manager_client.delete(path).status_code == 404
    assert manager_client.get(URL).json()["policies"] == []
    assert SLAPolicy.objects.get(pk=theirs["id"]).name == "Globex gold"


def test_unknown_policy_is_not_found(manager_client):
    response = manager_client.get(f"{URL}/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
