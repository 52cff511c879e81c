"""Audit: django-simple-history records who changed a ticket or an agent."""

import pytest

from agents.services import agent_create
from tickets.services import message_add, ticket_assign, ticket_transition, ticket_update


@pytest.mark.django_db
def test_ticket_history_names_the_acting_agent(make_ticket, agent, manager):
    ticket = make_ticket(actor=agent)
    ticket_update(ticket=ticket, priority="urgent", actor=manager, reason="customer is VIP")
    ticket_assign(ticket=ticket, assignee=agent, actor=manager)
    ticket_transition(ticket=ticket, to_status="in_progress", actor=agent, reason="working")

    rows = list(ticket.history.order_by("history_date", "history_id"))
    assert rows[0].history_type == "+" and rows[0].history_user == agent
    by_change = {(r.history_user, r.history_change_reason) for r in rows[1:]}
    assert (manager, "customer is VIP") in by_change
    assert (agent, "working") in by_change
    latest = ticket.history.latest()
    assert latest.status == "in_progress" and latest.priority == "urgent"
    assert latest.assignee_id == agent.pk
    diff = latest.diff_against(latest.prev_record)
    assert [c.field for c in diff.changes] == ["status", "status_changed_at"]


@pytest.mark.django_db
def test_message_lifecycle_change_is_in_history(make_ticket, agent):
    ticket = make_ticket()
    message_add(ticket=ticket, content="Shipped", from_agent=True, actor=agent)
    latest = ticket.history.latest()
    assert latest.status == "pending" and latest.history_user == agent
    assert latest.history_change_reason == "agent replied"


@pytest.mark.django_db
def test_agent_history_records_who_changed_the_role(organization, manager):
    agent = agent_create(
        organization=organization, email="New@Acme.test", password="x-long-pass", actor=manager
    )
    assert agent.email == "new@acme.test"
    agent.role = "manager"
    agent._history_user = manager
    agent.save()
    rows = list(agent.history.order_by("history_date"))
    assert [r.role for r in rows] == ["agent", "manager"]
    assert all(r.history_user == manager for r in rows)
    assert not hasattr(rows[0], "password")  # secrets stay out of the audit trail
