"""Running automation rules: on outbox events (event triggers) and on a periodic scan
(time rules).

Event rules: the outbox handler `rules_run_for_event` maps the event to its trigger,
loads the organization's active rules of that trigger (one indexed query) and runs them
in `position` order against the ticket as it is now. A rule that matches applies its
actions (rules.automation.actions), in its own savepoint: one that fails rolls back
alone and is recorded `failed` with the error; `stop_processing` ends the run. Each
execution is a RuleRun (unique per rule and event, so an outbox re-run does nothing
twice) and an `automation.applied` event on the ticket's timeline.

Trigger mapping (KIND_TRIGGERS): ticket.created; ticket.updated, ticket.status_changed
and ticket.escalated -> ticket.updated (any change of the ticket's fields); a
message.created -> message.customer or message.agent by its `from_agent` (internal
notes are note.created and trigger nothing; a new ticket's first message is a
message.customer too, after ticket.created); ticket.assigned; sla.at_risk; sla.breached.
The engine's own automation.applied / automation.webhook events trigger nothing.

Loops: every event records how deep in an automation chain it was made
(TicketEvent.automation_depth: 0 for people and the system). Changes an automation makes
while handling an event of depth n are recorded at depth n + 1; at MAX_DEPTH the rules
that match are not applied but recorded `loop_stopped`, with a WARNING log line.

Time rules: `time_rules_scan` (beat, every AUTOMATION_SCAN_SECONDS) selects, per active
time rule, the tickets that meet its conditions now and that the rule has not acted on
since their qualifying period began, in one query; the period begins at the latest
moment among the rule's hours_* anchors (created, updated, last customer message, last
agent reply). The claim is a RuleRun row unique per (rule, ticket, period), so two scans
never act twice; every qualifying ticket is handled in the scan that sees it (no cap).
A rule's own change (say its note bumps updated_at) does not open a new period: the
run row is newer than it. Time rules act at depth 1, like a first automation. Scans are
incremental from each rule's `scanned_until` (only the tickets that may have begun to
qualify since), with a full scan per rule at least every AUTOMATION_FULL_SCAN_MINUTES.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

from rules.automation import actions as action_module
from rules.automation.conditions import HOURS_ANCHORS, Facts, conditions_filter, conditions_hold
from rules.automation.schema import FIELDS, HOURS
from rules.models import AutomationRule, RuleRun
from tickets import lifecycle
from tickets.events import automation_depth, event_record
from tickets.models import Message, Ticket, TicketEvent

logger = logging.getLogger(__name__)

MAX_DEPTH = 3
# An incremental time scan looks back this far before the previous scan's moment, for
# changes whose transaction committed after that scan read (the anti-join skips repeats).
SCAN_OVERLAP = timedelta(minutes=2)
Trigger = AutomationRule.Trigger
# Event kinds -> the trigger they fire (message.created: by its author).
KIND_TRIGGERS = {
    "ticket.created": Trigger.TICKET_CREATED,
    "ticket.updated": Trigger.TICKET_UPDATED,
    "ticket.status_changed": Trigger.TICKET_UPDATED,
    "ticket.escalated": Trigger.TICKET_UPDATED,
    "ticket.assigned": Trigger.TICKET_ASSIGNED,
    "sla.at_risk": Trigger.SLA_AT_RISK,
    "sla.breached": Trigger.SLA_BREACHED,
    "message.created": None,  # message.customer or message.agent
}
EVENT_KINDS = tuple(KIND_TRIGGERS)


def trigger_of(event: TicketEvent) -> str:
    if event.kind == "message.created":
        return (
            Trigger.MESSAGE_AGENT if event.payload.get("from_agent") else Trigger.MESSAGE_CUSTOMER
        )
    return KIND_TRIGGERS[event.kind]


def _load_ticket(pk) -> Ticket | None:
    """The ticket with what the conditions read (customer, intelligence) in one query;
    None when it was deleted meanwhile."""
    return Ticket.objects.select_related("customer", "customer__intelligence").filter(pk=pk).first()


def _message_of(event: TicketEvent) -> Message | None:
    message_id = event.payload.get("message_id")
    return Message.objects.filter(pk=message_id).first() if message_id else None


def _facts(ticket: Ticket, message=None, now=None) -> Facts:
    return Facts(
        ticket=ticket, now=now or timezone.now(), body=message.content if message else None
    )


def rule_matches(
    *, rule: AutomationRule, ticket: Ticket, message=None, now=None, facts: Facts | None = None
) -> bool:
    """Whether the ticket (and the triggering message) meets the rule's conditions now.
    `facts` shares one snapshot between the rules of a run (the last message times are
    read once, when a condition first needs them)."""
    facts = facts or _facts(ticket, message, now)
    return conditions_hold(rule.conditions or {}, facts)


def rule_preview(*, rule: AutomationRule, ticket: Ticket, message=None) -> list[dict]:
    """What the rule would do to the ticket now: each action with `result` "would apply"
    or "skipped" (and `why`), or [] when the ticket (and message, for message triggers)
    does not meet its conditions. Writes nothing; `rule` may be unsaved."""
    if not rule_matches(rule=rule, ticket=ticket, message=message):
        return []
    return [action_module.action_preview(ticket=ticket, action=a) for a in rule.actions]


def time_rule_matches(rule: AutomationRule, now: datetime | None = None) -> QuerySet:
    """The organization's active tickets meeting the rule's conditions now."""
    tickets = Ticket.objects.filter(
        organization_id=rule.organization_id, status__in=lifecycle.ACTIVE_STATUSES
    )
    return conditions_filter(tickets, rule.conditions or {}, now)


def _record(
    rule,
    ticket,
    *,
    trigger,
    event=None,
    period_key="",
    depth,
    actions,
    outcome,
    error="",
    run: RuleRun | None = None,
) -> RuleRun:
    """The RuleRun (a time rule's claim row, filled in, or a new one) and its
    `automation.applied` event on the ticket's timeline."""
    fields = {"depth": depth, "actions": actions, "outcome": outcome, "error": error[:2000]}
    if run is None:
        run = RuleRun.objects.create(
            organization_id=rule.organization_id,
            rule=rule,
            ticket=ticket,
            trigger=trigger,
            event=event,
            period_key=period_key,
            **fields,
        )
    else:
        for name, value in fields.items():
            setattr(run, name, value)
        run.save(update_fields=list(fields))
    with automation_depth(depth):  # the run is part of the chain, like its changes
        event_record(
            kind="automation.applied",
            actor=None,
            actor_label=f"automation: {rule.name}"[:200],
            ticket=ticket,
            payload={
                "rule_id": str(rule.pk),
                "rule_name": rule.name,
                "run_id": run.pk,
                "trigger": trigger,
                "outcome": outcome,
                "actions": actions,
                "error": run.error,
            },
        )
    return run


def _execute(
    rule, ticket, *, trigger, depth, message=None, event=None, period_key="", run=None
) -> RuleRun:
    """Apply the rule's actions in a savepoint and record the run (applied or failed):
    a failing rule is undone alone, the rules after it still run."""
    try:
        with transaction.atomic():
            applied = action_module.actions_apply(
                ticket=ticket, actions=rule.actions, rule=rule, depth=depth, trigger_message=message
            )
    except Exception as exc:  # noqa: BLE001 - recorded on the run, the other rules go on
        logger.exception("automation %r (%s) failed on ticket %s", rule.name, rule.pk, ticket.pk)
        applied, outcome, error = [], RuleRun.Outcome.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        outcome, error = RuleRun.Outcome.APPLIED, ""
    return _record(
        rule,
        ticket,
        trigger=trigger,
        event=event,
        period_key=period_key,
        depth=depth,
        actions=applied,
        outcome=outcome,
        error=error,
        run=run,
    )


# Rule bodies (conditions, actions) by id, with the updated_at they were read at: a
# per-process cache, checked against the database on every event (see _active_rules).
_BODIES: dict = {}
_BODIES_MAX = 5000


def _active_rules(organization_id, trigger: str) -> list[AutomationRule]:
    """The organization's active rules for the trigger, in run order. Which rules and
    their versions (id, updated_at) are read on every event, a narrow query on the
    partial index automation_active_idx; the bodies come from a per-process cache keyed
    by that version and are read again only when a rule was edited (every save bumps
    updated_at), so an edit or a deactivation is seen by every process at once."""
    versions = list(
        AutomationRule.objects.filter(organization_id=organization_id, trigger=trigger, active=True)
        .order_by("position", "name", "pk")
        .values_list("pk", "updated_at")
    )
    stale = [pk for pk, at in versions if _BODIES.get(pk, (None,))[0] != at]
    if stale:
        if len(_BODIES) > _BODIES_MAX:
            _BODIES.clear()
        for rule in AutomationRule.objects.filter(pk__in=stale):
            _BODIES[rule.pk] = (rule.updated_at, rule)
    return [_BODIES[pk][1] for pk, _ in versions if pk in _BODIES]


def _already_ran(rule: AutomationRule, event: TicketEvent) -> str | None:
    """The outcome of this rule's earlier run for the event (an outbox re-run)."""
    return RuleRun.objects.filter(rule=rule, event=event).values_list("outcome", flat=True).first()


def _execute_once(rule, ticket, *, trigger, depth, message, event) -> RuleRun | None:
    """_execute for an event rule, at most once per (rule, event): the run row is unique
    per (rule, event), so on an outbox re-run its insert fails, the savepoint undoes
    the actions with it, and None is returned (the rule already ran). Checking first
    would cost a query on every event; this costs one only on a re-run."""
    try:
        with transaction.atomic():
            return _execute(
                rule, ticket, trigger=trigger, depth=depth, message=message, event=event
            )
    except IntegrityError:
        return None


def rules_run_for_event(event: TicketEvent) -> None:
    """The outbox handler: run the organization's active rules for this event's trigger,
    in position order, against the ticket as it is now (see the module docstring)."""
    if event.ticket_id is None or event.kind not in KIND_TRIGGERS:
        return
    trigger = trigger_of(event)
    rules = _active_rules(event.organization_id, trigger)
    if not rules:
        return
    ticket = _load_ticket(event.ticket_id)
    if ticket is None:  # deleted since
        return
    message = _message_of(event) if event.kind == "message.created" else None
    depth = event.automation_depth + 1
    facts = _facts(ticket, message)
    for rule in rules:
        if not rule_matches(rule=rule, ticket=ticket, facts=facts):
            continue
        if depth > MAX_DEPTH:
            logger.warning(
                "automation chain stopped: rule %r (%s) on ticket %s would run at depth %s "
                "(max %s); chain: event %s %s by %r",
                rule.name,
                rule.pk,
                ticket.pk,
                depth,
                MAX_DEPTH,
                event.pk,
                event.kind,
                event.actor_label,
            )
            try:
                with transaction.atomic():
                    _record(
                        rule,
                        ticket,
                        trigger=trigger,
                        event=event,
                        depth=depth,
                        actions=[],
                        outcome=RuleRun.Outcome.LOOP_STOPPED,
                        error=(
                            f"Stopped: an automation chain {MAX_DEPTH} deep "
                            f"(event {event.kind} by {event.actor_label})."
                        ),
                    )
            except IntegrityError:  # recorded by an earlier run of this event
                pass
            continue
        run = _execute_once(
            rule, ticket, trigger=trigger, depth=depth, message=message, event=event
        )
        outcome = run.outcome if run else _already_ran(rule, event)
        if outcome == RuleRun.Outcome.APPLIED:
            if rule.stop_processing:
                return
            if run is None:
                continue
            # The next rules see the ticket as this one left it.
            ticket = _load_ticket(ticket.pk)
            if ticket is None:
                return
            facts = _facts(ticket, message)


# --- Time rules -----------------------------------------------------------------------


def _anchor_fields(rule: AutomationRule) -> list[str]:
    fields = {
        HOURS_ANCHORS[c["field"]]
        for group in (rule.conditions or {}).values()
        for c in group
        if FIELDS[c["field"]].type == HOURS
    }
    return sorted(fields)


def _crossings(rule: AutomationRule, since: datetime, now: datetime) -> Q:
    """The tickets that may have begun to meet the rule's hours conditions after
    `since`: an anchor that crossed its threshold in (since, now] ("more than h hours":
    the anchor is in (since - h, now - h]; "less than h hours": it was set after
    `since`), or a ticket saved since (every field change bumps updated_at)."""
    q = Q(updated_at__gt=since)
    for group in (rule.conditions or {}).values():
        for c in group:
            if FIELDS[c["field"]].type != HOURS:
                continue
            column, hours = HOURS_ANCHORS[c["field"]], timedelta(hours=c["value"])
            if c["operator"] in ("gt", "gte"):
                q |= Q(**{f"{column}__gt": since - hours, f"{column}__lte": now - hours})
            else:
                q |= Q(**{f"{column}__gt": since})
    return q


def time_rule_due(
    rule: AutomationRule,
    now: datetime | None = None,
    *,
    since: datetime | None = None,
    changed: list | tuple = (),
) -> QuerySet:
    """The tickets the time rule should act on now: they meet its conditions and the
    rule has not acted on them since their qualifying period began (`period_at`, the
    latest of the rule's hours_* anchors). One query; the anti-join reads the partial
    unique index of rule_run_once_per_period (rule, ticket, ...).

    With `since` (an incremental scan), only the tickets that may have begun to qualify
    after it are looked at: an anchor crossing, a save, or an id in `changed` (the
    tickets with an event since, which covers tags and SLA states); each is a range on
    an index, so the scan costs what changed, not the size of the backlog."""
    now = now or timezone.now()
    anchors = _anchor_fields(rule)
    tickets = time_rule_matches(rule, now)
    if since is not None:
        window = _crossings(rule, since, now)
        if changed:
            window |= Q(pk__in=list(changed))
        tickets = tickets.filter(window)
    period = Greatest(*[F(a) for a in anchors]) if len(anchors) > 1 else F(anchors[0])
    tickets = tickets.annotate(period_at=period)
    acted = RuleRun.objects.filter(
        rule=rule,
        ticket_id=OuterRef("pk"),
        trigger=Trigger.TIME,
        created_at__gte=OuterRef("period_at"),
    )
    return tickets.filter(period_at__isnull=False).exclude(Exists(acted))


def _claim(rule: AutomationRule, ticket_id, key: str) -> RuleRun | None:
    """The run row for (rule, ticket, period), inserted first as the claim: the unique
    constraint rule_run_once_per_period makes a second scan (or an overlapping one)
    get nothing. None: already claimed."""
    try:
        with transaction.atomic():
            return RuleRun.objects.create(
                organization_id=rule.organization_id,
                rule=rule,
                ticket_id=ticket_id,
                trigger=Trigger.TIME,
                period_key=key,
                depth=1,
                outcome=RuleRun.Outcome.APPLIED,
            )
    except IntegrityError:
        return None


def _scan_since(rule: AutomationRule, full: bool) -> datetime | None:
    """Where an incremental scan of the rule starts (with an overlap for changes that
    committed late), or None for a full scan: asked for, never scanned, or edited since
    its last full scan."""
    if full or rule.scanned_until is None or rule.full_scan_at is None:
        return None
    if rule.updated_at > rule.full_scan_at:
        return None
    return rule.scanned_until - SCAN_OVERLAP


def _changed_tickets(organization_id, since: datetime) -> list:
    """The organization's tickets with an event since `since` (index event_org_kind_time)."""
    return list(
        TicketEvent.objects.filter(
            organization_id=organization_id,
            kind__in=TicketEvent.Kind.values,
            created_at__gt=since,
            ticket_id__isnull=False,
        )
        .values_list("ticket_id", flat=True)
        .distinct()
    )


def time_rule_run(
    rule: AutomationRule,
    now: datetime | None = None,
    *,
    full: bool = True,
    changed_for=None,
) -> int:
    """Act on every due ticket of the rule, no cap (a backlog is cleared, not carried
    over); returns how many it acted on. Each ticket commits on its own. `full=False`
    scans incrementally from the rule's last scan when it can (see _scan_since);
    `changed_for(organization_id, since)` supplies the changed tickets (shared by the
    rules of one scan)."""
    now = now or timezone.now()
    since = _scan_since(rule, full)
    changed = ()
    if since is not None:
        changed = (changed_for or _changed_tickets)(rule.organization_id, since)
    acted = 0
    due = time_rule_due(rule, now, since=since, changed=changed)
    for ticket_id, period_at in list(due.order_by("pk").values_list("pk", "period_at")):
        with transaction.atomic():
            run = _claim(rule, ticket_id, period_at.isoformat())
            ticket = _load_ticket(ticket_id) if run else None
            if ticket is None:
                continue
            _execute(rule, ticket, trigger=Trigger.TIME, depth=1, run=run)
            acted += 1
    marks = {"scanned_until": now}
    if since is None:
        marks["full_scan_at"] = now
    AutomationRule.objects.filter(pk=rule.pk).update(**marks)  # no history, no updated_at
    return acted


def time_rules_scan(now: datetime | None = None) -> int:
    """Every active time rule of every organization, in position order (one query for
    the rules, one per organization for the tickets changed since the last scan, one
    per rule for its due tickets). Returns the number of (rule, ticket) executions.

    Scans are incremental (time_rule_due's `since`); what no event or save records (a
    customer's tier or intelligence changing) is caught by a full scan, which each rule
    gets at least every AUTOMATION_FULL_SCAN_MINUTES, one rule per beat (the one whose
    full scan is oldest), so no beat pays for more than one full scan."""
    now = now or timezone.now()
    rules = list(
        AutomationRule.objects.filter(trigger=Trigger.TIME, active=True).order_by(
            "organization_id", "position", "name"
        )
    )
    stale = now - timedelta(minutes=settings.AUTOMATION_FULL_SCAN_MINUTES)
    overdue = [r for r in rules if r.full_scan_at is not None and r.full_scan_at <= stale]
    rotation = min(overdue, key=lambda r: r.full_scan_at, default=None)
    changed: dict = {}

    def changed_for(organization_id, since):
        key = (organization_id, since)
        if key not in changed:
            changed[key] = _changed_tickets(organization_id, since)
        return changed[key]

    return sum(
        time_rule_run(rule, now, full=rule is rotation, changed_for=changed_for) for rule in rules
    )
