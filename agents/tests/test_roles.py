"""Roles map to groups with permissions: managers manage the team, agents work tickets."""

import pytest
from django.contrib.auth.models import Group

from agents import roles
from agents.services import agent_create, agent_role_sync


@pytest.mark.django_db
def test_role_groups_exist_with_their_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Agents", "Managers", "Admins"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (
            roles.AGENT,
            ["tickets.change_ticket", "tickets.add_message", "tickets.view_customer"],
            [
                "agents.add_agent",
                "agents.change_team",
                "agents.add_apikey",
                "tickets.delete_ticket",
                "agents.change_organization",
            ],
        ),
        (
            roles.MANAGER,
            [
                "tickets.change_ticket",
                "agents.add_agent",
                "agents.change_agent",
                "agents.change_team",
                "agents.add_apikey",
            ],
            ["tickets.delete_ticket", "agents.change_organization", "agents.delete_agent"],
        ),
        (
            roles.ADMIN,
            ["agents.change_organization", "tickets.delete_ticket", "agents.delete_agent"],
            [],
        ),
    ],
)
def test_role_permissions(organization, role, allowed, denied):
    agent = agent_create(
        organization=organization,
        email=f"{role}@acme.test",
        password="pw-12345",
        role=role,
        actor=None,
    )
    for perm in allowed:
        assert agent.has_perm(perm), perm
    for perm in denied:
        assert not agent.has_perm(perm), perm


@pytest.mark.django_db
def test_changing_role_moves_the_agent_between_groups(organization):
    agent = agent_create(
        organization=organization, email="a@acme.test", password="pw-12345", actor=None
    )
    assert list(agent.groups.values_list("name", flat=True)) == ["Agents"]
    agent.role = roles.MANAGER
    agent.save()
    agent_role_sync(agent=agent)
    assert list(agent.groups.values_list("name", flat=True)) == ["Managers"]
