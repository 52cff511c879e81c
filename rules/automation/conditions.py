"""Evaluating a rule's conditions: against one ticket in Python (event rules, previews),
or compiled to a queryset filter (time rules: one set-based query per rule).

Both read the same facts, so an event rule and a time rule with the same conditions
agree on a ticket. Missing facts (no intelligence, no customer message yet) make every
comparison false except is_not / not_in / not_contains / is_not_set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from rules.automation.schema import AGENT, FIELDS, HOURS, TAGS, TEAM, TEXT
from tickets.models import Ticket

HOURS_ANCHORS = {
    "hours_since_created": "created_at",
    "hours_since_updated": "updated_at",
    "hours_since_customer_message": "last_customer_message_at",
    "hours_since_agent_reply": "last_agent_reply_at",
}


@dataclass
class Facts:
    """What the conditions can ask about one ticket at one moment."""

    ticket: Ticket
    now: datetime
    body: str | None = None

    def anchor(self, name: str) -> datetime | None:
        """The moment an hours_* field counts from (None: never happened)."""
        return getattr(self.ticket, HOURS_ANCHORS[name])

    def value(self, name: str):
        t = self.ticket
        if name == "tags":
            return [n.lower() for n in (t.tag_names or [])]
        if name == "body":
            return self.body
        if name.startswith("customer."):
            customer = t.customer
            if name == "customer.tier":
                return customer.tier
            intelligence = getattr(customer, "intelligence", None)
            if intelligence is None:
                return None
            return (
                intelligence.churn_score
                if name == "customer.churn_risk"
                else intelligence.lifetime_value
            )
        if name in HOURS_ANCHORS:
            at = self.anchor(name)
            return None if at is None else (self.now - at).total_seconds() / 3600
        return {
            "status": t.status,
            "priority": t.priority,
            "channel": t.channel,
            "source": t.source,
            "subject": t.subject,
            "assignee": str(t.assignee_id) if t.assignee_id else None,
            "team": str(t.team_id) if t.team_id else None,
            "sla.status": t.sla_status or None,
        }[name]


def _holds(condition: dict, facts: Facts) -> bool:
    name, op, expected = condition["field"], condition["operator"], condition["value"]
    kind = FIELDS[name].type
    actual = facts.value(name)
    if op in ("is_set", "is_not_set"):
        present = actual is not None and actual != "" and actual != []
        return present if op == "is_set" else not present
    if kind == TAGS:
        tags = actual or []
        if op == "contains":
            return expected in tags
        if op == "not_contains":
            return expected not in tags
        if op == "in":
            return any(t in tags for t in expected)
        return not any(t in tags for t in expected)  # not_in
    if kind == TEXT:
        text = (actual or "").lower()
        if op == "is":
            return actual is not None and text == expected.lower()
        if op == "is_not":
            return text != expected.lower()
        if op == "contains":
            return expected.lower() in text
        return expected.lower() not in text  # not_contains
    if op == "is":
        return actual is not None and actual == expected
    if op == "is_not":
        return actual != expected
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if actual is None:
        return False
    return {
        "gt": actual > expected,
        "gte": actual >= expected,
        "lt": actual < expected,
        "lte": actual <= expected,
    }[op]


def conditions_hold(conditions: dict, facts: Facts) -> bool:
    """Every `all` condition holds, and one of `any` when there are some."""
    if not all(_holds(c, facts) for c in conditions.get("all", [])):
        return False
    any_of = conditions.get("any", [])
    return not any_of or any(_holds(c, facts) for c in any_of)


# --- Compiled to SQL (time rules) -----------------------------------------------------

COLUMNS = {
    "status": "status",
    "priority": "priority",
    "channel": "channel",
    "source": "source",
    "subject": "subject",
    "customer.tier": "customer__tier",
    "customer.churn_risk": "customer__intelligence__churn_score",
    "customer.ltv": "customer__intelligence__lifetime_value",
    "assignee": "assignee_id",
    "team": "team_id",
    "sla.status": "sla_status",
}
# An hours condition compares the anchor with now - hours: "more than h hours since" is
# "the anchor is before now - h".
HOURS_LOOKUP = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}


def _tag(name: str) -> Exists:
    return Exists(Ticket.tags.through.objects.filter(ticket_id=OuterRef("pk"), tag__name=name))


def _q(condition: dict, now: datetime) -> Q:
    name, op, value = condition["field"], condition["operator"], condition["value"]
    kind = FIELDS[name].type
    if kind == HOURS:
        column = HOURS_ANCHORS[name]
        moment = now - timedelta(hours=value)
        return Q(**{f"{column}__{HOURS_LOOKUP[op]}": moment})
    if kind == TAGS:
        if op == "is_set":
            return Q(Exists(Ticket.tags.through.objects.filter(ticket_id=OuterRef("pk"))))
        if op == "is_not_set":
            return ~Q(Exists(Ticket.tags.through.objects.filter(ticket_id=OuterRef("pk"))))
        names = [value] if op in ("contains", "not_contains") else value
        q = Q(
            Exists(
                Ticket.tags.through.objects.filter(ticket_id=OuterRef("pk"), tag__name__in=names)
            )
        )
        return q if op in ("contains", "in") else ~q
    column = COLUMNS[name]
    if op in ("is_set", "is_not_set"):
        present = ~Q(**{column: ""}) & Q(**{f"{column}__isnull": False})
        if kind not in (TEXT,) and name != "sla.status":
            present = Q(**{f"{column}__isnull": False})
        return present if op == "is_set" else ~present
    if kind == TEXT:
        lookup = {"is": "iexact", "is_not": "iexact", "contains": "icontains"}.get(op, "icontains")
        q = Q(**{f"{column}__{lookup}": value})
        return q if op in ("is", "contains") else ~q
    if op in ("is", "is_not"):
        q = Q(**{column: value})
        if kind in (AGENT, TEAM) or name == "sla.status" or column.startswith("customer__intel"):
            # NULL is "not equal" too
            return q if op == "is" else ~q | Q(**{f"{column}__isnull": True})
        return q if op == "is" else ~q
    if op in ("in", "not_in"):
        q = Q(**{f"{column}__in": value})
        return q if op == "in" else ~q | Q(**{f"{column}__isnull": True})
    return Q(**{f"{column}__{op}": value})


def conditions_filter(tickets: QuerySet, conditions: dict, now: datetime | None = None) -> QuerySet:
    """`tickets` narrowed to those meeting the conditions (body conditions are not
    compiled: they only exist for message triggers)."""
    now = now or timezone.now()
    all_of = [c for c in conditions.get("all", []) if c["field"] != "body"]
    any_of = [c for c in conditions.get("any", []) if c["field"] != "body"]
    for condition in all_of:
        tickets = tickets.filter(_q(condition, now))
    if any_of:
        combined = Q()
        for condition in any_of:
            combined |= _q(condition, now)
        tickets = tickets.filter(combined)
    return tickets
