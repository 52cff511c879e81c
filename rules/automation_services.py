"""Writing automation rules: create, change, delete. Every rule is validated by
rules.automation.schema before it is saved (an unknown field, operator, action or id
is a DomainError naming its path), so no saved rule can fail at run time for its shape.
"""

from django.db import IntegrityError, transaction
from django.db.models import Max

from agents.exceptions import Conflict, DomainError
from agents.models import Agent, Organization
from rules.automation.schema import rule_validate
from rules.models import AutomationRule

AUTOMATION_FIELDS = (
    "name",
    "description",
    "active",
    "position",
    "stop_processing",
    "trigger",
    "conditions",
    "actions",
)
POSITION_STEP = 10


def _validated(*, organization_id, data: dict) -> dict:
    conditions, actions = rule_validate(
        organization_id=organization_id,
        trigger=data["trigger"],
        conditions=data.get("conditions") or {},
        actions=data.get("actions"),
    )
    return {**data, "conditions": conditions, "actions": actions}


def _save(rule: AutomationRule, actor: Agent | None) -> AutomationRule:
    rule._history_user = actor
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        if "automation_name_unique_per_org" in str(exc) or "UNIQUE" in str(exc).upper():
            raise Conflict(
                f"An automation named {rule.name!r} already exists.", field="name"
            ) from exc
        raise
    return rule


@transaction.atomic
def automation_create(*, organization: Organization, data: dict, actor) -> AutomationRule:
    """A new rule; `position` defaults to after the organization's last rule."""
    unknown = set(data) - set(AUTOMATION_FIELDS)
    if unknown:
        raise DomainError(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    if "trigger" not in data:
        raise DomainError("This field is required.", field="trigger")
    data = _validated(organization_id=organization.pk, data=data)
    if data.get("position") is None:
        last = AutomationRule.objects.filter(organization=organization).aggregate(
            p=Max("position")
        )["p"]
        data["position"] = (last or 0) + POSITION_STEP
    rule = AutomationRule(organization=organization, **data)
    return _save(rule, actor)


@transaction.atomic
def automation_update(*, rule: AutomationRule, data: dict, actor) -> AutomationRule:
    """Change the given fields; the rule is validated again as a whole (a new trigger
    may not allow the conditions it has)."""
    rule = AutomationRule.objects.select_for_update().get(pk=rule.pk)
    merged = {f: getattr(rule, f) for f in AUTOMATION_FIELDS}
    merged.update(data)
    merged = _validated(organization_id=rule.organization_id, data=merged)
    for name in AUTOMATION_FIELDS:
        setattr(rule, name, merged[name])
    return _save(rule, actor)


@transaction.atomic
def automation_delete(*, rule: AutomationRule, actor) -> None:
    """Delete the rule and its runs (the tickets' timelines keep their events)."""
    rule._history_user = actor
    rule.delete()
