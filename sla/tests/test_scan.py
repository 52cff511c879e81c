"""The breach scan: transitions, idempotency, escalation, concurrency, cost."""

import io
import threading
from datetime import datetime

import pytest
from django.core.management import call_command
from django.db import connection

from agents.tests.factories import AgentFactory, TeamFactory
from sla.models import SLAClock, SLAEvent, SLANotification
from sla.policies import policy_save
from sla.scan import sla_scan
from sla.tests.conftest import NY, dispatch_all
from tickets.models import TicketEvent
from tickets.tests.factories import TicketFactory


def ny(*args):
    return datetime(*args, tzinfo=NY)


@pytest.fixture
def escalating(organization, ny_calendar):
    team = TeamFactory(organization=organization, name="Escalations")
    policy = policy_save(
        organization=organization,
        data={
            "name": "Escalating",
            "first_response_minutes": 60,
            "calendar": ny_calendar.pk,
            "escalation": [
                {"on": "at_risk", "notify": True, "escalate": False},
                {
                    "on": "breached",
                    "raise_priority": True,
                    "escalate": True,
                    "assign_team": str(team.pk),
                },
            ],
        },
        actor=None,
    )
    return policy, team


@pytest.mark.django_db
def test_at_risk_then_breached_once_each(escalating, make_ticket, at):
    with at(2026, 11, 23, 9, 0):
        ticket = make_ticket()
        dispatch_all()
    with at(2026, 11, 23, 9, 47):  # 80% of 60 minutes used at 09:48
        assert sla_scan()["at_risk"] == 0
    with at(2026, 11, 23, 9, 50):
        assert sla_scan() == {"at_risk": 1, "breached": 0, "tickets": 1}
        assert sla_scan()["at_risk"] == 0  # idempotent
        dispatch_all()
    ticket.refresh_from_db()
    assert ticket.sla_status == "at_risk"
    first = SLAClock.objects.get(ticket=ticket, metric="first_response")
    assert first.at_risk_at == ny(2026, 11, 23, 9, 48)
    note = SLANotification.objects.get(ticket=ticket)
    assert note.kind == "at_risk" and "first response" in note.message
    with at(2026, 11, 23, 10, 5):
        assert sla_scan()["breached"] == 1
        assert sla_scan()["breached"] == 0
        dispatch_all()
        dispatch_all()  # a redelivered event escalates nothing twice
    first.refresh_from_db()
    assert (first.status, first.breached_at) == ("breached", ny(2026, 11, 23, 10, 0))
    kinds = sorted(SLAEvent.objects.filter(clock=first).values_list("kind", flat=True))
    assert kinds.count("at_risk") == 1 and kinds.count("breached") == 1
    assert TicketEvent.objects.filter(ticket=ticket, kind="sla.breached").count() == 1


@pytest.mark.django_db
def test_breach_escalates_once_with_history(escalating, make_ticket, at):
    _, team = escalating
    with at(2026, 11, 23, 9, 0):
        ticket = make_ticket(priority="normal")
        dispatch_all()
    with at(2026, 11, 23, 11, 0):
        sla_scan()
        dispatch_all()
        sla_scan()
        dispatch_all()
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.escalation_level, ticket.team) == ("high", 1, team)
    assert ticket.sla_status == "breached"
    reasons = list(ticket.history.values_list("history_change_reason", flat=True))
    assert "SLA first response breached" in reasons
    assert ticket.events.filter(kind="ticket.escalated").count() == 1


@pytest.mark.django_db
def test_assign_to_least_busy_manager(organization, ny_calendar, make_ticket, at):
    busy = AgentFactory(organization=organization, role="manager", name="Busy")
    free = AgentFactory(organization=organization, role="manager", name="Free")
    policy_save(
        organization=organization,
        data={
            "name": "To a manager",
            "first_response_minutes": 30,
            "calendar": None,
            "escalation": [{"on": "breached", "assign_manager": True, "escalate": False}],
        },
        actor=None,
    )
    # Busy already holds an open ticket (a bare row: no events, so no SLA clock of its own).
    TicketFactory(organization=organization, assignee=busy)
    with at(2026, 11, 23, 9, 0):
        ticket = make_ticket()
        dispatch_all()
    with at(2026, 11, 23, 9, 45):
        sla_scan()
        dispatch_all()
    ticket.refresh_from_db()
    assert ticket.assignee == free
    assert ticket.assignments.get().reason == "SLA first response breached"


@pytest.mark.django_db
def test_scan_cost_does_not_grow_with_due_clocks(
    standard_policy, make_ticket, at, django_assert_max_num_queries
):
    with at(2026, 11, 23, 9, 0):
        for _ in range(40):
            make_ticket()
        dispatch_all()
    with at(2026, 11, 23, 12, 0), django_assert_max_num_queries(14):
        result = sla_scan()
    assert result["breached"] == 40 and result["at_risk"] == 40


@pytest.mark.django_db
def test_management_command(standard_policy, make_ticket, at):
    with at(2026, 11, 23, 9, 0):
        make_ticket()
        dispatch_all()
    out = io.StringIO()
    with at(2026, 11, 23, 12, 0):
        call_command("sla_scan", stdout=out)
    assert out.getvalue().strip() == "at risk: 1, breached: 1"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_scans_write_no_duplicates(
    require_postgres, standard_policy, make_ticket, at
):
    with at(2026, 11, 23, 9, 0):
        for _ in range(20):
            make_ticket()
    for ticket_event in TicketEvent.objects.filter(handled_at__isnull=True):
        from tickets.events import event_dispatch

        event_dispatch(event_id=ticket_event.pk)
    results, barrier = [], threading.Barrier(2)

    def scan():
        try:
            barrier.wait()
            results.append(sla_scan(now=ny(2026, 11, 23, 12, 0)))
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["breached"] for r in results) == 20
    assert SLAEvent.objects.filter(kind="breached").count() == 20
    assert TicketEvent.objects.filter(kind="sla.breached").count() == 20
