"""Applying a rule's actions to a ticket, each through the service a person's change
goes through (so history, events, SLA clocks and the smart score follow), as the
automation: no acting agent, `actor_label` "automation: <rule name>".

An action that cannot apply to this ticket as it is now (a status the lifecycle does not
allow from here, a route without a team) is skipped and says why; it does not fail the
rule. Anything else that goes wrong raises, and the engine records the rule as failed.
"""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from agents.models import Agent, Team
from rules.models import Macro
from tickets import lifecycle
from tickets.events import automation_depth, event_record
from tickets.models import Message, Ticket
from tickets.services import (
    message_add,
    note_add,
    ticket_assign,
    ticket_escalate,
    ticket_transition,
    ticket_update,
)


def _label(rule) -> str:
    return f"automation: {rule.name}"[:200]


def _skipped(action: dict, why: str) -> dict:
    return {**action, "result": "skipped", "why": why}


def _applied(action: dict, **extra) -> dict:
    return {**action, "result": "applied", **extra}


def _macro(organization_id, macro_id) -> Macro:
    macro = Macro.objects.filter(organization_id=organization_id, pk=macro_id).first()
    if macro is None:
        raise LookupError(f"Macro {macro_id} no longer exists.")
    return macro


def action_preview(*, ticket: Ticket, action: dict) -> dict:
    """What the action would do to the ticket now, without doing it."""
    kind, value = action["type"], action.get("value")
    if kind == "set_status":
        if ticket.status == value:
            return _skipped(action, f"already {value}")
        if value not in lifecycle.TRANSITIONS.get(ticket.status, ()):
            return _skipped(action, f"{ticket.status} cannot move to {value}")
    if kind == "set_priority" and ticket.priority == value:
        return _skipped(action, f"already {value}")
    if kind == "route" and ticket.team_id is None:
        from routing.selectors import default_team_get

        if default_team_get(organization_id=ticket.organization_id) is None:
            return _skipped(action, "the ticket has no team and the organization no default")
    if kind == "assign_agent" and str(ticket.assignee_id) == value:
        return _skipped(action, "already assigned to this agent")
    return {**action, "result": "would apply"}


def actions_apply(
    *,
    ticket: Ticket,
    actions: list[dict],
    rule,
    depth: int | None = None,
    trigger_message: Message | None = None,
    actor=None,
    label: str | None = None,
) -> list[dict]:
    """Apply `actions` in order; returns each with its result (applied / skipped + why).
    `rule` is the AutomationRule whose name labels the changes ("automation: <name>");
    a macro applied by an agent passes the agent as `actor` and its own `label`.

    `depth`: the automation chain depth the events recorded here carry (the engine sets
    it around a whole rule; None keeps the current one, 0 outside automations)."""
    if depth is not None:
        with automation_depth(depth):
            return actions_apply(
                ticket=ticket,
                actions=actions,
                rule=rule,
                trigger_message=trigger_message,
                actor=actor,
                label=label,
            )
    label = label or _label(rule)
    done = []
    for action in actions:
        ticket = Ticket.objects.select_related("customer").get(pk=ticket.pk)
        preview = action_preview(ticket=ticket, action=action)
        if preview["result"] == "skipped":
            done.append(preview)
            continue
        done.append(_apply_one(ticket=ticket, action=action, rule=rule, label=label, actor=actor))
    return done


def _apply_one(*, ticket: Ticket, action: dict, rule, label: str, actor) -> dict:
    kind, value = action["type"], action.get("value")
    org = ticket.organization_id
    if kind == "set_status":
        ticket_transition(ticket=ticket, to_status=value, actor=actor, actor_label=label)
    elif kind == "set_priority":
        ticket_update(ticket=ticket, priority=value, actor=actor, actor_label=label)
    elif kind == "add_tags":
        ticket_update(ticket=ticket, add_tags=value, actor=actor, actor_label=label)
    elif kind == "remove_tags":
        ticket_update(ticket=ticket, remove_tags=value, actor=actor, actor_label=label)
    elif kind == "assign_agent":
        agent = Agent.objects.filter(organization_id=org, pk=value, is_active=True).first()
        if agent is None:
            return _skipped(action, "the agent is no longer active")
        ticket_assign(ticket=ticket, assignee=agent, actor=actor, actor_label=label, reason=label)
    elif kind == "assign_team":
        team = Team.objects.filter(organization_id=org, pk=value).first()
        if team is None:
            return _skipped(action, "the team no longer exists")
        ticket_assign(
            ticket=ticket,
            assignee=ticket.assignee,
            team=team,
            actor=actor,
            actor_label=label,
            reason=label,
        )
    elif kind == "route":
        from routing.services import ticket_route

        result = ticket_route(ticket=ticket, trigger="automation")
        return _applied(action, outcome=result.outcome, why=result.explanation.get("why", ""))
    elif kind == "add_note":
        note_add(ticket=ticket, content=value, author_name=label, actor=actor, actor_label=label)
    elif kind == "escalate":
        raise_priority = bool((value or {}).get("raise_priority"))
        ticket_escalate(
            ticket=ticket,
            raise_priority=raise_priority,
            actor=actor,
            reason=label,
            actor_label=label,
        )
    elif kind == "apply_macro":
        macro = _macro(org, value)
        applied = actions_apply(
            ticket=ticket, actions=macro.actions or [], rule=rule, actor=actor, label=label
        )
        if macro.body.strip():
            from rules.macros.render import macro_render

            note_add(
                ticket=ticket,
                content=macro_render(body=macro.body, ticket=ticket, agent=None),
                author_name=label,
                actor=actor,
                actor_label=label,
            )
        Macro.objects.filter(pk=macro.pk).update(
            usage_count=F("usage_count") + 1, last_used_at=timezone.now()
        )
        return _applied(action, macro=macro.name, macro_actions=applied)
    elif kind == "send_reply":
        macro = _macro(org, value)
        if not macro.body.strip():
            return _skipped(action, f"the macro {macro.name!r} has no text to send")
        from rules.macros.render import macro_render

        message = message_add(
            ticket=ticket,
            content=macro_render(body=macro.body, ticket=ticket, agent=None),
            from_agent=True,
            author_name=label,
            actor=actor,
            actor_label=label,
        )
        Macro.objects.filter(pk=macro.pk).update(
            usage_count=F("usage_count") + 1, last_used_at=timezone.now()
        )
        return _applied(action, macro=macro.name, message_id=str(message.pk))
    elif kind == "send_webhook_event":
        event_record(
            kind="automation.webhook",
            actor=actor,
            actor_label=label,
            ticket=ticket,
            payload={"rule_id": str(rule.pk), "event": value, "data": {"rule": rule.name}},
        )
    else:  # the schema refuses unknown types; a stored one from an older version
        raise ValueError(f"Unknown action type {kind!r}.")
    return _applied(action)
