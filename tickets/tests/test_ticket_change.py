"""`ticket_change` (an edit as one change, with its optimistic lock and the assignee a
client names) and `ticket_intake` (a ticket as a client submits it), without HTTP."""

from datetime import timedelta

import pytest

from agents.exceptions import Conflict, DomainError
from agents.tests.factories import AgentFactory, TeamFactory
from tickets.models import Assignment, Customer, Ticket, TicketEvent
from tickets.services import ticket_change, ticket_intake

pytestmark = pytest.mark.django_db


def _kinds(ticket) -> list[str]:
    return list(
        TicketEvent.objects.filter(ticket=ticket).order_by("id").values_list("kind", flat=True)
    )


def test_change_applies_fields_then_assignment_then_status(make_ticket, agent, organization):
    team = TeamFactory(organization=organization)
    ticket = make_ticket()
    changed = ticket_change(
        ticket=ticket,
        actor=agent,
        priority="high",
        add_tags=["refund"],
        assigned_to="me",
        team=team.pk,
        status="in_progress",
    )
    assert (changed.priority, changed.status) == ("high", "in_progress")
    assert (changed.assignee, changed.team) == (agent, team)
    assert changed.tag_names == ["refund"]
    assert _kinds(ticket)[-3:] == ["ticket.updated", "ticket.assigned", "ticket.status_changed"]


def test_change_with_nothing_given_writes_nothing(make_ticket, agent):
    ticket = make_ticket()
    before = _kinds(ticket)
    assert ticket_change(ticket=ticket, actor=agent).updated_at == ticket.updated_at
    assert _kinds(ticket) == before


def test_stale_expected_updated_at_is_a_conflict_and_writes_nothing(make_ticket, agent):
    ticket = make_ticket()
    read_at = ticket.updated_at
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=read_at + timedelta(seconds=1))
    before = _kinds(ticket)
    with pytest.raises(Conflict, match="changed since you read it"):
        ticket_change(
            ticket=ticket,
            actor=agent,
            expected_updated_at=read_at,
            priority="urgent",
            assigned_to="not even an id",  # the conflict is reported first
        )
    assert Ticket.objects.get(pk=ticket.pk).priority == "normal"
    assert _kinds(ticket) == before


def test_current_expected_updated_at_goes_through(make_ticket, agent):
    ticket = make_ticket()
    changed = ticket_change(
        ticket=ticket, actor=agent, expected_updated_at=ticket.updated_at, priority="low"
    )
    assert changed.priority == "low"


def test_a_bad_assignee_undoes_the_field_changes(make_ticket, agent):
    ticket = make_ticket()
    with pytest.raises(DomainError) as err:
        ticket_change(ticket=ticket, actor=agent, priority="urgent", assigned_to="nobody")
    assert err.value.field == "assigned_to"
    assert Ticket.objects.get(pk=ticket.pk).priority == "normal"


def test_team_alone_keeps_the_assignee(make_ticket, agent, organization):
    ticket = ticket_change(ticket=make_ticket(), actor=agent, assigned_to=str(agent.pk))
    team = TeamFactory(organization=organization)
    ticket = ticket_change(ticket=ticket, actor=agent, team=team.pk)
    assert (ticket.assignee, ticket.team) == (agent, team)
    ticket = ticket_change(ticket=ticket, actor=agent, assigned_to=None)
    assert (ticket.assignee, ticket.team) == (None, team)
    assert Assignment.objects.filter(ticket=ticket).count() == 3


def test_another_organizations_team_is_refused(make_ticket, agent, other_organization):
    theirs = TeamFactory(organization=other_organization)
    with pytest.raises(DomainError) as err:
        ticket_change(ticket=make_ticket(), actor=agent, team=theirs.pk)
    assert err.value.field == "team"


def test_intake_creates_the_customer_once_and_moves_to_the_given_status(organization):
    first = ticket_intake(
        organization=organization,
        customer_id="shop-1",
        subject="Broken lid",
        author_name="Ann",
        author_email="ANN@example.com",
        initial_message="The lid is broken.",
        status="pending",
        actor=None,
        actor_label="api_key:test",
    )
    assert first.status == "pending"
    assert _kinds(first) == ["ticket.created", "message.created", "ticket.status_changed"]
    again = ticket_intake(
        organization=organization, customer_id="shop-1", subject="Again", actor=None
    )
    assert again.customer_id == first.customer_id
    customer = Customer.objects.get(organization=organization, external_id="shop-1")
    assert (customer.name, customer.email) == ("Ann", "ann@example.com")


def test_intake_writes_nothing_when_the_ticket_is_refused(organization):
    with pytest.raises(DomainError):
        ticket_intake(organization=organization, customer_id="shop-2", subject=" ", actor=None)
    assert not Customer.objects.filter(external_id="shop-2").exists()


def test_intake_records_the_acting_agent(organization):
    agent = AgentFactory(organization=organization)
    ticket = ticket_intake(organization=organization, customer_id="c", subject="s", actor=agent)
    assert TicketEvent.objects.get(ticket=ticket, kind="ticket.created").actor == agent
