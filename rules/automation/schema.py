"""What an automation rule may say, and its validation.

A rule is {trigger, conditions: {"all": [...], "any": [...]}, actions: [...]}. A
condition is {"field", "operator", "value"}; an action {"type", "value"}. Validation
checks every piece against the catalogue below and that every referenced agent, team,
macro and tag exists in the organization, so a saved rule cannot fail at run time for
its shape. An error is a DomainError naming the path: `conditions.all[0].operator`.

Field types and their operators:

- choice (status, priority, channel, customer.tier, sla.status): is, is_not (a value),
  in, not_in (a list); sla.status also is_set / is_not_set.
- text (subject, body, source): is, is_not (case-insensitive), contains, not_contains,
  is_set, is_not_set. `body` is the triggering message: message triggers only.
- tags: contains / not_contains (a tag), in / not_in (any / none of a list of tags),
  is_set / is_not_set (any tag / no tag). Tags must exist in the organization (so must
  those of remove_tags; add_tags may name new ones).
- number (customer.churn_risk 0-1, customer.ltv): is, is_not, gt, gte, lt, lte,
  is_set, is_not_set (no intelligence known: not set).
- agent (assignee), team: is, is_not (an id), in, not_in (ids), is_set, is_not_set.
- hours (hours_since_created, _updated, _customer_message, _agent_reply): gt, gte, lt,
  lte (a number of hours). A time rule needs at least one hours condition in `all`:
  it is what makes a ticket qualify, and its moment starts the qualifying period.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from agents.exceptions import DomainError
from agents.models import Agent, Team
from tickets import lifecycle
from tickets.models import Channel, CustomerTier, Priority, SlaStatus, Tag

CHOICE, TEXT, TAGS, NUMBER, AGENT, TEAM, HOURS = (
    "choice",
    "text",
    "tags",
    "number",
    "agent",
    "team",
    "hours",
)
SET_OPERATORS = ("is_set", "is_not_set")
OPERATORS = {
    CHOICE: ("is", "is_not", "in", "not_in"),
    TEXT: ("is", "is_not", "contains", "not_contains", *SET_OPERATORS),
    TAGS: ("contains", "not_contains", "in", "not_in", *SET_OPERATORS),
    NUMBER: ("is", "is_not", "gt", "gte", "lt", "lte", *SET_OPERATORS),
    AGENT: ("is", "is_not", "in", "not_in", *SET_OPERATORS),
    TEAM: ("is", "is_not", "in", "not_in", *SET_OPERATORS),
    HOURS: ("gt", "gte", "lt", "lte"),
}
LIST_OPERATORS = ("in", "not_in")
ALL_OPERATORS = sorted({op for ops in OPERATORS.values() for op in ops})


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    choices: tuple = ()
    settable: bool = False  # choice fields that may be empty (is_set / is_not_set)


FIELDS = {
    f.name: f
    for f in (
        Field("status", CHOICE, tuple(lifecycle.STATUSES)),
        Field("priority", CHOICE, tuple(Priority.values)),
        Field("channel", CHOICE, tuple(Channel.values)),
        Field("source", TEXT),
        Field("tags", TAGS),
        Field("subject", TEXT),
        Field("body", TEXT),
        Field("customer.tier", CHOICE, tuple(CustomerTier.values)),
        Field("customer.churn_risk", NUMBER),
        Field("customer.ltv", NUMBER),
        Field("assignee", AGENT),
        Field("team", TEAM),
        Field("sla.status", CHOICE, tuple(v for v in SlaStatus.values if v), settable=True),
        Field("hours_since_created", HOURS),
        Field("hours_since_updated", HOURS),
        Field("hours_since_customer_message", HOURS),
        Field("hours_since_agent_reply", HOURS),
    )
}
MESSAGE_TRIGGERS = ("message.customer", "message.agent")
TIME = "time"
MAX_CONDITIONS = 50
MAX_ACTIONS = 20

# Action types and the value each takes.
ACTION_VALUES = {
    "set_status": "a status",
    "set_priority": "a priority",
    "add_tags": "a list of tags",
    "remove_tags": "a list of tags",
    "assign_agent": "an agent id",
    "assign_team": "a team id",
    "route": "nothing (null)",
    "add_note": "the note's text",
    "escalate": 'nothing, or {"raise_priority": true}',
    "apply_macro": "a macro id",
    "send_webhook_event": "an event name (letters, digits, '.', '_', '-')",
    "send_reply": "a macro id (its reply is sent to the customer)",
}
ACTION_TYPES = tuple(ACTION_VALUES)
EVENT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# A custom webhook event may not pose as one of ours (receivers trust `type`).
RESERVED_EVENT_PREFIXES = (
    "ticket.",
    "message.",
    "note.",
    "sla.",
    "customer.",
    "webhook.",
    "automation.",
)


def _fail(path: str, message: str):
    raise DomainError(message, field=path)


def _uuid(value, path: str) -> uuid.UUID:
    if isinstance(value, str | uuid.UUID):
        try:
            return uuid.UUID(str(value))
        except ValueError:
            pass
    _fail(path, f"{value!r} is not a valid id.")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _References:
    """The ids and tag names a rule refers to, checked against the organization at the
    end in one query per kind."""

    def __init__(self):
        self.agents: dict[uuid.UUID, str] = {}
        self.teams: dict[uuid.UUID, str] = {}
        self.macros: dict[uuid.UUID, str] = {}
        self.tags: dict[str, str] = {}

    def check(self, organization_id) -> None:
        from rules.models import Macro

        for refs, queryset, what in (
            (
                self.agents,
                Agent.objects.filter(organization_id=organization_id, is_active=True),
                "active agent",
            ),
            (self.teams, Team.objects.filter(organization_id=organization_id), "team"),
            (self.macros, Macro.objects.filter(organization_id=organization_id), "macro"),
        ):
            if refs:
                known = set(queryset.filter(pk__in=list(refs)).values_list("pk", flat=True))
                for pk, path in refs.items():
                    if pk not in known:
                        _fail(path, f"No {what} {pk} in this organization.")
        if self.tags:
            known = set(
                Tag.objects.filter(
                    organization_id=organization_id, name__in=list(self.tags)
                ).values_list("name", flat=True)
            )
            for name, path in self.tags.items():
                if name not in known:
                    _fail(path, f"No tag {name!r} in this organization.")


def _tag_name(value, path: str, refs: _References | None) -> str:
    """A tag name, lower-cased. With `refs` it must exist in the organization (a
    condition or remove_tags naming an unknown tag could never do anything); add_tags
    may name a new tag, created when the action applies, as when a person tags."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 64:
        _fail(path, "Expected a tag name (1 to 64 characters).")
    name = value.strip().lower()
    if refs is not None:
        refs.tags.setdefault(name, path)
    return name


def _condition(item, path: str, trigger: str, refs: _References) -> dict:
    if not isinstance(item, dict):
        _fail(path, 'Expected an object: {"field", "operator", "value"}.')
    unknown = set(item) - {"field", "operator", "value"}
    if unknown:
        _fail(
            f"{path}.{sorted(unknown)[0]}", "Unknown key; a condition has field, operator, value."
        )
    name = item.get("field")
    field = FIELDS.get(name) if isinstance(name, str) else None
    if field is None:
        _fail(f"{path}.field", f"Unknown field {name!r}; allowed: {', '.join(FIELDS)}.")
    if field.name == "body" and trigger not in MESSAGE_TRIGGERS:
        _fail(f"{path}.field", "body is the triggering message: message triggers only.")
    operator = item.get("operator")
    allowed = OPERATORS[field.type] + (SET_OPERATORS if field.settable else ())
    if operator not in allowed:
        _fail(
            f"{path}.operator",
            f"Unknown operator {operator!r} for {field.name}; allowed: {', '.join(allowed)}.",
        )
    value = item.get("value")
    vpath = f"{path}.value"
    if operator in SET_OPERATORS:
        if value is not None:
            _fail(vpath, f"{operator} takes no value.")
        return {"field": field.name, "operator": operator, "value": None}
    if operator in LIST_OPERATORS:
        if not isinstance(value, list) or not value or len(value) > 100:
            _fail(vpath, f"{operator} takes a list of 1 to 100 values.")
        cleaned = [_scalar(field, v, f"{vpath}[{i}]", refs) for i, v in enumerate(value)]
        return {"field": field.name, "operator": operator, "value": cleaned}
    return {"field": field.name, "operator": operator, "value": _scalar(field, value, vpath, refs)}


def _scalar(field: Field, value, path: str, refs: _References):
    if field.type == CHOICE:
        if value not in field.choices:
            _fail(path, f"{value!r} is not a {field.name}; allowed: {', '.join(field.choices)}.")
        return value
    if field.type == TEXT:
        if not isinstance(value, str) or not value or len(value) > 1000:
            _fail(path, "Expected a text of 1 to 1000 characters.")
        return value
    if field.type == TAGS:
        return _tag_name(value, path, refs)
    if field.type in (NUMBER, HOURS):
        if not _is_number(value) or value < 0:
            _fail(path, "Expected a number (0 or more).")
        if field.name == "customer.churn_risk" and value > 1:
            _fail(path, "churn_risk is between 0 and 1.")
        return value
    pk = _uuid(value, path)
    (refs.agents if field.type == AGENT else refs.teams).setdefault(pk, path)
    return str(pk)


def _conditions(*, conditions, trigger: str, refs: _References) -> dict:
    """The normalised conditions {"all": [...], "any": [...]}; the references they make
    are collected in `refs`, for the caller to check."""
    if conditions in (None, {}):
        conditions = {}
    if not isinstance(conditions, dict):
        _fail("conditions", 'Expected an object: {"all": [...], "any": [...]}.')
    unknown = set(conditions) - {"all", "any"}
    if unknown:
        _fail(f"conditions.{sorted(unknown)[0]}", "Unknown key; conditions has all and any.")
    cleaned = {}
    for group in ("all", "any"):
        items = conditions.get(group) or []
        if not isinstance(items, list) or len(items) > MAX_CONDITIONS:
            _fail(f"conditions.{group}", f"Expected a list of at most {MAX_CONDITIONS}.")
        cleaned[group] = [
            _condition(item, f"conditions.{group}[{i}]", trigger, refs)
            for i, item in enumerate(items)
        ]
    if trigger == TIME and not any(FIELDS[c["field"]].type == HOURS for c in cleaned["all"]):
        _fail(
            "conditions.all",
            "A time rule needs an hours_since_… condition in `all` (when a ticket qualifies).",
        )
    return cleaned


def conditions_validate(*, organization_id, conditions, trigger: str) -> dict:
    """The normalised conditions {"all": [...], "any": [...]} of a rule of `trigger`, or
    a DomainError naming the first bad path (`conditions.all[0].operator`); agents,
    teams and tags they name must exist in the organization.

    `body` (the triggering message) is for message triggers only; hours_since_* fields
    are allowed on every trigger ("a customer message more than 24 h after our last
    reply") and a time rule needs one in `all` (its qualifying moment)."""
    refs = _References()
    cleaned = _conditions(conditions=conditions, trigger=trigger, refs=refs)
    refs.check(organization_id)
    return cleaned


def _action(item, path: str, refs: _References):
    if not isinstance(item, dict):
        _fail(path, 'Expected an object: {"type", "value"}.')
    unknown = set(item) - {"type", "value"}
    if unknown:
        _fail(f"{path}.{sorted(unknown)[0]}", "Unknown key; an action has type and value.")
    kind = item.get("type")
    if not isinstance(kind, str) or kind not in ACTION_VALUES:
        _fail(f"{path}.type", f"Unknown action {kind!r}; allowed: {', '.join(ACTION_TYPES)}.")
    value = item.get("value")
    vpath = f"{path}.value"
    expected = f"{kind} takes {ACTION_VALUES[kind]}."
    if kind == "set_status":
        if value not in lifecycle.STATUSES:
            _fail(vpath, f"{expected} Allowed: {', '.join(lifecycle.STATUSES)}.")
    elif kind == "set_priority":
        if value not in Priority.values:
            _fail(vpath, f"{expected} Allowed: {', '.join(Priority.values)}.")
    elif kind in ("add_tags", "remove_tags"):
        if not isinstance(value, list) or not value or len(value) > 50:
            _fail(vpath, f"{expected} (1 to 50)")
        check = refs if kind == "remove_tags" else None
        value = [_tag_name(v, f"{vpath}[{i}]", check) for i, v in enumerate(value)]
    elif kind == "assign_agent":
        pk = _uuid(value, vpath)
        refs.agents.setdefault(pk, vpath)
        value = str(pk)
    elif kind == "assign_team":
        pk = _uuid(value, vpath)
        refs.teams.setdefault(pk, vpath)
        value = str(pk)
    elif kind in ("apply_macro", "send_reply"):
        pk = _uuid(value, vpath)
        refs.macros.setdefault(pk, vpath)
        value = str(pk)
    elif kind == "route":
        if value is not None:
            _fail(vpath, expected)
    elif kind == "add_note":
        if not isinstance(value, str) or not value.strip() or len(value) > 10_000:
            _fail(vpath, f"{expected} (1 to 10,000 characters)")
    elif kind == "escalate":
        if value is not None and not (
            isinstance(value, dict)
            and set(value) <= {"raise_priority"}
            and isinstance(value.get("raise_priority", False), bool)
        ):
            _fail(vpath, expected)
    elif kind == "send_webhook_event":
        if not isinstance(value, str) or not EVENT_NAME.match(value):
            _fail(vpath, expected)
        if value.startswith(RESERVED_EVENT_PREFIXES):
            prefix = value.split(".")[0]
            _fail(vpath, f"{value!r} is reserved: a custom event may not start with {prefix}.")
    return {"type": kind, "value": value}


def actions_validate(*, organization_id, actions, path: str = "actions", refs=None) -> list:
    """The normalised actions (a non-empty list), or a DomainError naming the first bad
    path (`actions[1].value`). Agents (active), teams, macros and the tags of
    remove_tags must exist in the organization; add_tags may name a new tag (created
    when it applies, as when a person tags a ticket, so it cannot fail at run time).
    `path` prefixes the paths (a macro's actions: "actions"); `refs` lets rule_validate
    check a whole rule's references together."""
    own = refs is None
    refs = refs or _References()
    if not isinstance(actions, list) or not actions or len(actions) > MAX_ACTIONS:
        _fail(path, f"Expected a list of 1 to {MAX_ACTIONS} actions.")
    cleaned = [_action(item, f"{path}[{i}]", refs) for i, item in enumerate(actions)]
    if own:
        refs.check(organization_id)
    return cleaned


def rule_validate(*, organization_id, trigger: str, conditions, actions) -> tuple[dict, list]:
    """(conditions, actions), normalised, or a DomainError naming the first bad path."""
    from rules.models import AutomationRule

    if trigger not in AutomationRule.Trigger.values:
        _fail("trigger", f"Unknown trigger {trigger!r}.")
    refs = _References()
    cleaned_conditions = _conditions(conditions=conditions, trigger=trigger, refs=refs)
    cleaned_actions = actions_validate(organization_id=organization_id, actions=actions, refs=refs)
    refs.check(organization_id)
    return cleaned_conditions, cleaned_actions
