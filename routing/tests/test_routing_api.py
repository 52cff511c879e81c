"""The assignment endpoints as a client uses them."""

import pytest

from agents import roles
from agents.tests.factories import AgentFactory, TeamFactory
from routing.models import TeamRouting
from tickets.models import Assignment


@pytest.fixture
def team(organization):
    team = TeamFactory(organization=organization, name="Support")
    TeamRouting.objects.create(team=team, organization=organization, strategy="least_loaded")
    return team


def _member(organization, team, name, capacity=3, availability="available"):
    agent = AgentFactory(
        organization=organization,
        name=name,
        email=f"{name.lower()}@acme.test",
        capacity=capacity,
        availability=availability,
    )
    agent.teams.add(team)
    return agent


def _url(ticket, what):
    return f"/api/v1/tickets/{ticket.pk}/{what}"


def test_assign_transfer_and_read_the_history(
    manager_client, organization, team, make_ticket, manager
):
    ann = _member(organization, team, "Ann")
    bob = _member(organization, team, "Bob")
    ticket = make_ticket()

    answer = manager_client.post(
        _url(ticket, "assign"), {"agent_id": str(ann.pk), "reason": "knows the order"}, "json"
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["outcome"] == "assigned"
    assert body["assignee"] == {"id": str(ann.pk), "name": "Ann"}
    assert body["assignment"]["kind"] == "manual"
    assert body["assignment"]["by"]["name"] == str(manager)

    moved = manager_client.post(
        _url(ticket, "transfer"),
        {"agent_id": str(bob.pk), "team_id": str(team.pk), "reason": "Bob has the context"},
        "json",
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["assignment"]["from_agent"]["name"] == "Ann"

    history = manager_client.get(_url(ticket, "assignments")).json()
    assert history["count"] == 2
    newest, oldest = history["assignments"]
    assert (newest["kind"], newest["to_agent"]["name"], newest["reason"]) == (
        "transfer",
        "Bob",
        "Bob has the context",
    )
    assert newest["to_team"] == {"id": str(team.pk), "name": "Support"}
    assert (oldest["kind"], oldest["from_agent"], oldest["to_agent"]["name"]) == (
        "manual",
        None,
        "Ann",
    )


def test_capacity_is_enforced_and_only_a_manager_overrides_it_with_a_reason(
    manager_client, agent_client, organization, team, make_ticket
):
    ann = _member(organization, team, "Ann", capacity=1)
    make_ticket(subject="held", assignee=ann)
    ticket = make_ticket(subject="one more")
    url = _url(ticket, "assign")

    full = agent_client.post(url, {"agent_id": str(ann.pk)}, "json")
    assert full.status_code == 409
    assert "at capacity (1 open tickets of 1)" in full.json()["detail"]
    refused = agent_client.post(
        url, {"agent_id": str(ann.pk), "override_capacity": True, "reason": "x"}, "json"
    )
    assert refused.status_code == 400 and "Only a manager" in refused.json()["detail"]
    no_reason = manager_client.post(
        url, {"agent_id": str(ann.pk), "override_capacity": True}, "json"
    )
    assert no_reason.status_code == 400 and no_reason.json()["errors"] == {
        "reason": ["Say why the capacity is overridden."]
    }
    assert not Assignment.objects.filter(ticket=ticket).exists()

    ok = manager_client.post(
        url, {"agent_id": str(ann.pk), "override_capacity": True, "reason": "VIP"}, "json"
    )
    assert ok.status_code == 200
    assert ok.json()["assignment"]["capacity_overridden"] is True


def test_route_answers_why_this_agent(agent_client, organization, team, make_ticket):
    _member(organization, team, "Ann", capacity=2)
    _member(organization, team, "Bob", availability="away")
    ticket = make_ticket(team=team)

    answer = agent_client.post(_url(ticket, "route"), {}, "json")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["outcome"] == "assigned" and body["assignee"]["name"] == "Ann"
    assert body["team"]["name"] == "Support"
    explanation = body["explanation"]
    assert explanation["strategy"] == "least_loaded" and explanation["trigger"] == "on_demand"
    skipped = {c["name"]: c.get("skipped") for c in explanation["candidates"]}
    assert skipped == {"Ann": None, "Bob": "away"}
    assert body["assignment"]["explanation"] == explanation


def test_a_ticket_without_a_team_is_queued_with_the_reason(agent_client, make_ticket):
    answer = agent_client.post(_url(make_ticket(), "route"), {}, "json")
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "queued"
    assert "no team" in answer.json()["explanation"]["why"]
    assert answer.json()["assignment"] is None


def test_foreign_tickets_agents_and_teams_are_refused_and_change_nothing(
    manager_client, other_manager_client, other_organization, organization, team, make_ticket
):
    ann = _member(organization, team, "Ann")
    foreign_team = TeamFactory(organization=other_organization, name="Theirs")
    foreign_agent = AgentFactory(organization=other_organization, email="x@globex.test")
    ticket = make_ticket()

    for what in ("assign", "transfer", "route"):
        assert (
            other_manager_client.post(
                _url(ticket, what), {"agent_id": str(ann.pk)}, "json"
            ).status_code
            == 404
        )
    assert other_manager_client.get(_url(ticket, "assignments")).status_code == 404

    bad_agent = manager_client.post(
        _url(ticket, "assign"), {"agent_id": str(foreign_agent.pk)}, "json"
    )
    assert bad_agent.status_code == 400 and "agent_id" in bad_agent.json()["errors"]
    bad_team = manager_client.post(
        _url(ticket, "assign"), {"team_id": str(foreign_team.pk)}, "json"
    )
    assert bad_team.status_code == 400 and "team_id" in bad_team.json()["errors"]
    unknown = manager_client.post(_url(ticket, "assign"), {"agent": str(ann.pk)}, "json")
    assert unknown.status_code == 400
    empty = manager_client.post(_url(ticket, "assign"), {}, "json")
    assert empty.status_code == 400
    ticket.refresh_from_db()
    assert ticket.assignee is None and not Assignment.objects.filter(ticket=ticket).exists()


def test_an_agent_outside_the_named_team_is_refused(
    manager_client, organization, team, make_ticket
):
    outsider = AgentFactory(organization=organization, role=roles.AGENT, email="o@acme.test")
    answer = manager_client.post(
        _url(make_ticket(), "assign"),
        {"agent_id": str(outsider.pk), "team_id": str(team.pk)},
        "json",
    )
    assert answer.status_code == 400
    assert "not a member" in answer.json()["errors"]["agent_id"][0]


def test_history_costs_the_same_queries_for_many_moves(
    manager_client, organization, team, make_ticket, django_assert_max_num_queries
):
    agents = [_member(organization, team, f"A{i}", capacity=50) for i in range(4)]
    ticket = make_ticket()
    for i in range(12):
        manager_client.post(_url(ticket, "assign"), {"agent_id": str(agents[i % 4].pk)}, "json")
    with django_assert_max_num_queries(6):
        answer = manager_client.get(_url(ticket, "assignments"))
    assert answer.json()["count"] == 12
