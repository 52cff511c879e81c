"""Routing in the ticket admin: the assignment history and the assign, transfer and
route actions, scoped to the manager's organization."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from agents.tests.factories import AgentFactory, TeamFactory
from routing.models import TeamRouting
from tickets.models import Assignment
from tickets.tests.test_admin import _post_ticket

CHANGELIST = "/admin/tickets/ticket/"


@pytest.fixture
def team(organization):
    team = TeamFactory(organization=organization, name="Support")
    TeamRouting.objects.create(team=team, organization=organization, strategy="least_loaded")
    return team


def _member(organization, team, name, **fields):
    agent = AgentFactory(
        organization=organization, name=name, email=f"{name.lower()}@acme.test", **fields
    )
    agent.teams.add(team)
    return agent


def test_route_now_action_assigns_and_reports(manager_client, organization, team, make_ticket):
    ann = _member(organization, team, "Ann")
    ticket = make_ticket(team=team)
    answer = manager_client.post(
        CHANGELIST, {"action": "route_now", ACTION_CHECKBOX_NAME: [str(ticket.pk)]}, follow=True
    )
    assert "Routed 1 ticket(s); 0 stay queued." in answer.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee == ann


def test_assign_action_asks_then_assigns_with_the_reason(
    manager_client, organization, team, make_ticket, manager
):
    ann = _member(organization, team, "Ann", capacity=1)
    held = make_ticket(subject="held", assignee=ann)
    ticket = make_ticket(subject="new one")
    chosen = {"action": "assign_to_agent", ACTION_CHECKBOX_NAME: [str(ticket.pk)]}

    form = manager_client.post(CHANGELIST, chosen)
    assert form.status_code == 200 and "Assign tickets" in form.content.decode()

    full = manager_client.post(
        CHANGELIST, {**chosen, "apply": "1", "agent": str(ann.pk)}, follow=True
    )
    assert "at capacity" in full.content.decode()
    ok = manager_client.post(
        CHANGELIST,
        {
            **chosen,
            "apply": "1",
            "agent": str(ann.pk),
            "override_capacity": "on",
            "reason": "VIP customer",
        },
        follow=True,
    )
    assert "Assigned 1 ticket(s)." in ok.content.decode()
    row = Assignment.objects.filter(ticket=ticket).get()
    assert (row.to_agent, row.by, row.reason, row.capacity_overridden) == (
        ann,
        manager,
        "VIP customer",
        True,
    )
    assert held.assignee == ann


def test_the_assign_form_offers_only_the_organizations_agents(
    manager_client, organization, other_organization, team, make_ticket
):
    foreign = AgentFactory(organization=other_organization, name="Stranger", email="s@globex.test")
    ticket = make_ticket()
    chosen = {"action": "transfer_to", ACTION_CHECKBOX_NAME: [str(ticket.pk)]}
    form = manager_client.post(CHANGELIST, chosen)
    assert "Stranger" not in form.content.decode()
    refused = manager_client.post(CHANGELIST, {**chosen, "apply": "1", "agent": str(foreign.pk)})
    assert refused.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in refused.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_the_ticket_page_shows_the_assignment_history_with_the_why(
    manager_client, organization, team, make_ticket
):
    ann = _member(organization, team, "Ann")
    _member(organization, team, "Bo", availability="away")
    ticket = make_ticket(team=team)
    manager_client.post(CHANGELIST, {"action": "route_now", ACTION_CHECKBOX_NAME: [str(ticket.pk)]})
    page = manager_client.get(f"{CHANGELIST}{ticket.pk}/change/").content.decode()
    assert "Assignment history" in page
    assert "Why this agent" in page
    history = page.split("Assignment history", 1)[1]
    assert "Ann" in history and "Auto" in history and "least" in history.lower()
    assert "Bo: " in history  # the skipped candidate, with the reason
    # The page still saves (the history is shown, not a formset to post).
    ticket.refresh_from_db()
    saved = _post_ticket(manager_client, ticket, subject="Renamed")
    assert saved.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == ann
