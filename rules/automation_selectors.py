"""Reading automation rules: lists, runs, and what a rule would do (dry run, replay).

Dry runs and replays only read: they evaluate the rule through the engine's preview
(rules.automation.engine.rule_preview), which applies nothing, and run inside a
transaction that is rolled back whatever happens, so not a row is ever written.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from agents.exceptions import DomainError, NotFound
from rules.automation import engine
from rules.models import AutomationRule, RuleRun
from tickets.models import Message, Ticket, TicketEvent

# The outbox events each event trigger answers to (a message trigger: by its author).
TRIGGER_EVENT_KINDS = {
    AutomationRule.Trigger.TICKET_CREATED: ["ticket.created"],
    AutomationRule.Trigger.TICKET_UPDATED: ["ticket.updated"],
    AutomationRule.Trigger.MESSAGE_CUSTOMER: ["message.created"],
    AutomationRule.Trigger.MESSAGE_AGENT: ["message.created"],
    AutomationRule.Trigger.TICKET_ASSIGNED: ["ticket.assigned"],
    AutomationRule.Trigger.SLA_AT_RISK: ["sla.at_risk"],
    AutomationRule.Trigger.SLA_BREACHED: ["sla.breached"],
}
DRY_RUN_TICKETS = 50
REPLAY_MAX_EVENTS = 2000
REPLAY_MAX_DAYS = 31


def automation_list(*, organization_id, trigger=None, active=None) -> QuerySet:
    rules = AutomationRule.objects.filter(organization_id=organization_id)
    if trigger is not None:
        rules = rules.filter(trigger=trigger)
    if active is not None:
        rules = rules.filter(active=active)
    return rules.order_by("position", "name", "pk")


def automation_get(*, organization_id, rule_id) -> AutomationRule:
    rule = AutomationRule.objects.filter(organization_id=organization_id, pk=rule_id).first()
    if rule is None:
        raise NotFound(f"Automation {rule_id} not found.")
    return rule


def automation_runs(*, rule: AutomationRule, outcome=None) -> QuerySet:
    runs = RuleRun.objects.filter(rule=rule)
    if outcome is not None:
        runs = runs.filter(outcome=outcome)
    return runs.order_by("-created_at", "-id")


def _ticket_item(ticket: Ticket, planned: list[dict]) -> dict:
    return {
        "ticket_id": ticket.pk,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "actions": planned,
    }


def _fits(trigger: str, message: Message | None) -> bool:
    if trigger == AutomationRule.Trigger.MESSAGE_CUSTOMER:
        return message is not None and not message.from_agent
    if trigger == AutomationRule.Trigger.MESSAGE_AGENT:
        return message is not None and message.from_agent
    return True


def automation_dry_run(*, rule: AutomationRule, limit: int = DRY_RUN_TICKETS) -> dict:
    """The organization's tickets the rule would act on now (the first `limit`, most
    recently updated first) and what it would do to each. For an event rule, "now"
    means: if its trigger fired for the ticket now."""
    with transaction.atomic():
        matches = engine.time_rule_matches(rule).order_by("-updated_at", "-pk")
        total = matches.count()
        tickets = []
        for ticket in matches.select_related("customer")[:limit]:
            planned = engine.rule_preview(rule=rule, ticket=ticket)
            if planned:
                tickets.append(_ticket_item(ticket, planned))
        transaction.set_rollback(True)
    return {
        "rule_id": rule.pk,
        "trigger": rule.trigger,
        "evaluated_at": timezone.now(),
        "matching_tickets": total,
        "tickets": tickets,
        "truncated": total > limit,
    }


def automation_replay(*, rule: AutomationRule, since: datetime, until: datetime | None) -> dict:
    """What an (unsaved) rule would have done over [since, until): for an event rule,
    each event of its trigger in the period, evaluated against the ticket as it is now
    (and the triggering message); for a time rule, the tickets that qualify now. At most
    REPLAY_MAX_EVENTS events, oldest first."""
    until = until or timezone.now()
    if until <= since:
        raise DomainError("since must be before until.", field="since")
    if (until - since).days > REPLAY_MAX_DAYS:
        raise DomainError(
            f"The period is {(until - since).days} days long; at most {REPLAY_MAX_DAYS}.",
            field="since",
        )
    if rule.trigger == AutomationRule.Trigger.TIME:
        answer = automation_dry_run(rule=rule)
        return {**answer, "since": since, "until": until, "events_scanned": 0, "hits": []}
    kinds = TRIGGER_EVENT_KINDS[rule.trigger]
    with transaction.atomic():
        events = list(
            TicketEvent.objects.filter(
                organization_id=rule.organization_id,
                kind__in=kinds,
                created_at__gte=since,
                created_at__lt=until,
                ticket__isnull=False,
            )
            .select_related("ticket", "ticket__customer")
            .order_by("created_at", "id")[: REPLAY_MAX_EVENTS + 1]
        )
        truncated = len(events) > REPLAY_MAX_EVENTS
        events = events[:REPLAY_MAX_EVENTS]
        messages = Message.objects.in_bulk(
            [e.payload.get("message_id") for e in events if e.payload.get("message_id")]
        )
        hits = []
        for event in events:
            message = messages.get(event.payload.get("message_id"))
            if not _fits(rule.trigger, message):
                continue
            planned = engine.rule_preview(rule=rule, ticket=event.ticket, message=message)
            if planned:
                hits.append(
                    {
                        "event_id": event.pk,
                        "event": event.kind,
                        "at": event.created_at,
                        **_ticket_item(event.ticket, planned),
                    }
                )
        transaction.set_rollback(True)
    return {
        "trigger": rule.trigger,
        "since": since,
        "until": until,
        "events_scanned": len(events),
        "truncated": truncated,
        "hits": hits,
        "basis": "each event is evaluated against the ticket as it is now",
    }
