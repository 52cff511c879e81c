"""Agents over the API: managers invite and edit, agents read; nobody grants a role above
their own, changes their own role or deactivates themselves; foreign ids are 404 (or a
400 naming the field in a body)."""

import pytest
from rest_framework.test import APIClient

from agents import roles
from agents.models import Agent, Skill
from agents.signals import agent_availability_changed
from agents.tests.factories import AgentFactory, TeamFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/agents"


@pytest.fixture
def admin_client(organization):
    admin = AgentFactory(organization=organization, role=roles.ADMIN, email="admin@acme.test")
    client = APIClient()
    client.force_login(admin)
    return client


def _invite(client, **body):
    body.setdefault("email", "hire@acme.test")
    return client.post(URL, body, format="json")


# --- invite ---------------------------------------------------------------------------


def test_manager_invites_an_agent_shown_once_with_a_password(manager_client, organization):
    team = TeamFactory(organization=organization, name="Billing")
    skill = Skill.objects.create(organization=organization, name="Spanish")
    response = _invite(
        manager_client,
        email="Hire@Acme.test",
        name="New Hire",
        role="manager",
        capacity=7,
        team_ids=[str(team.pk)],
        skill_ids=[str(skill.pk)],
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "hire@acme.test"
    assert (body["role"], body["capacity"], body["is_active"]) == ("manager", 7, True)
    assert body["team_ids"] == [str(team.pk)] and body["teams"] == ["Billing"]
    assert body["skill_ids"] == [str(skill.pk)]
    password = body["temporary_password"]
    hire = Agent.objects.get(email="hire@acme.test")
    assert hire.organization_id == organization.pk
    assert hire.check_password(password)
    assert list(hire.groups.values_list("name", flat=True)) == ["Managers"]
    # never again
    assert "temporary_password" not in manager_client.get(f"{URL}/{hire.pk}").json()
    # the new agent can log in with it
    login = APIClient().post(
        "/api/v1/auth/token", {"email": "hire@acme.test", "password": password}, format="json"
    )
    assert login.status_code == 201


def test_a_manager_cannot_invite_an_admin(manager_client):
    response = _invite(manager_client, role="admin")
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]
    assert not Agent.objects.filter(email="hire@acme.test").exists()


def test_an_admin_invites_an_admin(admin_client):
    assert _invite(admin_client, role="admin").status_code == 201


def test_an_agent_cannot_invite(agent_client, key_client):
    assert _invite(agent_client).status_code == 403
    assert _invite(key_client).status_code == 403
    assert not Agent.objects.filter(email="hire@acme.test").exists()


def test_a_taken_email_is_409(manager_client, agent):
    response = _invite(manager_client, email=agent.email.upper())
    assert response.status_code == 409
    assert "email" in response.json()["errors"]


@pytest.mark.parametrize("field", ["team_ids", "skill_ids"])
def test_invite_refuses_foreign_teams_and_skills(manager_client, other_organization, field):
    foreign = {
        "team_ids": lambda: TeamFactory(organization=other_organization).pk,
        "skill_ids": lambda: Skill.objects.create(organization=other_organization, name="X").pk,
    }[field]()
    response = _invite(manager_client, **{field: [str(foreign)]})
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Agent.objects.filter(email="hire@acme.test").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"capacity": 501}, "capacity"),
        ({"capacity": -1}, "capacity"),
        ({"role": "owner"}, "role"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "mine"}, "password"),
    ],
)
def test_invite_validates(manager_client, body, field):
    response = _invite(manager_client, **body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


# --- read -----------------------------------------------------------------------------


def test_agents_read_one_agent(agent_client, manager):
    response = agent_client.get(f"{URL}/{manager.pk}")
    assert response.status_code == 200
    assert response.json()["role"] == "manager"


def test_another_organizations_agent_is_404(other_manager_client, agent):
    assert other_manager_client.get(f"{URL}/{agent.pk}").status_code == 404
    response = other_manager_client.patch(f"{URL}/{agent.pk}", {"capacity": 1}, format="json")
    assert response.status_code == 404
    agent.refresh_from_db()
    assert agent.capacity == 10


def test_a_malformed_id_is_400(manager_client):
    assert manager_client.get(f"{URL}/nope").status_code == 400


def test_list_keeps_its_shape_and_hides_inactive_agents_unless_asked(
    manager_client, agent_client, organization, manager, agent
):
    gone = AgentFactory(organization=organization, is_active=False, email="gone@acme.test")
    body = manager_client.get(URL).json()
    assert set(body) == {"agents"}
    assert str(gone.pk) not in {a["id"] for a in body["agents"]}
    everyone = manager_client.get(URL, {"include_inactive": "true"}).json()["agents"]
    assert str(gone.pk) in {a["id"] for a in everyone}
    assert agent_client.get(URL, {"include_inactive": "true"}).status_code == 403
    # a deactivated agent can still be read (and reactivated) by id
    assert manager_client.get(f"{URL}/{gone.pk}").json()["is_active"] is False


def test_the_list_has_a_fixed_query_count(
    manager_client, organization, django_assert_max_num_queries
):
    team = TeamFactory(organization=organization)
    skill = Skill.objects.create(organization=organization, name="S")

    def grow(n):
        for _ in range(n):
            colleague = AgentFactory(organization=organization)
            colleague.teams.add(team)
            colleague.skills.add(skill)

    grow(2)
    with django_assert_max_num_queries(8) as few:
        manager_client.get(URL)
    grow(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = manager_client.get(URL)
    assert len(response.json()["agents"]) == 23


# --- edit -----------------------------------------------------------------------------


def test_manager_edits_an_agent(manager_client, organization, agent):
    team = TeamFactory(organization=organization, name="Billing")
    skill = Skill.objects.create(organization=organization, name="Spanish")
    response = manager_client.patch(
        f"{URL}/{agent.pk}",
        {
            "name": "Renamed",
            "role": "manager",
            "capacity": 0,
            "team_ids": [str(team.pk)],
            "skill_ids": [str(skill.pk)],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["name"], body["role"], body["capacity"]) == ("Renamed", "manager", 0)
    assert body["team_ids"] == [str(team.pk)]
    assert body["skill_ids"] == [str(skill.pk)]
    agent.refresh_from_db()
    assert list(agent.groups.values_list("name", flat=True)) == ["Managers"]
    assert agent.history.first().history_user.email == "manager@acme.test"


def test_availability_goes_through_the_service_and_its_signal(manager_client, agent):
    seen = []

    def listener(sender, *, agent, previous, current, actor, **kwargs):
        seen.append((agent.pk, previous, current, actor.email))

    agent_availability_changed.connect(listener, dispatch_uid="test-management")
    try:
        response = manager_client.patch(
            f"{URL}/{agent.pk}", {"availability": "away"}, format="json"
        )
    finally:
        agent_availability_changed.disconnect(dispatch_uid="test-management")
    assert response.json()["availability"] == "away"
    assert seen == [(agent.pk, "available", "away", "manager@acme.test")]


def test_deactivating_an_agent_takes_them_offline(manager_client, agent):
    response = manager_client.patch(f"{URL}/{agent.pk}", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert (response.json()["is_active"], response.json()["availability"]) == (False, "offline")
    response = manager_client.patch(f"{URL}/{agent.pk}", {"is_active": True}, format="json")
    assert response.json()["is_active"] is True


def test_a_manager_cannot_promote_to_admin(manager_client, agent):
    response = manager_client.patch(f"{URL}/{agent.pk}", {"role": "admin"}, format="json")
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]
    agent.refresh_from_db()
    assert agent.role == "agent"


def test_a_manager_cannot_edit_an_admin(manager_client, organization):
    boss = AgentFactory(organization=organization, role=roles.ADMIN)
    response = manager_client.patch(f"{URL}/{boss.pk}", {"capacity": 1}, format="json")
    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.capacity == 10


def test_an_admin_promotes_to_admin(admin_client, agent):
    response = admin_client.patch(f"{URL}/{agent.pk}", {"role": "admin"}, format="json")
    assert response.status_code == 200
    assert response.json()["role"] == "admin"


def test_nobody_changes_their_own_role_or_deactivates_themselves(admin_client, organization):
    me = Agent.objects.get(email="admin@acme.test")
    response = admin_client.patch(f"{URL}/{me.pk}", {"role": "agent"}, format="json")
    assert response.status_code == 403
    assert "own role" in response.json()["detail"]
    response = admin_client.patch(f"{URL}/{me.pk}", {"is_active": False}, format="json")
    assert response.status_code == 403
    me.refresh_from_db()
    assert (me.role, me.is_active) == ("admin", True)
    # the same role is no change; other fields of oneself are fine
    response = admin_client.patch(f"{URL}/{me.pk}", {"role": "admin", "capacity": 3}, format="json")
    assert response.status_code == 200


def test_agents_cannot_edit(agent_client, key_client, manager, agent):
    for client in (agent_client, key_client):
        response = client.patch(f"{URL}/{manager.pk}", {"capacity": 1}, format="json")
        assert response.status_code == 403
    assert (
        agent_client.patch(f"{URL}/{agent.pk}", {"capacity": 1}, format="json").status_code == 403
    )
    manager.refresh_from_db()
    assert manager.capacity == 10


@pytest.mark.parametrize("field", ["team_ids", "skill_ids"])
def test_edit_refuses_foreign_ids_and_changes_nothing(
    manager_client, other_organization, agent, field
):
    foreign = {
        "team_ids": lambda: TeamFactory(organization=other_organization).pk,
        "skill_ids": lambda: Skill.objects.create(organization=other_organization, name="X").pk,
    }[field]()
    response = manager_client.patch(
        f"{URL}/{agent.pk}", {"capacity": 3, field: [str(foreign)]}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    agent.refresh_from_db()
    assert agent.capacity == 10
    assert not agent.teams.exists() and not agent.skills.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"capacity": 501}, "capacity"),
        ({"is_active": "no"}, "is_active"),
        ({"availability": "asleep"}, "availability"),
        ({"email": "x@acme.test"}, "email"),
    ],
)
def test_edit_validates(manager_client, agent, body, field):
    response = manager_client.patch(f"{URL}/{agent.pk}", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
