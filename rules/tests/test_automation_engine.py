"""The automation engine: every condition field and operator (in Python and compiled to
SQL, which must agree), rule order and stop_processing, actions through the services,
loop protection, failures, outbox re-runs and time rules."""

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.utils import timezone

from agents.tests.factories import AgentFactory, TeamFactory
from intelligence.models import CustomerIntelligence
from rules.automation import engine
from rules.automation.conditions import Facts, conditions_filter, conditions_hold
from rules.automation.engine import MAX_DEPTH, rules_run_for_event, time_rules_scan
from rules.models import AutomationRule, Macro, RuleRun
from tickets.models import Message, Tag, Ticket, TicketEvent
from tickets.services import message_add, ticket_update
from tickets.tests.outbox import dispatch_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(organization, customer, make_ticket):
    """One ticket whose every fact is known (see the table below)."""
    now = timezone.now()
    agent = AgentFactory(organization=organization, name="Ann", email="ann@acme.test")
    team = TeamFactory(organization=organization, name="Billing")
    for name in ("refund", "vip-care", "billing"):
        Tag.objects.create(organization=organization, name=name)
    customer.tier = "vip"
    customer.save(update_fields=["tier"])
    CustomerIntelligence.objects.create(
        customer=customer,
        organization=organization,
        churn_score=0.8,
        lifetime_value=5000,
        fetched_at=timezone.now(),
    )
    ticket = make_ticket(subject="Refund for order", initial_message="Please refund me")
    Message.objects.filter(ticket=ticket).update(created_at=now - timedelta(hours=5))
    Message.objects.create(
        organization=organization,
        ticket=ticket,
        content="We are on it",
        from_agent=True,
        sent_to_customer=True,
        created_at=now - timedelta(hours=10),
    )
    ticket.tags.set(Tag.objects.filter(name__in=["refund", "vip-care"]))
    Ticket.objects.filter(pk=ticket.pk).update(
        tag_names=["refund", "vip-care"],
        status="open",
        priority="high",
        channel="email",
        assignee=agent,
        team=team,
        sla_status="at_risk",
        created_at=now - timedelta(hours=30),
        last_customer_message_at=now - timedelta(hours=5),
        last_agent_reply_at=now - timedelta(hours=10),
    )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now - timedelta(hours=2))
    return {"ticket": ticket, "agent": str(agent.pk), "team": str(team.pk)}


CASES = [
    ("status", "is", "open", True),
    ("status", "is", "closed", False),
    ("status", "is_not", "closed", True),
    ("status", "in", ["open", "pending"], True),
    ("status", "not_in", ["open"], False),
    ("priority", "is", "high", True),
    ("priority", "in", ["low"], False),
    ("channel", "is", "email", True),
    ("channel", "is_not", "email", False),
    ("source", "is", "native", True),
    ("source", "contains", "nat", True),
    ("source", "not_contains", "nat", False),
    ("source", "is_set", None, True),
    ("source", "is_not_set", None, False),
    ("tags", "contains", "refund", True),
    ("tags", "contains", "billing", False),
    ("tags", "not_contains", "billing", True),
    ("tags", "in", ["billing", "refund"], True),
    ("tags", "not_in", ["refund"], False),
    ("tags", "is_set", None, True),
    ("tags", "is_not_set", None, False),
    ("subject", "contains", "REFUND", True),
    ("subject", "not_contains", "refund", False),
    ("subject", "is", "refund for order", True),
    ("subject", "is_not", "refund for order", False),
    ("customer.tier", "is", "vip", True),
    ("customer.tier", "in", ["standard"], False),
    ("customer.churn_risk", "gt", 0.5, True),
    ("customer.churn_risk", "lt", 0.5, False),
    ("customer.churn_risk", "gte", 0.8, True),
    ("customer.churn_risk", "lte", 0.79, False),
    ("customer.churn_risk", "is", 0.8, True),
    ("customer.churn_risk", "is_not", 0.8, False),
    ("customer.churn_risk", "is_set", None, True),
    ("customer.churn_risk", "is_not_set", None, False),
    ("customer.ltv", "gt", 1000, True),
    ("customer.ltv", "lte", 1000, False),
    ("assignee", "is", "AGENT", True),
    ("assignee", "is_not", "AGENT", False),
    ("assignee", "in", ["AGENT"], True),
    ("assignee", "not_in", ["AGENT"], False),
    ("assignee", "is_set", None, True),
    ("assignee", "is_not_set", None, False),
    ("team", "is", "TEAM", True),
    ("team", "is_not", "TEAM", False),
    ("team", "is_set", None, True),
    ("team", "is_not_set", None, False),
    ("sla.status", "is", "at_risk", True),
    ("sla.status", "is", "breached", False),
    ("sla.status", "in", ["breached"], False),
    ("sla.status", "is_set", None, True),
    ("sla.status", "is_not_set", None, False),
    ("hours_since_created", "gt", 24, True),
    ("hours_since_created", "lt", 24, False),
    ("hours_since_created", "lte", 48, True),
    ("hours_since_created", "gte", 48, False),
    ("hours_since_updated", "gt", 1, True),
    ("hours_since_updated", "lt", 1, False),
    ("hours_since_customer_message", "gt", 4, True),
    ("hours_since_customer_message", "lt", 4, False),
    ("hours_since_agent_reply", "gt", 8, True),
    ("hours_since_agent_reply", "lt", 8, False),
]


@pytest.mark.parametrize(("field", "operator", "value", "expected"), CASES)
def test_every_field_and_operator_in_python_and_in_sql(world, field, operator, value, expected):
    if value == "AGENT" or value == ["AGENT"]:
        value = world["agent"] if value == "AGENT" else [world["agent"]]
    if value == "TEAM":
        value = world["team"]
    conditions = {"all": [{"field": field, "operator": operator, "value": value}], "any": []}
    ticket = Ticket.objects.select_related("customer__intelligence").get(pk=world["ticket"].pk)
    assert conditions_hold(conditions, Facts(ticket=ticket, now=timezone.now())) is expected
    in_sql = conditions_filter(Ticket.objects.filter(pk=ticket.pk), conditions).exists()
    assert in_sql is expected


def test_any_needs_one_and_body_is_the_triggering_message(world):
    ticket = Ticket.objects.select_related("customer").get(pk=world["ticket"].pk)
    facts = Facts(ticket=ticket, now=timezone.now(), body="Where is my REFUND?")
    one_of = {
        "all": [],
        "any": [
            {"field": "channel", "operator": "is", "value": "sms"},
            {"field": "body", "operator": "contains", "value": "refund"},
        ],
    }
    assert conditions_hold(one_of, facts)
    one_of["any"].pop()
    assert not conditions_hold(one_of, facts)


def _rule(organization, name, position, **fields):
    fields.setdefault("trigger", "ticket.created")
    fields.setdefault(
        "conditions", {"all": [{"field": "subject", "operator": "contains", "value": "refund"}]}
    )
    return AutomationRule.objects.create(
        organization=organization, name=name, position=position, **fields
    )


def test_rules_run_in_position_order_through_the_services_until_stop_processing(
    organization, make_ticket
):
    _rule(organization, "third", 30, actions=[{"type": "add_note", "value": "never"}])
    _rule(
        organization,
        "second",
        20,
        stop_processing=True,
        actions=[{"type": "set_priority", "value": "urgent"}],
    )
    _rule(organization, "first", 10, actions=[{"type": "add_tags", "value": ["refund"]}])
    _rule(
        organization,
        "no match",
        5,
        conditions={"all": [{"field": "channel", "operator": "is", "value": "sms"}]},
        actions=[{"type": "set_priority", "value": "low"}],
    )
    ticket = make_ticket(subject="Refund please")
    dispatch_all()
    ticket.refresh_from_db()
    assert ticket.priority == "urgent" and ticket.tag_names == ["refund"]
    runs = RuleRun.objects.filter(ticket=ticket).order_by("id")
    assert [(r.rule.name, r.outcome) for r in runs] == [
        ("first", "applied"),
        ("second", "applied"),
    ]
    assert runs[1].actions[0]["result"] == "applied"
    # The changes are the automation's: history and events say so.
    latest = ticket.history.order_by("-history_id").first()
    assert latest.history_user is None
    updated = TicketEvent.objects.filter(ticket=ticket, kind="ticket.updated").order_by("id")
    assert {e.actor_label for e in updated} == {"automation: first", "automation: second"}
    assert all(e.automation_depth == 1 for e in updated)
    timeline = TicketEvent.objects.filter(ticket=ticket, kind="automation.applied")
    assert sorted(e.payload["rule_name"] for e in timeline) == ["first", "second"]
    assert not ticket.messages.filter(is_internal=True).exists()  # "third" never ran


def test_a_ping_pong_stops_at_the_maximum_depth_with_a_log_line(organization, make_ticket):
    def when(priority):
        return {"all": [{"field": "priority", "operator": "is", "value": priority}]}

    _rule(
        organization,
        "down",
        10,
        trigger="ticket.updated",
        conditions=when("high"),
        actions=[{"type": "set_priority", "value": "low"}],
    )
    _rule(
        organization,
        "up",
        20,
        trigger="ticket.updated",
        conditions=when("low"),
        actions=[{"type": "set_priority", "value": "high"}],
    )
    ticket = make_ticket(subject="Loop")
    dispatch_all()
    ticket_update(ticket=ticket, priority="high", actor=None)
    with mock.patch.object(engine.logger, "warning") as warning:
        dispatch_all()
    runs = list(RuleRun.objects.filter(ticket=ticket).order_by("id"))
    applied = [r for r in runs if r.outcome == "applied"]
    stopped = [r for r in runs if r.outcome == "loop_stopped"]
    # Each change is an event that runs both rules again one level deeper: the chain
    # branches but ends, every branch at the maximum depth.
    assert max(r.depth for r in applied) == MAX_DEPTH
    assert stopped and {r.depth for r in stopped} == {MAX_DEPTH + 1}
    assert len(runs) <= 2 ** (MAX_DEPTH + 2)
    assert warning.call_count == len(stopped)
    assert "automation chain stopped" in warning.call_args.args[0]
    assert TicketEvent.objects.filter(ticket=ticket, handled_at__isnull=True).count() == 0


def test_a_failing_rule_is_recorded_and_does_not_undo_the_others(organization, make_ticket):
    macro = Macro.objects.create(organization=organization, name="Sorry", body="Hi")
    _rule(
        organization,
        "breaks",
        10,
        actions=[
            {"type": "set_priority", "value": "urgent"},
            {"type": "send_reply", "value": str(macro.pk)},
        ],
    )
    _rule(organization, "tags", 20, actions=[{"type": "add_tags", "value": ["refund"]}])
    macro.delete()  # deleted after the rule was saved
    ticket = make_ticket(subject="refund")
    dispatch_all()
    ticket.refresh_from_db()
    failed = RuleRun.objects.get(rule__name="breaks")
    assert failed.outcome == "failed" and "no longer exists" in failed.error
    assert ticket.priority != "urgent"  # the failing rule's first action rolled back
    assert ticket.tag_names == ["refund"]


def test_an_outbox_rerun_does_not_run_a_rule_twice(organization, make_ticket):
    _rule(organization, "note", 10, actions=[{"type": "add_note", "value": "seen"}])
    ticket = make_ticket(subject="refund")
    dispatch_all()
    event = TicketEvent.objects.get(ticket=ticket, kind="ticket.created")
    rules_run_for_event(event)
    assert RuleRun.objects.filter(ticket=ticket).count() == 1
    assert ticket.messages.filter(is_internal=True).count() == 1


def test_macros_actions_and_replies_and_webhook_events(organization, make_ticket, customer):
    macro = Macro.objects.create(
        organization=organization,
        name="Refund policy",
        body="Hi {{customer.first_name}}, about {{ticket.subject}}: refunds take 5 days.",
        actions=[{"type": "add_tags", "value": ["refund"]}],
    )
    _rule(
        organization,
        "reply",
        10,
        actions=[
            {"type": "send_reply", "value": str(macro.pk)},
            {"type": "apply_macro", "value": str(macro.pk)},
            {"type": "send_webhook_event", "value": "refund.requested"},
        ],
    )
    ticket = make_ticket(subject="Refund")
    dispatch_all()
    reply = ticket.messages.filter(from_agent=True, is_internal=False).get()
    assert reply.content == "Hi Ada, about Refund: refunds take 5 days."
    ticket.refresh_from_db()
    assert ticket.tag_names == ["refund"] and ticket.status == "pending"
    hook = TicketEvent.objects.get(ticket=ticket, kind="automation.webhook")
    assert hook.payload["event"] == "refund.requested"
    macro.refresh_from_db()
    assert macro.usage_count == 2


def _time_rule(organization, hours=1, **fields):
    return AutomationRule.objects.create(
        organization=organization,
        name=fields.pop("name", "stale"),
        trigger="time",
        conditions={"all": [{"field": "hours_since_created", "operator": "gt", "value": hours}]},
        actions=fields.pop("actions", [{"type": "add_tags", "value": ["stale"]}]),
        **fields,
    )


def test_time_rules_act_once_per_period_across_repeated_scans(organization, make_ticket):
    rule = _time_rule(organization)
    old = make_ticket(subject="old", created_at=timezone.now() - timedelta(hours=2))
    make_ticket(subject="new")
    dispatch_all()
    assert time_rules_scan() == 1
    assert time_rules_scan() == 0
    assert time_rules_scan() == 0
    old.refresh_from_db()
    assert old.tag_names == ["stale"]
    run = RuleRun.objects.get(rule=rule)
    assert run.ticket == old and run.trigger == "time" and run.period_key


def test_a_time_rule_fires_in_the_first_scan_after_a_ticket_qualifies(organization, make_ticket):
    _time_rule(organization)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(subject="waiting")
        dispatch_all()
        assert time_rules_scan() == 0
    with time_machine.travel(start + timedelta(minutes=59, seconds=59), tick=False):
        assert time_rules_scan() == 0
    # The beat runs the scan every AUTOMATION_SCAN_SECONDS (30 s): the first scan after
    # the moment the ticket qualifies acts.
    with time_machine.travel(start + timedelta(hours=1, seconds=30), tick=False):
        assert time_rules_scan() == 1
    assert RuleRun.objects.get().ticket == ticket


def test_a_new_customer_message_starts_a_new_period(organization, make_ticket):
    rule = AutomationRule.objects.create(
        organization=organization,
        name="nudge",
        trigger="time",
        conditions={
            "all": [{"field": "hours_since_customer_message", "operator": "gt", "value": 1}]
        },
        actions=[{"type": "add_note", "value": "Customer waiting over an hour"}],
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(subject="help")
        dispatch_all()
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert time_rules_scan() == 1
        assert time_rules_scan() == 0
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        message_add(ticket=ticket, content="Still waiting", from_agent=False, actor=None)
    with time_machine.travel(start + timedelta(hours=5), tick=False):
        assert time_rules_scan() == 1
    assert RuleRun.objects.filter(rule=rule).count() == 2


# --- Incremental time scans -------------------------------------------------------------


def _scan_at(at):
    with time_machine.travel(at, tick=False):
        return time_rules_scan()


def test_incremental_scans_act_on_a_ticket_that_comes_to_meet_other_conditions(
    organization, make_ticket
):
    """A ticket past the hours threshold that only later matches the rule's other
    conditions (its priority raised, a tag added) is acted on in the next beat, though
    its anchor crossed long before the scan's window."""
    Tag.objects.create(organization=organization, name="vip")
    AutomationRule.objects.create(
        organization=organization,
        name="old and urgent",
        trigger="time",
        conditions={
            "all": [
                {"field": "hours_since_created", "operator": "gt", "value": 1},
                {"field": "priority", "operator": "is", "value": "urgent"},
            ]
        },
        actions=[{"type": "add_note", "value": "old urgent"}],
    )
    AutomationRule.objects.create(
        organization=organization,
        name="old vip",
        trigger="time",
        conditions={
            "all": [
                {"field": "hours_since_created", "operator": "gt", "value": 1},
                {"field": "tags", "operator": "contains", "value": "vip"},
            ]
        },
        actions=[{"type": "add_note", "value": "old vip"}],
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        urgent, vip = make_ticket(subject="a"), make_ticket(subject="b")
    assert _scan_at(start + timedelta(hours=3)) == 0  # the full first scan
    # Tags are an m2m change: the ticket is not saved, but it has an event.
    with time_machine.travel(start + timedelta(hours=5), tick=False):
        ticket_update(ticket=urgent, actor=None, priority="urgent")
        ticket_update(ticket=vip, actor=None, add_tags=["vip"])
        Ticket.objects.filter(pk=vip.pk).update(updated_at=start)  # only the event tells
    assert _scan_at(start + timedelta(hours=5, seconds=30)) == 2
    assert {r.ticket_id for r in RuleRun.objects.all()} == {urgent.pk, vip.pk}
    assert _scan_at(start + timedelta(hours=5, seconds=60)) == 0


def test_a_change_no_event_records_is_caught_by_the_rotating_full_scan(
    organization, make_ticket, customer, settings
):
    """A customer becoming VIP writes no ticket event: the incremental scans miss it,
    the rule's next full scan (at most AUTOMATION_FULL_SCAN_MINUTES later) acts."""
    settings.AUTOMATION_FULL_SCAN_MINUTES = 10
    rule = AutomationRule.objects.create(
        organization=organization,
        name="old vip customer",
        trigger="time",
        conditions={
            "all": [
                {"field": "hours_since_created", "operator": "gt", "value": 1},
                {"field": "customer.tier", "operator": "is", "value": "vip"},
            ]
        },
        actions=[{"type": "add_note", "value": "vip waiting"}],
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        make_ticket(subject="a")
    assert _scan_at(start + timedelta(hours=2)) == 0
    customer.tier = "vip"
    customer.save(update_fields=["tier"])
    assert _scan_at(start + timedelta(hours=2, minutes=1)) == 0
    rule.refresh_from_db()
    assert rule.full_scan_at == start + timedelta(hours=2)
    assert _scan_at(start + timedelta(hours=2, minutes=10)) == 1
    rule.refresh_from_db()
    assert rule.full_scan_at == start + timedelta(hours=2, minutes=10)


def test_editing_a_time_rule_makes_its_next_scan_full(organization, make_ticket):
    rule = _time_rule(organization, hours=10)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        make_ticket(subject="a")
    assert _scan_at(start + timedelta(hours=3)) == 0
    assert _scan_at(start + timedelta(hours=3, seconds=30)) == 0
    # 1 hour instead of 10: the ticket crossed 2 hours ago, outside any incremental
    # window, and is acted on at once.
    with time_machine.travel(start + timedelta(hours=3, seconds=40), tick=False):
        rule.conditions = {"all": [{"field": "hours_since_created", "operator": "gt", "value": 1}]}
        rule.save()
    assert _scan_at(start + timedelta(hours=3, seconds=60)) == 1


def test_only_one_full_scan_per_beat(organization, settings):
    """Rules that are all due a full scan take turns, the oldest first."""
    settings.AUTOMATION_FULL_SCAN_MINUTES = 10
    rules = [_time_rule(organization, hours=1, name=f"r{i}") for i in range(3)]
    start = timezone.now()
    assert _scan_at(start) == 0
    AutomationRule.objects.filter(pk=rules[1].pk).update(full_scan_at=start - timedelta(hours=1))
    _scan_at(start + timedelta(minutes=11))
    marks = {r.name: r.full_scan_at for r in AutomationRule.objects.all()}
    assert marks == {"r0": start, "r1": start + timedelta(minutes=11), "r2": start}
