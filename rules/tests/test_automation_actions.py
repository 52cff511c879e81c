"""Each automation action goes through the service a person's change goes through: the
ticket's history and events show the automation; plus the trigger mapping (customer
message / agent reply / assignment), previews and time-rule matches."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.tests.factories import AgentFactory, TeamFactory
from routing.models import TeamRouting
from rules.automation.engine import (
    rule_preview,
    rules_run_for_event,
    time_rule_matches,
    trigger_of,
)
from rules.models import AutomationRule, RuleRun
from rules.tasks import automations_time_scan_task
from tickets.models import Message, Tag, TicketEvent
from tickets.services import message_add, ticket_assign
from tickets.tests.outbox import dispatch_all

pytestmark = pytest.mark.django_db

LABEL = "automation: act"


def _rule(organization, actions, trigger="ticket.created", conditions=None, name="act"):
    return AutomationRule.objects.create(
        organization=organization,
        name=name,
        trigger=trigger,
        conditions=conditions or {},
        actions=actions,
    )


def _events(ticket, kind):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=kind).order_by("id"))


def _run_on_new_ticket(organization, make_ticket, actions, **ticket_fields):
    _rule(organization, actions)
    ticket = make_ticket(**ticket_fields)
    dispatch_all()
    ticket.refresh_from_db()
    run = RuleRun.objects.get(ticket=ticket, rule__name="act")
    assert run.outcome == "applied", run.error
    return ticket, run


def test_set_status_and_priority_are_history_and_events_of_the_automation(
    organization, make_ticket
):
    ticket, run = _run_on_new_ticket(
        organization,
        make_ticket,
        [{"type": "set_status", "value": "pending"}, {"type": "set_priority", "value": "urgent"}],
    )
    assert (ticket.status, ticket.priority) == ("pending", "urgent")
    [status] = _events(ticket, "ticket.status_changed")
    assert status.actor_id is None and status.actor_label == LABEL
    assert status.payload["to"] == "pending" and status.automation_depth == 1
    assert any(e.actor_label == LABEL for e in _events(ticket, "ticket.updated"))
    changed = ticket.history.filter(status="pending").order_by("history_id").first()
    assert changed.history_user is None
    assert [a["result"] for a in run.actions] == ["applied", "applied"]


def test_a_status_the_lifecycle_refuses_is_skipped_with_the_reason(organization, make_ticket):
    ticket, run = _run_on_new_ticket(
        organization, make_ticket, [{"type": "set_status", "value": "open"}]
    )
    assert run.actions[0]["result"] == "skipped" and "already open" in run.actions[0]["why"]


def test_tags_added_and_removed(organization, make_ticket):
    Tag.objects.create(organization=organization, name="old")
    _rule(organization, [{"type": "add_tags", "value": ["old", "new"]}], name="add")
    ticket = make_ticket()
    dispatch_all()
    ticket.refresh_from_db()
    assert sorted(ticket.tag_names) == ["new", "old"]
    AutomationRule.objects.create(
        organization=organization,
        name="drop",
        trigger="message.customer",
        actions=[{"type": "remove_tags", "value": ["old"]}],
    )
    message_add(ticket=ticket, content="hello?", from_agent=False, actor=None)
    dispatch_all()
    ticket.refresh_from_db()
    assert ticket.tag_names == ["new"]


def test_assign_agent_and_team(organization, make_ticket):
    agent = AgentFactory(organization=organization)
    team = TeamFactory(organization=organization)
    ticket, _ = _run_on_new_ticket(
        organization,
        make_ticket,
        [
            {"type": "assign_team", "value": str(team.pk)},
            {"type": "assign_agent", "value": str(agent.pk)},
        ],
    )
    assert (ticket.team_id, ticket.assignee_id) == (team.pk, agent.pk)
    assigned = _events(ticket, "ticket.assigned")
    assert assigned and all(e.actor_label == LABEL for e in assigned)
    assert ticket.assignments.filter(to_agent=agent).exists()


def test_route_uses_the_team_strategy(organization, make_ticket):
    team = TeamFactory(organization=organization, name="Support")
    TeamRouting.objects.create(team=team, organization=organization, strategy="least_loaded")
    agent = AgentFactory(organization=organization, capacity=3, availability="available")
    agent.teams.add(team)
    ticket, run = _run_on_new_ticket(
        organization, make_ticket, [{"type": "route", "value": None}], team=team
    )
    assert ticket.assignee_id == agent.pk
    assert run.actions[0]["result"] == "applied"


def test_note_and_escalation(organization, make_ticket):
    ticket, _ = _run_on_new_ticket(
        organization,
        make_ticket,
        [
            {"type": "add_note", "value": "Check the refund policy"},
            {"type": "escalate", "value": {"raise_priority": True}},
        ],
    )
    note = ticket.messages.get(is_internal=True)
    assert note.content == "Check the refund policy" and not note.sent_to_customer
    [escalated] = _events(ticket, "ticket.escalated")
    assert escalated.actor_label == LABEL
    assert ticket.escalation_level == 1


def test_a_customer_message_and_an_agent_reply_are_different_triggers(organization, make_ticket):
    _rule(
        organization,
        [{"type": "add_tags", "value": ["customer-wrote"]}],
        trigger="message.customer",
        conditions={"all": [{"field": "body", "operator": "contains", "value": "urgent"}]},
        name="customer",
    )
    _rule(
        organization,
        [{"type": "add_tags", "value": ["agent-wrote"]}],
        trigger="message.agent",
        name="agent",
    )
    ticket = make_ticket(initial_message="nothing special")
    dispatch_all()
    ticket.refresh_from_db()
    assert ticket.tag_names == []  # the first message does not say "urgent"
    message_add(ticket=ticket, content="This is URGENT", from_agent=False, actor=None)
    dispatch_all()
    ticket.refresh_from_db()
    assert ticket.tag_names == ["customer-wrote"]
    agent = AgentFactory(organization=organization)
    message_add(ticket=ticket, content="On it", from_agent=True, author_agent=agent, actor=agent)
    dispatch_all()
    ticket.refresh_from_db()
    assert sorted(ticket.tag_names) == ["agent-wrote", "customer-wrote"]
    events = TicketEvent.objects.filter(ticket=ticket, kind="message.created")
    assert {trigger_of(e) for e in events} == {"message.customer", "message.agent"}


def test_an_assignment_triggers_ticket_assigned_rules(organization, make_ticket):
    _rule(
        organization,
        [{"type": "add_note", "value": "assigned"}],
        trigger="ticket.assigned",
    )
    ticket = make_ticket()
    dispatch_all()
    ticket_assign(ticket=ticket, assignee=AgentFactory(organization=organization), actor=None)
    dispatch_all()
    assert RuleRun.objects.get(ticket=ticket).trigger == "ticket.assigned"
    assert ticket.messages.filter(is_internal=True, content="assigned").exists()


def test_preview_writes_nothing_and_time_matches_is_a_queryset(organization, make_ticket):
    ticket = make_ticket(subject="Refund now")
    rule = AutomationRule(
        organization=organization,
        name="unsaved",
        trigger="ticket.created",
        conditions={"all": [{"field": "subject", "operator": "contains", "value": "refund"}]},
        actions=[{"type": "set_priority", "value": ticket.priority}, {"type": "add_note"}],
    )
    counts = (Message.objects.count(), TicketEvent.objects.count())
    planned = rule_preview(rule=rule, ticket=ticket)
    assert [p["result"] for p in planned] == ["skipped", "would apply"]
    assert (Message.objects.count(), TicketEvent.objects.count()) == counts
    rule.conditions["all"][0]["value"] = "invoice"
    assert rule_preview(rule=rule, ticket=ticket) == []
    rule.trigger = "time"
    rule.conditions = {"all": [{"field": "hours_since_created", "operator": "gte", "value": 0}]}
    assert list(time_rule_matches(rule).values_list("pk", flat=True)) == [ticket.pk]


def test_the_beat_scans_often_enough_to_fire_within_a_minute(settings, organization, make_ticket):
    entry = settings.CELERY_BEAT_SCHEDULE["rules.automations_time_scan"]
    assert entry["task"] == "rules.automations_time_scan" and entry["schedule"] <= 30
    AutomationRule.objects.create(
        organization=organization,
        name="old",
        trigger="time",
        conditions={"all": [{"field": "hours_since_created", "operator": "gt", "value": 1}]},
        actions=[{"type": "add_tags", "value": ["old"]}],
    )
    make_ticket(created_at=timezone.now() - timedelta(hours=2))
    assert automations_time_scan_task() == 1
    assert automations_time_scan_task() == 0


def test_fifty_rules_cost_a_fixed_number_of_queries(
    organization, make_ticket, django_assert_max_num_queries
):
    for i in range(50):
        _rule(
            organization,
            [{"type": "add_note", "value": "x"}],
            trigger="message.customer",
            name=f"rule {i}",
            conditions={
                "all": [
                    {"field": "hours_since_agent_reply", "operator": "gt", "value": 1},
                    {"field": "customer.ltv", "operator": "gt", "value": 10},
                ],
                "any": [{"field": "body", "operator": "contains", "value": f"word{i}"}],
            },
        )
    ticket = make_ticket()
    dispatch_all()
    message_add(ticket=ticket, content="hello", from_agent=False, actor=None)
    event = TicketEvent.objects.filter(ticket=ticket, kind="message.created").latest("id")
    # The rules, the ticket (customer, intelligence), the runs already made, the message.
    with django_assert_max_num_queries(4):
        rules_run_for_event(event)
    assert not RuleRun.objects.exists()
