"""Writing macros, and applying one to a ticket.

A macro is validated whole before it is saved (macro_validate): its body may hold only
the placeholders of rules.macros.render, its actions are automation actions
(rules.automation.schema) other than the two that use a macro themselves. Applying it
with `send` applies the actions through the same code as automations (as the acting
agent, labelled with the macro), sends the rendered reply as the agent's public message
and counts the use, in one transaction; without `send` it only renders: nothing is
written, nothing counted (a preview for the reply box).
"""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agents.exceptions import Conflict, DomainError, NotFound
from agents.models import Organization
from rules.automation.actions import actions_apply
from rules.automation.schema import actions_validate
from rules.macros.render import macro_render, placeholders_validate
from rules.models import AutomationRule, Macro
from tickets.models import Ticket
from tickets.services import message_add

MACRO_FIELDS = ("name", "body", "actions", "active")
# The automation actions that use a macro. A macro's own actions may not be one of them: a
# macro naming itself (or two naming each other) would recurse without end, and one reply
# per application is enough.
MACRO_ACTION_TYPES = ("apply_macro", "send_reply")


def macro_validate(*, organization_id, data: dict) -> dict:
    """`data` ({name, body, actions, active}) with its actions normalised, or a
    DomainError naming the field (`body`, `actions[1].value`). The admin form calls it
    too, so both refuse the same macros with the same message."""
    placeholders_validate(data.get("body") or "", field="body")
    actions = data.get("actions")
    if actions in (None, ""):
        actions = []
    if not isinstance(actions, list):
        raise DomainError('Expected a list: [{"type": ..., "value": ...}].', field="actions")
    for i, action in enumerate(actions):
        if isinstance(action, dict) and action.get("type") in MACRO_ACTION_TYPES:
            raise DomainError(
                f"A macro's actions cannot {action['type']!r} (a macro would run macros); "
                "use the automation actions that change the ticket.",
                field=f"actions[{i}].type",
            )
    if actions:
        actions = actions_validate(organization_id=organization_id, actions=actions)
    if not (data.get("body") or "").strip() and not actions:
        raise DomainError("A macro needs a body or actions.", field="body")
    return {**data, "actions": actions}


def _save(macro: Macro, actor) -> Macro:
    macro._history_user = actor
    try:
        with transaction.atomic():
            macro.save()
    except IntegrityError as exc:
        raise Conflict(f"A macro named {macro.name!r} already exists.", field="name") from exc
    return macro


@transaction.atomic
def macro_create(*, organization: Organization, data: dict, actor) -> Macro:
    """A new macro of `organization` from `data` ({name, body?, actions?, active?}),
    validated; Conflict (409, `name`) when the organization has one of that name."""
    data = macro_validate(organization_id=organization.pk, data=data)
    return _save(Macro(organization=organization, **data), actor)


@transaction.atomic
def macro_update(*, macro: Macro, data: dict, actor) -> Macro:
    """Change the fields given in `data`; the macro as it would be is validated whole
    (an action whose agent or team has gone since is named)."""
    macro = Macro.objects.select_for_update().get(pk=macro.pk)
    merged = {f: getattr(macro, f) for f in MACRO_FIELDS}
    merged.update(data)
    merged = macro_validate(organization_id=macro.organization_id, data=merged)
    for name in MACRO_FIELDS:
        setattr(macro, name, merged[name])
    return _save(macro, actor)


def macro_users(*, macro: Macro) -> list[str]:
    """The names of the organization's automation rules whose actions use `macro`."""
    rules = AutomationRule.objects.filter(organization_id=macro.organization_id).only(
        "name", "actions"
    )
    return sorted(
        rule.name
        for rule in rules
        if any(
            isinstance(action, dict)
            and action.get("type") in MACRO_ACTION_TYPES
            and str(action.get("value")) == str(macro.pk)
            for action in rule.actions or []
        )
    )


@transaction.atomic
def macro_delete(*, macro: Macro, actor) -> None:
    """Delete `macro`; Conflict (409) while an automation rule uses it (the rule would
    fail each time it runs)."""
    users = macro_users(macro=macro)
    if users:
        raise Conflict(
            f"The macro {macro.name!r} is used by the automation rules {', '.join(users)}; "
            "change them first.",
            field="id",
        )
    macro._history_user = actor
    macro.delete()


def macro_apply(*, macro: Macro, ticket: Ticket, actor, actor_label: str, send: bool) -> dict:
    """{rendered, sent, message_id, actions}: the reply rendered for `ticket` as `actor`
    (None: an API key, `actor_label` names it). With `send`, in one transaction: the
    actions applied (their results in `actions`), the reply sent to the customer as the
    agent's public message, and the use counted (usage_count, last_used_at). Without it
    nothing is written. An inactive macro is a DomainError naming `macro_id`."""
    if macro.organization_id != ticket.organization_id:  # callers look both up scoped
        raise NotFound(f"Macro {macro.pk} not found.")
    if not macro.active:
        raise DomainError(f"The macro {macro.name!r} is inactive.", field="macro_id")
    ticket = Ticket.objects.select_related("customer", "organization").get(pk=ticket.pk)
    rendered = macro_render(body=macro.body, ticket=ticket, agent=actor)
    if not send:
        return {"rendered": rendered, "sent": False, "message_id": None, "actions": []}
    # The actions' changes say who applied which macro ("ana@acme.test (macro: Refund)");
    # the reply is the agent's own, labelled as a typed one.
    who = actor_label or (actor.email if actor is not None else "system")
    label = f"{who} (macro: {macro.name})"[:200]
    with transaction.atomic():
        applied = actions_apply(
            ticket=ticket, actions=macro.actions or [], rule=macro, actor=actor, label=label
        )
        message = None
        if rendered.strip():
            message = message_add(
                ticket=ticket,
                content=rendered,
                from_agent=True,
                author_agent=actor,
                actor=actor,
                actor_label=actor_label,
            )
        Macro.objects.filter(pk=macro.pk).update(
            usage_count=F("usage_count") + 1, last_used_at=timezone.now()
        )
    return {
        "rendered": rendered,
        "sent": message is not None,
        "message_id": message.pk if message else None,
        "actions": applied,
    }
