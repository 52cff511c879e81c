"""Teams over the API: managers write, agents read, foreign ids are 404 (or a 400 naming
the field in a body), routing settings ride along; tickets take a team_id."""

import pytest

from agents.models import Team
from agents.tests.factories import AgentFactory, TeamFactory
from routing.models import TeamRouting
from sla.policies import calendar_save

pytestmark = pytest.mark.django_db

URL = "/api/v1/teams"


def _calendar(organization, name="Office"):
    return calendar_save(
        organization=organization, data={"name": name, "always_open": True}, actor=None
    )


def test_manager_creates_a_team_with_routing_and_members(manager_client, organization, agent):
    calendar = _calendar(organization)
    response = manager_client.post(
        URL,
        {
            "name": "Billing",
            "description": "Invoices and refunds",
            "routing_strategy": "least_loaded",
            "calendar_id": str(calendar.pk),
            "on_agent_away": "redistribute",
            "is_default": True,
            "member_ids": [str(agent.pk)],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Billing"
    assert body["routing_strategy"] == "least_loaded"
    assert body["calendar_id"] == str(calendar.pk)
    assert body["on_agent_away"] == "redistribute"
    assert body["is_default"] is True
    assert body["member_ids"] == [str(agent.pk)]
    assert body["member_count"] == 1
    assert body["members"] == [{"id": str(agent.pk), "name": agent.name}]
    routing = TeamRouting.objects.get(team_id=body["id"])
    assert routing.organization_id == organization.pk
    assert routing.history.first().history_user_id is not None


def test_a_new_team_has_default_routing(manager_client):
    response = manager_client.post(URL, {"name": "Returns"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["routing_strategy"] == "manual"
    assert body["on_agent_away"] == "keep"
    assert body["calendar_id"] is None
    assert body["is_default"] is False
    assert TeamRouting.objects.filter(team_id=body["id"]).exists()


def test_a_team_without_a_routing_row_reads_as_defaults_and_gets_one_on_update(
    manager_client, organization
):
    team = TeamFactory(organization=organization, name="Legacy")
    body = manager_client.get(f"{URL}/{team.pk}").json()
    assert (body["routing_strategy"], body["on_agent_away"], body["is_default"]) == (
        "manual",
        "keep",
        False,
    )
    response = manager_client.patch(
        f"{URL}/{team.pk}", {"routing_strategy": "round_robin"}, format="json"
    )
    assert response.status_code == 200
    assert TeamRouting.objects.get(team=team).strategy == "round_robin"


def test_setting_the_default_clears_the_previous_one(manager_client):
    first = manager_client.post(URL, {"name": "A", "is_default": True}, format="json").json()
    second = manager_client.post(URL, {"name": "B"}, format="json").json()
    response = manager_client.patch(f"{URL}/{second['id']}", {"is_default": True}, format="json")
    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert manager_client.get(f"{URL}/{first['id']}").json()["is_default"] is False
    assert TeamRouting.objects.filter(is_default=True).count() == 1


def test_patch_changes_only_what_it_names(manager_client, organization, agent):
    created = manager_client.post(
        URL,
        {"name": "Billing", "routing_strategy": "skills", "member_ids": [str(agent.pk)]},
        format="json",
    ).json()
    response = manager_client.patch(
        f"{URL}/{created['id']}", {"description": "Money"}, format="json"
    )
    body = response.json()
    assert body["description"] == "Money"
    assert body["routing_strategy"] == "skills"
    assert body["member_ids"] == [str(agent.pk)]
    cleared = manager_client.patch(
        f"{URL}/{created['id']}", {"member_ids": [], "calendar_id": None}, format="json"
    ).json()
    assert cleared["member_ids"] == []
    assert cleared["calendar_id"] is None
    assert cleared["description"] == "Money"


def test_agents_read_but_do_not_write(agent_client, organization):
    team = TeamFactory(organization=organization, name="Billing")
    assert agent_client.get(URL).status_code == 200
    assert agent_client.get(f"{URL}/{team.pk}").status_code == 200
    assert agent_client.post(URL, {"name": "X"}, format="json").status_code == 403
    response = agent_client.patch(f"{URL}/{team.pk}", {"name": "X"}, format="json")
    assert response.status_code == 403
    assert agent_client.delete(f"{URL}/{team.pk}").status_code == 403
    team.refresh_from_db()
    assert team.name == "Billing"


def test_key_client_of_agent_role_cannot_write(key_client):
    assert key_client.post(URL, {"name": "X"}, format="json").status_code == 403


def test_another_organizations_team_is_404(other_manager_client, organization):
    team = TeamFactory(organization=organization, name="Billing")
    assert other_manager_client.get(f"{URL}/{team.pk}").status_code == 404
    response = other_manager_client.patch(f"{URL}/{team.pk}", {"name": "X"}, format="json")
    assert response.status_code == 404
    assert other_manager_client.delete(f"{URL}/{team.pk}").status_code == 404
    assert other_manager_client.get(URL).json()["teams"] == []
    team.refresh_from_db()
    assert team.name == "Billing"


def test_a_malformed_id_is_400(manager_client):
    response = manager_client.get(f"{URL}/not-a-uuid")
    assert response.status_code == 400
    assert "id" in response.json()["errors"]


@pytest.mark.parametrize("field", ["calendar_id", "member_ids"])
def test_a_foreign_id_in_the_body_is_400_naming_the_field(
    manager_client, organization, other_organization, field
):
    team = manager_client.post(URL, {"name": "Billing"}, format="json").json()
    foreign = {
        "calendar_id": lambda: str(_calendar(other_organization).pk),
        "member_ids": lambda: [str(AgentFactory(organization=other_organization).pk)],
    }[field]()
    response = manager_client.patch(
        f"{URL}/{team['id']}", {"description": "changed", field: foreign}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    after = manager_client.get(f"{URL}/{team['id']}").json()
    assert after == team  # nothing changed, not even the description
    response = manager_client.post(URL, {"name": "Shipping", field: foreign}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Team.objects.filter(name="Shipping").exists()


def test_a_duplicate_name_is_409(manager_client):
    assert manager_client.post(URL, {"name": "Billing"}, format="json").status_code == 201
    response = manager_client.post(URL, {"name": "billing"}, format="json")
    assert response.status_code == 409
    assert "name" in response.json()["errors"]


def test_invalid_values_are_400(manager_client):
    for body, field in (
        ({"name": "X", "routing_strategy": "random"}, "routing_strategy"),
        ({"name": "X", "on_agent_away": "panic"}, "on_agent_away"),
        ({"name": "X", "is_default": "yes"}, "is_default"),
        ({"name": "X", "zz": 1}, "zz"),
        ({"name": ""}, "name"),
    ):
        response = manager_client.post(URL, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["errors"], body


def test_delete_leaves_tickets_without_the_team(manager_client, organization, make_ticket):
    team = TeamFactory(organization=organization)
    ticket = make_ticket(team=team)
    assert manager_client.delete(f"{URL}/{team.pk}").status_code == 204
    ticket.refresh_from_db()
    assert ticket.team_id is None
    assert not Team.objects.filter(pk=team.pk).exists()


def test_the_list_has_a_fixed_query_count(
    manager_client, organization, django_assert_max_num_queries
):
    def grow(n):
        for _ in range(n):
            team = TeamFactory(organization=organization)
            TeamRouting.objects.create(team=team, organization=organization)
            team.members.add(AgentFactory(organization=organization))

    grow(2)
    with django_assert_max_num_queries(8) as few:
        manager_client.get(URL)
    grow(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = manager_client.get(URL)
    assert response.json()["pagination"]["total"] == 22
    assert len(response.json()["teams"]) == 22
    assert all(t["member_count"] == 1 for t in response.json()["teams"])


def test_the_list_is_paginated(manager_client, organization):
    for name in ("A", "B", "C"):
        TeamFactory(organization=organization, name=name)
    body = manager_client.get(URL, {"limit": 2, "page": 2}).json()
    assert [t["name"] for t in body["teams"]] == ["C"]
    assert body["pagination"]["total"] == 3
    assert body["pagination"]["has_prev"] is True


# --- team_id on tickets ---------------------------------------------------------------


def test_ticket_create_takes_a_team_id(key_client, organization):
    team = TeamFactory(organization=organization)
    response = key_client.post(
        "/api/v1/tickets",
        {"customer_id": "42", "subject": "Refund", "team_id": str(team.pk)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["ticket"]["team_id"] == str(team.pk)


def test_ticket_create_refuses_a_foreign_team_id(key_client, other_organization):
    team = TeamFactory(organization=other_organization)
    response = key_client.post(
        "/api/v1/tickets",
        {"customer_id": "42", "subject": "Refund", "team_id": str(team.pk)},
        format="json",
    )
    assert response.status_code == 400
    assert "team_id" in response.json()["errors"]


def test_ticket_patch_sets_and_clears_the_team_id(
    key_client, organization, other_organization, make_ticket
):
    team = TeamFactory(organization=organization)
    ticket = make_ticket()
    url = f"/api/v1/tickets/{ticket.pk}"
    response = key_client.patch(url, {"team_id": str(team.pk)}, format="json")
    assert response.status_code == 200
    assert response.json()["ticket"]["team_id"] == str(team.pk)
    foreign = TeamFactory(organization=other_organization)
    response = key_client.patch(url, {"team_id": str(foreign.pk)}, format="json")
    assert response.status_code == 400
    assert "team_id" in response.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.team_id == team.pk
    response = key_client.patch(url, {"team_id": None}, format="json")
    assert response.json()["ticket"]["team_id"] is None
    # `team` is still understood
    response = key_client.patch(url, {"team": str(team.pk)}, format="json")
    assert response.json()["ticket"]["team_id"] == str(team.pk)
    response = key_client.patch(
        url, {"team": str(team.pk), "team_id": str(foreign.pk)}, format="json"
    )
    assert response.status_code == 400


# --- admin ----------------------------------------------------------------------------


def test_admin_team_page_edits_routing_scoped_to_the_organization(
    manager_client, organization, other_organization
):
    from django.contrib import admin

    team = TeamFactory(organization=organization, name="Billing")
    mine, theirs = _calendar(organization), _calendar(other_organization, "Theirs")
    page = manager_client.get(f"/admin/agents/team/{team.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert str(mine.pk) in html and str(theirs.pk) not in html
    assert admin.site._registry[Team].inlines
    prefix = "routing"
    data = {
        "name": "Billing",
        "description": "",
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1",
        f"{prefix}-0-team": str(team.pk),
        f"{prefix}-0-strategy": "round_robin",
        f"{prefix}-0-calendar": str(mine.pk),
        f"{prefix}-0-on_agent_away": "keep",
        f"{prefix}-0-is_default": "on",
        "_save": "Save",
    }
    response = manager_client.post(f"/admin/agents/team/{team.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    routing = TeamRouting.objects.get(team=team)
    assert (routing.strategy, routing.calendar_id, routing.is_default) == (
        "round_robin",
        mine.pk,
        True,
    )
    assert routing.organization_id == organization.pk
    # a calendar of another organization is no valid choice
    data[f"{prefix}-INITIAL_FORMS"] = "1"
    data[f"{prefix}-0-calendar"] = str(theirs.pk)
    response = manager_client.post(f"/admin/agents/team/{team.pk}/change/", data)
    assert response.status_code == 200
    routing.refresh_from_db()
    assert routing.calendar_id == mine.pk
