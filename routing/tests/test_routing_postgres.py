"""Routing under real concurrency: PostgreSQL row locks keep capacity and the
round-robin ring exact when tickets arrive at the same moment."""

import threading
from collections import Counter

import pytest
from django.db import connection

from agents.tests.factories import AgentFactory, TeamFactory
from routing.models import TeamRouting
from routing.services import ticket_assign_manual, ticket_route
from tickets import lifecycle
from tickets.models import Assignment, Ticket
from tickets.services import ticket_create


def _team(organization, strategy, *, agents: int, capacity: int):
    team = TeamFactory(organization=organization, name=f"{strategy} team")
    TeamRouting.objects.create(team=team, organization=organization, strategy=strategy)
    members = []
    for i in range(agents):
        agent = AgentFactory(
            organization=organization,
            email=f"{strategy}{i}@acme.test",
            capacity=capacity,
            availability="available",
        )
        agent.teams.add(team)
        members.append(agent)
    return team, members


def _at_once(n, work):
    """Run `work(i)` in n threads released together; re-raise the first error."""
    barrier, errors = threading.Barrier(n), []

    def run(i):
        try:
            barrier.wait(timeout=30)
            work(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


def _open_load():
    return Counter(
        Ticket.objects.filter(
            status__in=lifecycle.ACTIVE_STATUSES, assignee__isnull=False
        ).values_list("assignee_id", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_twelve_tickets_created_at_once_fill_three_agents_of_capacity_two_exactly(
    require_postgres, organization, customer
):
    team, members = _team(organization, "least_loaded", agents=3, capacity=2)

    def create_and_route(i):
        ticket = ticket_create(
            organization=organization, customer=customer, subject=f"rush {i}", team=team, actor=None
        )
        ticket_route(ticket=ticket, trigger="creation")

    _at_once(12, create_and_route)

    load = _open_load()
    assert sum(load.values()) == 6
    assert load == {m.pk: 2 for m in members}
    assert Ticket.objects.filter(team=team, assignee__isnull=True).count() == 6
    assert Assignment.objects.filter(kind="auto", to_agent__isnull=False).count() == 6


@pytest.mark.django_db(transaction=True)
def test_round_robin_never_gives_two_concurrent_tickets_the_same_slot(
    require_postgres, organization, customer
):
    team, members = _team(organization, "round_robin", agents=3, capacity=10)
    tickets = [
        ticket_create(
            organization=organization, customer=customer, subject=f"rr {i}", team=team, actor=None
        )
        for i in range(9)
    ]

    _at_once(9, lambda i: ticket_route(ticket=tickets[i], trigger="creation"))

    assert _open_load() == {m.pk: 3 for m in members}
    # Consecutive assignments walk the ring: no agent twice in a row.
    order = list(
        Assignment.objects.filter(kind="auto").order_by("id").values_list("to_agent_id", flat=True)
    )
    assert all(a != b for a, b in zip(order, order[1:], strict=False))


@pytest.mark.django_db(transaction=True)
def test_manual_assignments_racing_for_a_last_slot_let_one_through(
    require_postgres, organization, customer
):
    team, (agent,) = _team(organization, "manual", agents=1, capacity=1)
    tickets = [
        ticket_create(organization=organization, customer=customer, subject=f"m {i}", actor=None)
        for i in range(6)
    ]
    outcomes = []

    def assign(i):
        try:
            ticket_assign_manual(ticket=tickets[i], agent_id=agent.pk, actor=None)
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001
            outcomes.append(type(exc).__name__)

    _at_once(6, assign)

    assert Counter(outcomes) == {"ok": 1, "Conflict": 5}
    assert _open_load() == {agent.pk: 1}
