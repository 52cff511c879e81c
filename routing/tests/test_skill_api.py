"""Skills over the API: the ticket tags and channels that require a skill, and the agents
holding it. Managers write, agents read, foreign ids are 404 (400 naming the field in a
body)."""

import pytest

from agents.models import Skill
from agents.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/skills"


def test_manager_creates_a_skill(manager_client, agent):
    response = manager_client.post(
        URL,
        {
            "name": "Spanish",
            "description": "Speaks Spanish",
            "tags": [" ES ", "es", "Espanol"],
            "channels": ["phone", "chat"],
            "agent_ids": [str(agent.pk)],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["tags"] == ["es", "espanol"]
    assert body["channels"] == ["phone", "chat"]
    assert body["agent_ids"] == [str(agent.pk)]
    assert list(agent.skills.values_list("name", flat=True)) == ["Spanish"]
    assert manager_client.get(f"{URL}/{body['id']}").json() == body


def test_patch_changes_only_what_it_names(manager_client, organization, agent):
    skill = manager_client.post(
        URL, {"name": "Phone", "channels": ["phone"], "agent_ids": [str(agent.pk)]}, format="json"
    ).json()
    body = manager_client.patch(f"{URL}/{skill['id']}", {"tags": ["Call"]}, format="json").json()
    assert body["tags"] == ["call"]
    assert body["channels"] == ["phone"]
    assert body["agent_ids"] == [str(agent.pk)]
    body = manager_client.patch(f"{URL}/{skill['id']}", {"agent_ids": []}, format="json").json()
    assert body["agent_ids"] == []


def test_an_unknown_channel_is_400(manager_client):
    response = manager_client.post(URL, {"name": "Fax", "channels": ["fax"]}, format="json")
    assert response.status_code == 400
    assert "channels" in response.json()["errors"]
    assert "phone" in response.json()["detail"]  # names the allowed values
    assert not Skill.objects.exists()


def test_a_blank_tag_is_400(manager_client):
    response = manager_client.post(URL, {"name": "X", "tags": ["  "]}, format="json")
    assert response.status_code == 400
    assert "tags" in response.json()["errors"]


def test_a_duplicate_name_is_409(manager_client):
    manager_client.post(URL, {"name": "Spanish"}, format="json")
    response = manager_client.post(URL, {"name": "spanish "}, format="json")
    assert response.status_code == 409
    assert "name" in response.json()["errors"]
    other = manager_client.post(URL, {"name": "French"}, format="json").json()
    response = manager_client.patch(f"{URL}/{other['id']}", {"name": "Spanish"}, format="json")
    assert response.status_code == 409


def test_agents_read_but_do_not_write(agent_client, organization):
    skill = Skill.objects.create(organization=organization, name="Spanish")
    assert agent_client.get(URL).json()["skills"][0]["name"] == "Spanish"
    assert agent_client.get(f"{URL}/{skill.pk}").status_code == 200
    assert agent_client.post(URL, {"name": "X"}, format="json").status_code == 403
    assert agent_client.patch(f"{URL}/{skill.pk}", {"name": "X"}, format="json").status_code == 403
    assert agent_client.delete(f"{URL}/{skill.pk}").status_code == 403
    assert Skill.objects.get(pk=skill.pk).name == "Spanish"


def test_another_organizations_skill_is_404(other_manager_client, organization):
    skill = Skill.objects.create(organization=organization, name="Spanish")
    assert other_manager_client.get(f"{URL}/{skill.pk}").status_code == 404
    response = other_manager_client.patch(f"{URL}/{skill.pk}", {"name": "X"}, format="json")
    assert response.status_code == 404
    assert other_manager_client.delete(f"{URL}/{skill.pk}").status_code == 404
    assert other_manager_client.get(URL).json()["skills"] == []
    assert Skill.objects.get(pk=skill.pk).name == "Spanish"


def test_a_foreign_agent_id_is_400_and_changes_nothing(
    manager_client, organization, other_organization, agent
):
    skill = manager_client.post(
        URL, {"name": "Spanish", "agent_ids": [str(agent.pk)]}, format="json"
    ).json()
    stranger = AgentFactory(organization=other_organization)
    response = manager_client.patch(
        f"{URL}/{skill['id']}", {"tags": ["es"], "agent_ids": [str(stranger.pk)]}, format="json"
    )
    assert response.status_code == 400
    assert "agent_ids" in response.json()["errors"]
    assert manager_client.get(f"{URL}/{skill['id']}").json() == skill
    assert not stranger.skills.exists()


def test_delete(manager_client, organization, agent):
    skill = Skill.objects.create(organization=organization, name="Spanish")
    agent.skills.add(skill)
    assert manager_client.delete(f"{URL}/{skill.pk}").status_code == 204
    assert not agent.skills.exists()


def test_the_list_has_a_fixed_query_count(
    manager_client, organization, django_assert_max_num_queries
):
    def grow(start, n):
        for i in range(start, start + n):
            skill = Skill.objects.create(organization=organization, name=f"Skill {i:03}")
            skill.agents.add(AgentFactory(organization=organization))

    grow(0, 2)
    with django_assert_max_num_queries(8) as few:
        manager_client.get(URL)
    grow(2, 20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = manager_client.get(URL)
    assert len(response.json()["skills"]) == 22
    assert all(len(s["agent_ids"]) == 1 for s in response.json()["skills"])


def test_admin_checks_channels_and_tidies_tags(manager_client, organization):
    data = {
        "name": "Phone",
        "description": "",
        "tags": '["  VIP "]',
        "channels": '["fax"]',
        "_save": "Save",
    }
    response = manager_client.post("/admin/agents/skill/add/", data)
    assert response.status_code == 200  # shown again with the error
    assert "fax" in response.content.decode()
    assert not Skill.objects.exists()
    data["channels"] = '["phone"]'
    response = manager_client.post("/admin/agents/skill/add/", data)
    assert response.status_code == 302
    skill = Skill.objects.get()
    assert (skill.tags, skill.channels, skill.organization_id) == (
        ["vip"],
        ["phone"],
        organization.pk,
    )
