"""Automation rule validation: what a rule may say, and the path a 400 names."""

import uuid

import pytest

from agents.exceptions import DomainError
from agents.tests.factories import AgentFactory, TeamFactory
from rules.automation.schema import actions_validate, conditions_validate, rule_validate
from rules.models import Macro
from tickets.models import Tag

pytestmark = pytest.mark.django_db


def _cond(field, operator, value=None):
    return {"field": field, "operator": operator, "value": value}


def _error(call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value


def test_the_issue_example_is_valid_and_normalised(organization):
    Tag.objects.create(organization=organization, name="refund")
    conditions, actions = rule_validate(
        organization_id=organization.pk,
        trigger="ticket.created",
        conditions={
            "all": [_cond("subject", "contains", "refund")],
            "any": [_cond("channel", "is", "email"), _cond("customer.tier", "is", "vip")],
        },
        actions=[
            {"type": "set_priority", "value": "high"},
            {"type": "add_tags", "value": [" Refund "]},
        ],
    )
    assert conditions["any"][1] == _cond("customer.tier", "is", "vip")
    assert actions[1] == {"type": "add_tags", "value": ["refund"]}


def test_every_action_type_validates(organization):
    agent = AgentFactory(organization=organization)
    team = TeamFactory(organization=organization)
    macro = Macro.objects.create(organization=organization, name="m", body="Hi")
    Tag.objects.create(organization=organization, name="old")
    actions = [
        {"type": "set_status", "value": "pending"},
        {"type": "set_priority", "value": "urgent"},
        {"type": "add_tags", "value": ["brand-new"]},  # created when applied
        {"type": "remove_tags", "value": ["old"]},
        {"type": "assign_agent", "value": str(agent.pk)},
        {"type": "assign_team", "value": str(team.pk)},
        {"type": "route", "value": None},
        {"type": "add_note", "value": "look"},
        {"type": "escalate", "value": {"raise_priority": True}},
        {"type": "apply_macro", "value": str(macro.pk)},
        {"type": "send_webhook_event", "value": "vip.refund"},
        {"type": "send_reply", "value": str(macro.pk)},
    ]
    assert actions_validate(organization_id=organization.pk, actions=actions) == actions


@pytest.mark.parametrize(
    ("conditions", "path"),
    [
        ({"all": [_cond("colour", "is", "red")]}, "conditions.all[0].field"),
        ({"all": [_cond("subject", "gt", 3)]}, "conditions.all[0].operator"),
        ({"all": [], "any": [_cond("status", "is", "lost")]}, "conditions.any[0].value"),
        ({"all": [_cond("priority", "in", "high")]}, "conditions.all[0].value"),
        ({"all": [_cond("priority", "in", ["high", "huge"])]}, "conditions.all[0].value[1]"),
        ({"all": [_cond("customer.ltv", "gt", "1000")]}, "conditions.all[0].value"),
        ({"all": [_cond("customer.ltv", "gt", True)]}, "conditions.all[0].value"),
        ({"all": [_cond("customer.churn_risk", "gt", 2)]}, "conditions.all[0].value"),
        ({"all": [_cond("subject", "is_set", "x")]}, "conditions.all[0].value"),
        ({"all": [_cond("assignee", "is", "not-a-uuid")]}, "conditions.all[0].value"),
        ({"all": [_cond("assignee", "is", str(uuid.uuid4()))]}, "conditions.all[0].value"),
        ({"all": [_cond("team", "in", [str(uuid.uuid4())])]}, "conditions.all[0].value[0]"),
        ({"all": [_cond("tags", "contains", "nope")]}, "conditions.all[0].value"),
        ({"all": [_cond("body", "contains", "x")]}, "conditions.all[0].field"),
        ({"all": [_cond("hours_since_created", "is", 3)]}, "conditions.all[0].operator"),
        ({"all": [{"field": "status", "operator": "is", "value": "open", "x": 1}]}, None),
        ({"none": []}, "conditions.none"),
        ([], "conditions"),
    ],
)
def test_a_bad_condition_names_its_path(organization, conditions, path):
    error = _error(
        lambda: conditions_validate(
            organization_id=organization.pk, conditions=conditions, trigger="ticket.created"
        )
    )
    assert error.field == (path or "conditions.all[0].x")


def test_body_is_for_message_triggers_and_a_time_rule_needs_hours(organization):
    body = {"all": [_cond("body", "contains", "refund")]}
    assert conditions_validate(
        organization_id=organization.pk, conditions=body, trigger="message.customer"
    )
    error = _error(
        lambda: conditions_validate(
            organization_id=organization.pk,
            conditions={"all": [_cond("status", "is", "open")]},
            trigger="time",
        )
    )
    assert error.field == "conditions.all"


@pytest.mark.parametrize(
    ("action", "path"),
    [
        ({"type": "explode"}, "actions[1].type"),
        ({"type": "set_status", "value": "lost"}, "actions[1].value"),
        ({"type": "set_priority", "value": 3}, "actions[1].value"),
        ({"type": "add_tags", "value": "refund"}, "actions[1].value"),
        ({"type": "add_tags", "value": [3]}, "actions[1].value[0]"),
        ({"type": "remove_tags", "value": ["unknown"]}, "actions[1].value[0]"),
        ({"type": "assign_agent", "value": str(uuid.uuid4())}, "actions[1].value"),
        ({"type": "assign_team", "value": 7}, "actions[1].value"),
        ({"type": "route", "value": "fast"}, "actions[1].value"),
        ({"type": "add_note", "value": ""}, "actions[1].value"),
        ({"type": "escalate", "value": {"raise_priority": "yes"}}, "actions[1].value"),
        ({"type": "apply_macro", "value": str(uuid.uuid4())}, "actions[1].value"),
        ({"type": "send_reply", "value": None}, "actions[1].value"),
        ({"type": "send_webhook_event", "value": "Has Spaces"}, "actions[1].value"),
        ({"type": "send_webhook_event", "value": "ticket.created"}, "actions[1].value"),
        ({"type": "set_status", "value": "open", "delay": 3}, "actions[1].delay"),
    ],
)
def test_a_bad_action_names_its_path(organization, action, path):
    actions = [{"type": "set_priority", "value": "high"}, action]
    error = _error(lambda: actions_validate(organization_id=organization.pk, actions=actions))
    assert error.field == path


def test_ids_of_another_organization_are_unknown(organization, other_organization):
    foreign_agent = AgentFactory(organization=other_organization)
    foreign_macro = Macro.objects.create(organization=other_organization, name="m", body="x")
    error = _error(
        lambda: rule_validate(
            organization_id=organization.pk,
            trigger="ticket.created",
            conditions={"all": [_cond("assignee", "is", str(foreign_agent.pk))]},
            actions=[{"type": "apply_macro", "value": str(foreign_macro.pk)}],
        )
    )
    assert error.field == "conditions.all[0].value"
    error = _error(
        lambda: rule_validate(
            organization_id=organization.pk,
            trigger="ticket.created",
            conditions={},
            actions=[{"type": "send_reply", "value": str(foreign_macro.pk)}],
        )
    )
    assert error.field == "actions[0].value"


def test_unknown_trigger_and_empty_actions(organization):
    error = _error(
        lambda: rule_validate(
            organization_id=organization.pk, trigger="whenever", conditions={}, actions=[]
        )
    )
    assert error.field == "trigger"
    error = _error(
        lambda: rule_validate(
            organization_id=organization.pk, trigger="time", conditions=None, actions=[]
        )
    )
    assert error.field == "conditions.all"
    error = _error(
        lambda: rule_validate(
            organization_id=organization.pk, trigger="ticket.updated", conditions={}, actions=[]
        )
    )
    assert error.field == "actions"
