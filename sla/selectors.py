"""Reads of SLA state: the `sla` block of tickets, deadline explanations, urgency."""

import json
from datetime import datetime

from django.db import connections, router
from django.db.models import OuterRef, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from agents.json_rows import json_rows
from sla.business_time import Calendar
from sla.calendars import calendar_of, calendar_spec
from sla.models import BusinessCalendar, SLAClock, SLAEvent, SLAPolicy
from sla.policies import policy_match_reason
from tickets.models import Ticket


def clock_remaining(clock: SLAClock, cal: Calendar, now: datetime) -> float | None:
    """Business seconds left before the deadline (0 once breached; None if met)."""
    if not clock.is_open:
        return None
    if clock.status == SLAClock.Status.BREACHED:
        return 0.0
    if clock.status == SLAClock.Status.PAUSED:
        return max(clock.target_seconds - clock.consumed_seconds, 0.0)
    if clock.due_at is None or clock.due_at <= now:
        return 0.0
    return cal.seconds_between(now, clock.due_at)


def clock_urgency(clock: SLAClock, cal: Calendar, now: datetime) -> float:
    """0 (just started) .. 1 (due now or breached)."""
    if clock.status == SLAClock.Status.BREACHED:
        return 1.0
    remaining = clock_remaining(clock, cal, now)
    if remaining is None or not clock.target_seconds:
        return 0.0
    return min(max(1 - remaining / clock.target_seconds, 0.0), 1.0)


def metric_item(clock: SLAClock, now: datetime) -> dict:
    cal = calendar_of(clock.policy)
    remaining = clock_remaining(clock, cal, now)
    return {
        "metric": clock.metric,
        "status": clock.status,
        "at_risk": clock.at_risk_at is not None and clock.status == SLAClock.Status.ACTIVE,
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "target_minutes": round(clock.target_seconds / 60, 2),
        "business_seconds_remaining": None if remaining is None else round(remaining),
        "breached_at": clock.breached_at,
        "met_at": clock.met_at,
        "paused_at": clock.paused_at,
    }


def _policy_item(policy) -> dict | None:
    return {"id": policy.pk, "name": policy.name} if policy is not None else None


PAGE_CACHE = "_sla_open_clocks"
# What a page's blocks and urgencies read of an open clock: read as plain rows (values()),
# with its policy's name and calendar snapshot, not as three model instances per clock
# (the policy alone has five JSON columns of matching rules).
OPEN_CLOCK_COLUMNS = (
    "ticket_id",
    "metric",
    "status",
    "is_open",
    "target_seconds",
    "consumed_seconds",
    "started_at",
    "segment_started_at",
    "due_at",
    "at_risk_at",
    "breached_at",
    "met_at",
    "paused_at",
    "policy_id",
    "policy__name",
    "policy__calendar_id",
    "policy__calendar__updated_at",
)


class _CalendarRef:
    """A calendar as calendars.calendar_build reads it; the snapshot (JSON text) is parsed
    only if the built calendar is not cached for this version already."""

    def __init__(self, pk, updated_at, spec_text):
        self.pk, self.updated_at, self._spec_text = pk, updated_at, spec_text

    @property
    def spec(self) -> dict:
        spec = json.loads(self._spec_text) if self._spec_text else {}
        # No snapshot yet: from the calendar's rows, as calendar_build does for a model.
        return spec or calendar_spec(BusinessCalendar.objects.get(pk=self.pk))


class _PolicyRef:
    def __init__(self, pk, name, calendar):
        self.pk, self.name, self.calendar = pk, name, calendar


class PageClock:
    """An open clock of a page: SLAClock's attributes in OPEN_CLOCK_COLUMNS, and `policy`
    (pk, name, calendar), shared by the page's clocks of one policy."""

    def __init__(self, row: dict, policy):
        self.__dict__.update(row)
        self.policy = policy


# The same read as one fixed statement on PostgreSQL (the ids as one array parameter):
# building and compiling the ORM query cost more than running it.
OPEN_CLOCKS_SQL = f"""
SELECT k.ticket_id, k.metric, k.status, k.is_open, k.target_seconds, k.consumed_seconds,
       k.started_at, k.segment_started_at, k.due_at, k.at_risk_at, k.breached_at, k.met_at,
       k.paused_at, k.policy_id, p.name, p.calendar_id, c.updated_at, c.spec::text
  FROM {SLAClock._meta.db_table} k
  LEFT JOIN {SLAPolicy._meta.db_table} p ON p.id = k.policy_id
  LEFT JOIN {BusinessCalendar._meta.db_table} c ON c.id = p.calendar_id
 WHERE k.is_open AND k.ticket_id = ANY(%s)
 ORDER BY k.ticket_id, k.metric
"""


def _open_clock_rows(ticket_ids: list):
    """The open clocks of these tickets as dicts of OPEN_CLOCK_COLUMNS and `spec_text`."""
    alias = router.db_for_read(SLAClock)
    db = connections[alias]
    if db.vendor == "postgresql":
        names = (*OPEN_CLOCK_COLUMNS, "spec_text")
        with db.cursor() as cursor:
            cursor.execute(OPEN_CLOCKS_SQL, [ticket_ids])
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return list(_open_clock_rows_orm(alias, ticket_ids))


def _open_clock_rows_orm(alias: str, ticket_ids: list):
    return (
        SLAClock.objects.using(alias)
        .filter(ticket_id__in=ticket_ids, is_open=True)
        .annotate(spec_text=Cast("policy__calendar__spec", TextField()))
        .order_by("ticket_id", "metric")
        .values(*OPEN_CLOCK_COLUMNS, "spec_text")
    )


def open_clocks_for(tickets: list) -> list:
    """The open clocks of a page of tickets, fetched once per page (one query) and kept on
    the ticket objects, so scoring and the `sla` block share them."""
    missing = [t for t in tickets if not hasattr(t, PAGE_CACHE)]
    if missing:
        by_ticket: dict = {t.pk: [] for t in missing}
        policies: dict = {}
        for row in _open_clock_rows(list(by_ticket)):
            policy_id = row.pop("policy_id")
            name, calendar_id = row.pop("policy__name"), row.pop("policy__calendar_id")
            updated_at, spec_text = row.pop("policy__calendar__updated_at"), row.pop("spec_text")
            if policy_id is not None and policy_id not in policies:
                calendar = _CalendarRef(calendar_id, updated_at, spec_text) if calendar_id else None
                policies[policy_id] = _PolicyRef(policy_id, name, calendar)
            by_ticket[row["ticket_id"]].append(PageClock(row, policies.get(policy_id)))
        for ticket in missing:
            setattr(ticket, PAGE_CACHE, by_ticket[ticket.pk])
    return [clock for t in tickets for clock in getattr(t, PAGE_CACHE)]


def sla_blocks(tickets: list[Ticket], now: datetime | None = None) -> dict:
    """`{ticket_id: sla block}` for a page of tickets (at most one query)."""
    now = now or timezone.now()
    blocks = {
        t.pk: {
            "policy": None,
            "status": t.sla_status or None,
            "next_due_at": t.sla_due_at,
            "metrics": [],
        }
        for t in tickets
    }
    for clock in open_clocks_for(tickets):
        block = blocks[clock.ticket_id]
        block["policy"] = block["policy"] or _policy_item(clock.policy)
        block["metrics"].append(metric_item(clock, now))
    return blocks


def _segments(events: list[dict] | None) -> list[dict]:
    """When the clock was paused and resumed, from its pause events ({id, kind, at})."""
    pauses, paused_at = [], None
    for event in sorted(events or (), key=lambda e: (e["at"] or "", e["id"])):
        if event["kind"] == "paused":
            paused_at = event["at"]
        elif event["kind"] == "resumed" and paused_at:
            pauses.append({"paused_at": paused_at, "resumed_at": event["at"]})
            paused_at = None
    if paused_at:
        pauses.append({"paused_at": paused_at, "resumed_at": None})
    return pauses


def sla_detail(ticket: Ticket, now: datetime | None = None) -> dict:
    """The ticket's SLA block with why each deadline is what it is (one query: each clock
    carries its pause events)."""
    now = now or timezone.now()
    clocks = list(
        SLAClock.objects.filter(ticket=ticket)
        .select_related("policy__calendar")
        .annotate(
            pause_events=json_rows(
                SLAEvent.objects.filter(clock=OuterRef("pk"), kind__in=("paused", "resumed")),
                group_by="clock",
                id="id",
                kind="kind",
                at=KT("payload__at"),
            )
        )
        .order_by("started_at", "id")
    )
    open_clocks = [c for c in clocks if c.is_open]
    policy = next((c.policy for c in reversed(open_clocks or clocks) if c.policy), None)
    explanations = []
    for clock in clocks:
        cal = calendar_of(clock.policy)
        item = {
            "metric": clock.metric,
            "status": clock.status,
            "policy": clock.policy.name if clock.policy else None,
            "calendar": clock.policy.calendar.name
            if clock.policy and clock.policy.calendar
            else "24/7",
            "timezone": cal.timezone,
            "target_minutes": round(clock.target_seconds / 60, 2),
            "started_at": clock.started_at,
            "due_at": clock.due_at,
            "pauses": _segments(clock.pause_events),
            "consumed_business_seconds": round(
                clock.consumed_seconds
                + (
                    cal.seconds_between(clock.segment_started_at, now)
                    if clock.segment_started_at and clock.status in ("active", "breached")
                    else 0
                )
            ),
        }
        if clock.status == SLAClock.Status.ACTIVE and clock.segment_started_at and clock.due_at:
            remaining = max(clock.target_seconds - clock.consumed_seconds, 0)
            why = cal.explain(clock.segment_started_at, remaining)
            item["intervals"] = why["intervals"]
            item["skipped"] = why["skipped"]
        explanations.append(item)
    return {
        "policy": _policy_item(policy),
        "policy_reason": policy_match_reason(policy, ticket) if policy else "no policy matches",
        "status": ticket.sla_status or None,
        "next_due_at": ticket.sla_due_at,
        "metrics": [metric_item(c, now) for c in open_clocks],
        "history": [metric_item(c, now) for c in clocks if not c.is_open],
        "explanation": explanations,
    }


def sla_urgency(ticket_ids: list, now: datetime | None = None) -> dict:
    """`{ticket_id: 0..1}`: how close the nearest deadline is (1 = breached)."""
    clocks = SLAClock.objects.filter(ticket_id__in=ticket_ids, is_open=True).select_related(
        "policy__calendar"
    )
    return _urgency(clocks, now or timezone.now())


def sla_urgency_for_tickets(tickets: list[Ticket], now: datetime | None = None) -> dict:
    """Like sla_urgency, sharing the page's clock query with the `sla` block."""
    return _urgency(open_clocks_for(tickets), now or timezone.now())


def _urgency(clocks, now: datetime) -> dict:
    urgency: dict = {}
    for clock in clocks:
        value = clock_urgency(clock, calendar_of(clock.policy), now)
        urgency[clock.ticket_id] = max(urgency.get(clock.ticket_id, 0.0), value)
    return urgency
