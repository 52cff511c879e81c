"""Ticket services: creation, assignment, updates, customers; errors change nothing."""

import pytest

from agents.exceptions import Conflict, DomainError
from agents.tests.factories import AgentFactory, TeamFactory
from tickets.models import Assignment, Customer, Ticket
from tickets.services import (
    customer_get_or_create,
    ticket_assign,
    ticket_create,
    ticket_update,
)


@pytest.mark.django_db
def test_customer_is_created_once_per_external_id(organization, other_organization):
    a = customer_get_or_create(organization=organization, external_id=" 42 ", name="Ann")
    b = customer_get_or_create(organization=organization, external_id="42", name="Other")
    c = customer_get_or_create(organization=other_organization, external_id="42")
    assert a == b and a.name == "Ann"
    assert c != a  # the same commerce id in another tenant is another customer
    assert Customer.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("channel", "fax"), ("priority", "asap"), ("subject", "   ")],
)
def test_create_rejects_bad_values_and_writes_nothing(organization, customer, field, value):
    kwargs = {"subject": "Hi", "channel": "email", "priority": "normal", field: value}
    with pytest.raises(DomainError) as err:
        ticket_create(organization=organization, customer=customer, actor=None, **kwargs)
    assert err.value.field == field
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_create_with_tags_assignee_and_team(organization, customer, agent):
    team = TeamFactory(organization=organization)
    ticket = ticket_create(
        organization=organization,
        customer=customer,
        subject="Refund",
        tags=["Refund", "vip ", ""],
        assignee=agent,
        team=team,
        actor=agent,
    )
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["refund", "vip"]
    assert ticket.assignee == agent and ticket.team == team
    assert Assignment.objects.get(ticket=ticket).to_agent == agent


@pytest.mark.django_db
def test_external_id_is_unique_per_source(organization, customer):
    ticket_create(
        organization=organization,
        customer=customer,
        subject="a",
        source="zendesk",
        external_id="99",
        actor=None,
    )
    with pytest.raises(Conflict):
        ticket_create(
            organization=organization,
            customer=customer,
            subject="b",
            source="zendesk",
            external_id="99",
            actor=None,
        )
    ticket_create(
        organization=organization,
        customer=customer,
        subject="c",
        source="gorgias",
        external_id="99",
        actor=None,
    )
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_assign_records_transfer_history(make_ticket, agent, manager):
    ticket = make_ticket()
    ticket_assign(ticket=ticket, assignee=agent, actor=manager, reason="skills")
    ticket_assign(ticket=ticket, assignee=manager, actor=manager, reason="escalate")
    ticket_assign(ticket=ticket, assignee=manager, actor=manager)  # no change, no row
    rows = list(Assignment.objects.filter(ticket=ticket).order_by("id"))
    assert [(r.from_agent, r.to_agent, r.by, r.reason) for r in rows] == [
        (None, agent, manager, "skills"),
        (agent, manager, manager, "escalate"),
    ]
    assert ticket.events.filter(kind="ticket.assigned").count() == 2


@pytest.mark.django_db
def test_cannot_assign_to_an_agent_of_another_organization(make_ticket, other_organization):
    stranger = AgentFactory(organization=other_organization)
    ticket = make_ticket()
    with pytest.raises(DomainError):
        ticket_assign(ticket=ticket, assignee=stranger, actor=None)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert not Assignment.objects.exists()


@pytest.mark.django_db
def test_update_tags_add_remove_and_priority(make_ticket, agent):
    ticket = make_ticket(tags=["shipping"])
    ticket = ticket_update(
        ticket=ticket, add_tags=["Delay"], remove_tags=["shipping"], priority="high", actor=agent
    )
    assert list(ticket.tags.values_list("name", flat=True)) == ["delay"]
    event = ticket.events.get(kind="ticket.updated")
    assert event.payload["priority"] == {"from": "normal", "to": "high"}
    assert event.payload["tags"] == {"from": ["shipping"], "to": ["delay"]}
    assert event.actor == agent


@pytest.mark.django_db
def test_update_with_nothing_changed_writes_no_event(make_ticket, agent):
    ticket = make_ticket(tags=["a"])
    ticket_update(ticket=ticket, priority="normal", tags=["a"], actor=agent)
    assert not ticket.events.filter(kind="ticket.updated").exists()
