"""Writing macros, and applying one to a ticket.

A macro is validated whole before it is saved: its body may hold only the placeholders
of rules.macros.render, its actions are automation actions (rules.automation.schema).
Applying it with `send` renders the reply, applies the actions through the same code as
automations (labelled with the acting agent), sends the reply, and counts the use, in
one transaction; without `send` it only renders (nothing is written, nothing counted).
"""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agents.exceptions import Conflict, DomainError
from agents.models import Organization
from rules.automation.actions import actions_apply
from rules.automation.schema import actions_validate
from rules.macros.render import macro_render, placeholders_validate
from rules.models import Macro
from tickets.models import Ticket
from tickets.services import message_add

MACRO_FIELDS = ("name", "body", "actions", "active")


def _validated(*, organization_id, data: dict) -> dict:
    placeholders_validate(data.get("body") or "", field="body")
    actions = data.get("actions") or []
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
    data = _validated(organization_id=organization.pk, data=data)
    return _save(Macro(organization=organization, **data), actor)


@transaction.atomic
def macro_update(*, macro: Macro, data: dict, actor) -> Macro:
    macro = Macro.objects.select_for_update().get(pk=macro.pk)
    merged = {f: getattr(macro, f) for f in MACRO_FIELDS}
    merged.update(data)
    merged = _validated(organization_id=macro.organization_id, data=merged)
    for name in MACRO_FIELDS:
        setattr(macro, name, merged[name])
    return _save(macro, actor)


@transaction.atomic
def macro_delete(*, macro: Macro, actor) -> None:
    macro._history_user = actor
    macro.delete()


def macro_apply(*, macro: Macro, ticket: Ticket, actor, actor_label: str, send: bool) -> dict:
    """{rendered, sent, message_id, actions}: the reply rendered for this ticket; with
    `send`, the actions applied, the reply sent to the customer and the use counted."""
    if not macro.active:
        raise DomainError(f"The macro {macro.name!r} is inactive.", field="macro_id")
    ticket = Ticket.objects.select_related("customer", "organization").get(pk=ticket.pk)
    rendered = macro_render(body=macro.body, ticket=ticket, agent=actor)
    if not send:
        return {"rendered": rendered, "sent": False, "message_id": None, "actions": []}
    with transaction.atomic():
        applied = actions_apply(
            ticket=ticket,
            actions=macro.actions or [],
            rule=macro,
            actor=actor,
            label=f"{actor_label} (macro {macro.name})"[:200],
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
