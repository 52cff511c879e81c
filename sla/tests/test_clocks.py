"""SLA clock semantics, scenario by scenario, with frozen time (New York office hours
Mon-Fri 09:00-17:00, US holidays, unless said otherwise)."""

from datetime import UTC, datetime

import pytest

from sla.models import SLAClock, SLAEvent
from sla.policies import policy_save
from sla.tests.conftest import NY, dispatch_all
from tickets.services import message_add, ticket_transition, ticket_update


def ny(*args):
    return datetime(*args, tzinfo=NY)


def clock(ticket, metric, *, open_only=True):
    clocks = SLAClock.objects.filter(ticket=ticket, metric=metric)
    if open_only:
        clocks = clocks.filter(is_open=True)
    return clocks.order_by("-started_at").first()


pytestmark = pytest.mark.django_db


def test_friday_afternoon_ticket_is_due_monday_morning(standard_policy, make_ticket, at):
    with at(2026, 11, 20, 16, 30):
        ticket = make_ticket()
        dispatch_all()
    first = clock(ticket, "first_response")
    assert first.status == "active" and first.due_at == ny(2026, 11, 23, 9, 30)
    assert first.at_risk_due_at == ny(2026, 11, 23, 9, 18)  # 80% of 60 min
    # 8 business hours: 30 min on Friday, 7.5 h on Monday.
    assert clock(ticket, "resolution").due_at == ny(2026, 11, 23, 16, 30)
    ticket.refresh_from_db()
    assert ticket.sla_status == "active" and ticket.sla_due_at == ny(2026, 11, 23, 9, 30)


def test_public_holiday_is_skipped(standard_policy, make_ticket, at):
    with at(2026, 11, 25, 16, 30):  # Wednesday before Thanksgiving
        ticket = make_ticket()
        dispatch_all()
    assert clock(ticket, "first_response").due_at == ny(2026, 11, 27, 9, 30)


def test_dst_week(standard_policy, make_ticket, at):
    with at(2026, 10, 30, 16, 0):  # Friday; DST ends on Sunday
        ticket = make_ticket()
        dispatch_all()
    resolution = clock(ticket, "resolution")
    # 1 h on Friday + 7 h on Monday (EST now) -> Monday 16:00 EST = 21:00 UTC.
    assert resolution.due_at == datetime(2026, 11, 2, 21, 0, tzinfo=UTC)


def test_first_reply_meets_first_response(standard_policy, make_ticket, agent, at):
    with at(2026, 11, 23, 9, 0):
        ticket = make_ticket()
        dispatch_all()
    with at(2026, 11, 23, 9, 40):
        message_add(ticket=ticket, content="On it", from_agent=True, actor=agent)
        dispatch_all()
    first = clock(ticket, "first_response", open_only=False)
    assert (first.status, first.met_at, first.is_open) == ("met", ny(2026, 11, 23, 9, 40), False)
    assert first.consumed_seconds == 40 * 60


def test_pending_pauses_and_customer_reply_resumes(standard_policy, make_ticket, agent, at):
    with at(2026, 11, 23, 9, 0):
        ticket = make_ticket()
        dispatch_all()
    with at(2026, 11, 23, 10, 0):  # the agent answers: waiting on the customer
        message_add(ticket=ticket, content="Which size?", from_agent=True, actor=agent)
        dispatch_all()
    resolution = clock(ticket, "resolution")
    assert resolution.status == "paused" and resolution.due_at is None
    assert resolution.consumed_seconds == 3600
    ticket.refresh_from_db()
    assert ticket.sla_status == "paused"
    with at(2026, 11, 23, 13, 0):  # the customer answers three hours later
        message_add(ticket=ticket, content="Medium", from_agent=False, actor=None)
        dispatch_all()
    resolution = clock(ticket, "resolution")
    # 7 business hours left from 13:00: 4 today, 3 tomorrow -> Tuesday 12:00.
    assert resolution.status == "active" and resolution.due_at == ny(2026, 11, 24, 12, 0)
    events = list(SLAEvent.objects.filter(clock=resolution).values_list("kind", flat=True))
    assert "paused" in events and "resumed" in events


def test_next_response_cycles(standard_policy, make_ticket, agent, at):
    with at(2026, 11, 23, 9, 0):
        ticket = make_ticket()
        dispatch_all()
    with at(2026, 11, 23, 9, 30):
        message_add(ticket=ticket, content="Hi", from_agent=True, actor=agent)
        dispatch_all()
    assert clock(ticket, "next_response") is None  # nobody waits on us
    with at(2026, 11, 23, 10, 0):
        message_add(ticket=ticket, content="Still broken", from_agent=False, actor=None)
        dispatch_all()
    cycle1 = clock(ticket, "next_response")
    assert cycle1.started_at == ny(2026, 11, 23, 10, 0) and cycle1.due_at == ny(2026, 11, 23, 12)
    with at(2026, 11, 23, 11, 0):
        message_add(ticket=ticket, content="Try this", from_agent=True, actor=agent)
        dispatch_all()
    cycle1.refresh_from_db()
    assert (cycle1.status, cycle1.met_at) == ("met", ny(2026, 11, 23, 11, 0))
    with at(2026, 11, 23, 16, 0):
        message_add(ticket=ticket, content="No luck", from_agent=False, actor=None)
        dispatch_all()
    cycle2 = clock(ticket, "next_response")
    # 2 business hours from 16:00: 1 today, 1 tomorrow.
    assert cycle2.pk != cycle1.pk and cycle2.due_at == ny(2026, 11, 24, 10, 0)
    assert SLAClock.objects.filter(ticket=ticket, metric="next_response").count() == 2


def test_resolving_fulfils_and_reopening_restarts_resolution(
    standard_policy, make_ticket, agent, at
):
    with at(2026, 11, 23, 9, 0):
        ticket = make_ticket()
        dispatch_all()
    with at(2026, 11, 23, 11, 0):
        ticket_transition(ticket=ticket, to_status="resolved", actor=agent)
        dispatch_all()
    first_round = clock(ticket, "resolution", open_only=False)
    assert (first_round.status, first_round.met_at) == ("met", ny(2026, 11, 23, 11, 0))
    assert not SLAClock.objects.filter(ticket=ticket, is_open=True).exists()
    ticket.refresh_from_db()
    assert ticket.sla_status == "" and ticket.sla_due_at is None
    with at(2026, 11, 24, 9, 0):
        message_add(ticket=ticket, content="It broke again", from_agent=False, actor=None)
        dispatch_all()
    again = clock(ticket, "resolution")
    assert again.pk != first_round.pk
    assert again.started_at == ny(2026, 11, 24, 9, 0) and again.due_at == ny(2026, 11, 24, 17)


def test_priority_change_rematches_and_keeps_elapsed_time(
    organization, standard_policy, make_ticket, agent, at
):
    policy_save(
        organization=organization,
        data={
            "name": "Urgent 24/7",
            "position": 10,
            "priorities": ["urgent"],
            "first_response_minutes": 120,
            "resolution_minutes": 240,
            "calendar": None,
        },
        actor=None,
    )
    with at(2026, 11, 20, 16, 30):  # Friday 16:30, standard: first response due Monday
        ticket = make_ticket()
        dispatch_all()
    with at(2026, 11, 20, 17, 30):  # one hour later (30 business minutes consumed)
        ticket_update(ticket=ticket, priority="urgent", actor=agent)
        dispatch_all()
    first = clock(ticket, "first_response")
    assert first.policy.name == "Urgent 24/7"
    assert first.consumed_seconds == 30 * 60
    # 120 - 30 = 90 minutes left on a 24/7 clock from 17:30 -> 19:00 the same day.
    assert first.due_at == ny(2026, 11, 20, 19, 0)
    assert SLAEvent.objects.filter(clock=first, kind="recomputed").exists()


def test_always_open_policy(organization, make_ticket, at):
    policy_save(
        organization=organization,
        data={"name": "24/7", "first_response_minutes": 90, "calendar": None},
        actor=None,
    )
    with at(2026, 11, 21, 23, 0):  # Saturday night
        ticket = make_ticket()
        dispatch_all()
    assert clock(ticket, "first_response").due_at == ny(2026, 11, 22, 0, 30)


def test_first_matching_policy_by_position_wins(organization, ny_calendar, make_ticket, at):
    policy_save(
        organization=organization,
        data={"name": "Chat", "position": 5, "channels": ["chat"], "first_response_minutes": 10},
        actor=None,
    )
    policy_save(
        organization=organization,
        data={"name": "Everything", "position": 50, "first_response_minutes": 600},
        actor=None,
    )
    with at(2026, 11, 23, 12, 0):
        chat = make_ticket(channel="chat")
        mail = make_ticket(channel="email")
        dispatch_all()
    assert clock(chat, "first_response").policy.name == "Chat"
    assert clock(mail, "first_response").policy.name == "Everything"


def test_late_event_processing_gives_the_same_clocks(standard_policy, make_ticket, agent, at):
    """Handlers may run long after the facts (a broker outage): clocks still tell the
    truth, because they follow the ticket's recorded timestamps."""
    with at(2026, 11, 23, 9, 0):
        ticket = make_ticket()
    with at(2026, 11, 23, 9, 20):
        message_add(ticket=ticket, content="Answer", from_agent=True, actor=agent)
    with at(2026, 11, 23, 10, 0):
        ticket_transition(ticket=ticket, to_status="closed", actor=agent)
    with at(2026, 11, 30, 12, 0):  # a week later the worker catches up
        dispatch_all()
    first = clock(ticket, "first_response", open_only=False)
    resolution = clock(ticket, "resolution", open_only=False)
    assert (first.status, first.met_at) == ("met", ny(2026, 11, 23, 9, 20))
    assert (resolution.status, resolution.met_at) == ("met", ny(2026, 11, 23, 10, 0))


def test_reply_after_the_deadline_is_a_breach_even_before_the_scan(
    standard_policy, make_ticket, agent, at
):
    with at(2026, 11, 23, 9, 0):
        ticket = make_ticket()
        dispatch_all()
    with at(2026, 11, 23, 10, 30):  # due 10:00; no scan ran in between
        message_add(ticket=ticket, content="Sorry for the wait", from_agent=True, actor=agent)
        dispatch_all()
    first = clock(ticket, "first_response", open_only=False)
    assert (first.status, first.breached_at, first.met_at) == (
        "breached",
        ny(2026, 11, 23, 10, 0),
        ny(2026, 11, 23, 10, 30),
    )


def test_going_pending_after_a_missed_deadline_is_a_breach_that_sticks(
    standard_policy, make_ticket, agent, at
):
    """The resolution clock was overdue (no scan yet) when the ticket went pending: it is
    breached, not paused, and later events do not trip over that breach (they used to
    fail on every delivery: the breach event was written, the clock not saved)."""
    with at(2026, 11, 23, 9, 0):
        ticket = make_ticket()
        dispatch_all()
    with at(2026, 11, 24, 10, 0):  # resolution was due Monday 17:00
        message_add(ticket=ticket, content="Which size?", from_agent=True, actor=agent)
        dispatch_all()
    resolution = clock(ticket, "resolution")
    assert resolution.status == "breached"
    assert resolution.breached_at == ny(2026, 11, 23, 17, 0)
    with at(2026, 11, 24, 11, 0):
        message_add(ticket=ticket, content="Medium", from_agent=False, actor=None)
        dispatch_all()  # fails the test if a delivery failed
    assert clock(ticket, "resolution").status == "breached"
