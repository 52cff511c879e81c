"""Per-ticket SLA clocks, kept in step with the ticket (`sla_reconcile`).

Semantics (README "SLA"):
- first response starts when the ticket is created and is fulfilled by the first public
  agent reply (`ticket.first_response_at`);
- next response starts at the first customer message after an agent reply and is
  fulfilled by the next public agent reply; each such exchange is a new clock (cycle);
- resolution starts when the ticket is created and is fulfilled when it is resolved or
  closed; reopening starts a new resolution clock with the full target;
- resolving or closing fulfils every open clock;
- while the ticket is pending, the policy's `pause_on_pending` metrics are paused; when it
  leaves pending they resume (at the time of the status change);
- a change of priority, channel or customer tier re-matches the policy: open clocks take
  the new policy's target and calendar and keep the business time already consumed.

`sla_reconcile` derives all of this from the ticket's current state and timestamps, so
it is idempotent and indifferent to the order in which events are handled.
"""

from datetime import datetime

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from sla.business_time import Calendar
from sla.calendars import calendar_of
from sla.models import SLAClock, SLAEvent, SLAPolicy
from sla.policies import policies_for, policy_match
from tickets import lifecycle
from tickets.models import SLA_STATUS_RANK, Message, SlaStatus, Ticket

ACTIVE, PAUSED = SLAClock.Status.ACTIVE, SLAClock.Status.PAUSED
MET, BREACHED = SLAClock.Status.MET, SLAClock.Status.BREACHED


def _event(clock: SLAClock, kind: str, at: datetime, **payload) -> None:
    SLAEvent.objects.create(
        organization_id=clock.organization_id,
        ticket_id=clock.ticket_id,
        clock=clock,
        kind=kind,
        payload={"at": at.isoformat(), "metric": clock.metric, **payload},
    )


def consumed_at(clock: SLAClock, cal: Calendar, at: datetime) -> float:
    """Business seconds the clock has consumed up to `at`."""
    consumed = clock.consumed_seconds
    if clock.segment_started_at is not None and clock.status in (ACTIVE, BREACHED):
        consumed += cal.seconds_between(clock.segment_started_at, at)
    return consumed


def _schedule(clock: SLAClock, cal: Calendar, policy: SLAPolicy, at: datetime) -> None:
    """Due and at-risk instants of a running clock from `at` (its segment start)."""
    remaining = max(clock.target_seconds - clock.consumed_seconds, 0)
    clock.due_at = cal.add(at, remaining)
    if clock.at_risk_at is None:
        threshold = clock.target_seconds * policy.at_risk_percent / 100
        clock.at_risk_due_at = cal.add(at, max(threshold - clock.consumed_seconds, 0))
    else:
        clock.at_risk_due_at = None


def _breach_if_overdue(clock: SLAClock, at: datetime) -> bool:
    """A clock stopped after its deadline was breached at the deadline, even if the scan
    had not run yet. True if it was marked breached now (the caller saves it)."""
    if clock.status == ACTIVE and clock.due_at is not None and at > clock.due_at:
        clock.status = BREACHED
        clock.breached_at = clock.due_at
        if clock.at_risk_at is None:
            clock.at_risk_at = clock.at_risk_due_at or clock.due_at
        _event(clock, "breached", clock.due_at, due_at=clock.due_at.isoformat())
        return True
    return False


def clock_start(
    *, ticket: Ticket, policy: SLAPolicy, metric: str, at: datetime, cal: Calendar
) -> SLAClock | None:
    minutes = policy.target_minutes(metric)
    if not minutes:
        return None
    clock = SLAClock(
        organization_id=ticket.organization_id,
        ticket=ticket,
        policy=policy,
        metric=metric,
        status=ACTIVE,
        target_seconds=minutes * 60,
        started_at=at,
        segment_started_at=at,
    )
    _schedule(clock, cal, policy, at)
    clock.save()
    _event(clock, "started", at, due_at=clock.due_at.isoformat(), policy=policy.name)
    return clock


def clock_pause(clock: SLAClock, cal: Calendar, at: datetime) -> None:
    if _breach_if_overdue(clock, at):
        clock.save()  # breached, not paused: a breach is not undone by waiting
    if clock.status != ACTIVE:
        return
    clock.consumed_seconds = consumed_at(clock, cal, at)
    clock.status, clock.paused_at, clock.segment_started_at = PAUSED, at, None
    clock.due_at = clock.at_risk_due_at = None
    clock.save()
    _event(clock, "paused", at, consumed_seconds=clock.consumed_seconds)


def clock_resume(clock: SLAClock, cal: Calendar, policy: SLAPolicy, at: datetime) -> None:
    if clock.status != PAUSED:
        return
    clock.status, clock.paused_at, clock.segment_started_at = ACTIVE, None, at
    _schedule(clock, cal, policy, at)
    clock.save()
    _event(clock, "resumed", at, due_at=clock.due_at.isoformat())


def clock_meet(clock: SLAClock, cal: Calendar, at: datetime) -> None:
    if not clock.is_open:
        return
    _breach_if_overdue(clock, at)
    clock.consumed_seconds = consumed_at(clock, cal, at)
    if clock.status in (ACTIVE, PAUSED):
        clock.status = MET
    clock.is_open, clock.met_at, clock.segment_started_at = False, at, None
    clock.paused_at = None
    clock.at_risk_due_at = None  # due_at is kept: the deadline that was met (or missed)
    clock.save()
    _event(clock, "met", at, breached=clock.status == BREACHED)


def clock_rematch(
    clock: SLAClock, policy: SLAPolicy | None, old_cal: Calendar, at: datetime
) -> None:
    """Move an open clock to another policy, keeping the business time consumed."""
    _breach_if_overdue(clock, at)
    consumed = consumed_at(clock, old_cal, at)
    minutes = policy.target_minutes(clock.metric) if policy else None
    if not minutes:  # the metric no longer applies to this ticket
        clock.consumed_seconds, clock.is_open = consumed, False
        if clock.status == ACTIVE:
            clock.status = PAUSED
        clock.segment_started_at = clock.due_at = clock.at_risk_due_at = None
        clock.save()
        _event(clock, "cancelled", at, reason="no target under the matching policy")
        return
    old = clock.policy.name if clock.policy else None
    clock.policy, clock.target_seconds, clock.consumed_seconds = policy, minutes * 60, consumed
    if clock.status in (ACTIVE, BREACHED):
        clock.segment_started_at = at
    if clock.status == ACTIVE:
        _schedule(clock, calendar_of(policy), policy, at)
    clock.save()
    _event(
        clock,
        "recomputed",
        at,
        from_policy=old,
        to_policy=policy.name,
        due_at=clock.due_at.isoformat() if clock.due_at else None,
    )


def _follow_policy_edits(clock: SLAClock, policy: SLAPolicy, cal: Calendar) -> None:
    minutes = policy.target_minutes(clock.metric)
    if not minutes or clock.status in (MET, BREACHED):
        return
    target = minutes * 60
    changed = target != clock.target_seconds
    clock.target_seconds = target
    due, at_risk_due = clock.due_at, clock.at_risk_due_at
    if clock.status == ACTIVE and clock.segment_started_at is not None:
        _schedule(clock, cal, policy, clock.segment_started_at)
        changed = changed or (clock.due_at, clock.at_risk_due_at) != (due, at_risk_due)
    if changed:
        clock.save()
        _event(
            clock,
            "recomputed",
            clock.segment_started_at or clock.started_at,
            reason="policy or calendar edited",
            due_at=clock.due_at.isoformat() if clock.due_at else None,
        )


def _first_agent_reply_after(ticket: Ticket, since: datetime) -> datetime | None:
    return Message.objects.filter(
        ticket=ticket,
        from_agent=True,
        is_internal=False,
        sent_to_customer=True,
        created_at__gte=since,
    ).aggregate(at=Min("created_at"))["at"]


def _customer_waiting_since(ticket: Ticket) -> datetime | None:
    """The first customer message after the last public agent reply, if any."""
    last_reply = (
        Message.objects.filter(
            ticket=ticket, from_agent=True, is_internal=False, sent_to_customer=True
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last_reply is None:
        return None
    return Message.objects.filter(
        ticket=ticket, from_agent=False, created_at__gt=last_reply
    ).aggregate(at=Min("created_at"))["at"]


def sla_reconcile(*, ticket_id, at: datetime) -> Ticket | None:
    """Bring a ticket's clocks in line with its state. Call inside a transaction."""
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        return None
    policy = policy_match(ticket, policies_for(ticket.organization_id))
    clocks = list(
        SLAClock.objects.filter(ticket=ticket, is_open=True).select_related("policy__calendar")
    )
    for clock in clocks:
        if clock.policy_id != (policy.pk if policy else None):
            clock_rematch(clock, policy, calendar_of(clock.policy), at)
    if policy is not None:
        _reconcile_with_policy(ticket, policy, at)
    ticket_sla_summary_refresh(ticket_ids=[ticket.pk])
    return ticket


def _reconcile_with_policy(ticket: Ticket, policy: SLAPolicy, at: datetime) -> None:
    cal = calendar_of(policy)
    open_clocks = {
        c.metric: c for c in SLAClock.objects.filter(ticket=ticket, is_open=True, policy=policy)
    }
    existing = set(SLAClock.objects.filter(ticket=ticket).values_list("metric", flat=True))
    done = ticket.status in lifecycle.DONE_STATUSES
    done_at = ticket.resolved_at or ticket.closed_at or ticket.status_changed_at or at

    def start(metric: str, when: datetime) -> SLAClock | None:
        return clock_start(ticket=ticket, policy=policy, metric=metric, at=when, cal=cal)

    # First response: from creation to the first public agent reply (or the resolution).
    first = open_clocks.get("first_response")
    if first is None and "first_response" not in existing:
        first = start("first_response", ticket.created_at)
    if first is not None and first.is_open:
        if ticket.first_response_at is not None:
            clock_meet(first, cal, max(ticket.first_response_at, first.started_at))
        elif done:
            clock_meet(first, cal, max(done_at, first.started_at))

    # Resolution: from creation, or from the latest reopening; met when resolved/closed.
    resolution = open_clocks.get("resolution")
    if resolution is None and "resolution" not in existing:
        resolution = start("resolution", ticket.created_at)
    elif resolution is None and not done:
        resolution = start("resolution", ticket.status_changed_at or at)
    if resolution is not None and resolution.is_open and done:
        clock_meet(resolution, cal, max(done_at, resolution.started_at))

    # Next response: each customer message after an agent reply opens a cycle, met by
    # the next public agent reply.
    if policy.next_response_minutes:
        current = open_clocks.get("next_response")
        if current is not None:
            replied = _first_agent_reply_after(ticket, current.started_at)
            if replied is not None:
                clock_meet(current, cal, replied)
                current = None
            elif done:
                clock_meet(current, cal, max(done_at, current.started_at))
                current = None
        if current is None and not done and ticket.first_response_at is not None:
            waiting = _customer_waiting_since(ticket)
            already = (
                waiting is not None
                and SLAClock.objects.filter(
                    ticket=ticket, metric="next_response", started_at=waiting
                ).exists()
            )
            if waiting is not None and not already:
                start("next_response", waiting)
    if done:
        return

    # Targets and calendars can be edited: open clocks take the current ones, keeping
    # the business time already consumed.
    for clock in SLAClock.objects.filter(ticket=ticket, is_open=True, policy=policy):
        _follow_policy_edits(clock, policy, cal)

    # Pending pauses the configured metrics; leaving pending resumes them.
    changed_at = ticket.status_changed_at or at
    for clock in SLAClock.objects.filter(ticket=ticket, is_open=True, policy=policy):
        if clock.metric not in (policy.pause_on_pending or []):
            continue
        if ticket.status == lifecycle.PENDING:
            clock_pause(clock, cal, max(changed_at, clock.segment_started_at or changed_at))
        else:
            clock_resume(clock, cal, policy, max(changed_at, clock.paused_at or changed_at))


def ticket_sla_summary_refresh(*, ticket_ids: list) -> None:
    """Write each ticket's sla_status and next deadline from its open clocks."""
    summary = {pk: (SlaStatus.NONE, None) for pk in ticket_ids}
    rank = SLA_STATUS_RANK
    for clock in SLAClock.objects.filter(ticket_id__in=ticket_ids, is_open=True).only(
        "ticket_id", "status", "due_at", "at_risk_at"
    ):
        if clock.status == BREACHED:
            state = SlaStatus.BREACHED
        elif clock.status == ACTIVE:
            state = SlaStatus.AT_RISK if clock.at_risk_at else SlaStatus.ACTIVE
        else:
            state = SlaStatus.PAUSED
        current, due = summary[clock.ticket_id]
        if rank[state] > rank[current]:
            current = state
        if clock.due_at is not None and (due is None or clock.due_at < due):
            due = clock.due_at
        summary[clock.ticket_id] = (current, due)
    if connection.vendor == "postgresql" and len(summary) > 20:
        # One UPDATE over unnest(arrays): bulk_update's CASE WHEN is slow at scan sizes.
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE tickets_ticket AS t SET sla_status = v.state, sla_due_at = v.due
                FROM unnest(%s::uuid[], %s::text[], %s::timestamptz[]) AS v(id, state, due)
                WHERE t.id = v.id
                """,
                [list(summary), [v[0] for v in summary.values()], [v[1] for v in summary.values()]],
            )
        return
    rows = [Ticket(pk=pk, sla_status=state, sla_due_at=due) for pk, (state, due) in summary.items()]
    Ticket.objects.bulk_update(rows, ["sla_status", "sla_due_at"])


def sla_rematch(tickets) -> int:
    """Reconcile the clocks of the active tickets among `tickets` (after a policy,
    calendar or customer tier change); returns how many."""
    now = timezone.now()
    count = 0
    for ticket_id in (
        tickets.filter(status__in=lifecycle.ACTIVE_STATUSES).values_list("pk", flat=True).iterator()
    ):
        with transaction.atomic():
            sla_reconcile(ticket_id=ticket_id, at=now)
        count += 1
    return count
