"""A small support month (March 2026, organization in UTC) whose figures the tests
compute by hand. Rows are written directly with explicit timestamps.

Alice (capacity 4) and Bob (capacity 2) are in team Ops; Carol (inactive) too.

| ticket | assignee | created     | first response | resolved    | status      |
|--------|----------|-------------|----------------|-------------|-------------|
| t1     | alice    | 03-02 10:00 | 03-02 10:30    | 03-02 14:00 | resolved    |
| t2     | alice    | 03-03 09:00 | 03-03 10:00    | 03-04 09:00 | closed      |
| t3     | alice    | 03-05 08:00 | 03-05 08:10    | -           | open        |
| t4     | alice    | 02-20 08:00 | 02-20 08:01    | 03-10 08:00 | resolved    |
| t5     | bob      | 03-06 08:00 | -              | -           | open        |
| t6     | bob      | 03-07 08:00 | -              | -           | in_progress |
| t7     | bob, no team | 02-01   | -              | -           | pending     |

SLA clocks: t2 first response breached 03-03 09:30, fulfilled 10:00 (3000 business s);
t3 first response met 03-05 08:10 (300 s); t4 first response met 02-20 (60 s) and
resolution met 03-10 (7200 s).

Alice's first responses in March: t1 30 min (calendar), t2 50 min (business), t3 5 min
(business) -> p50 30, p90 30 + 0.8 * 20 = 46, mean 28.33. Resolutions in March: t1
4 h, t2 24 h (calendar), t4 2 h (business) -> p50 4, p90 4 + 0.8 * 20 = 20, mean 10.
"""

from datetime import UTC, datetime, timedelta

import pytest

from agents import roles
from agents.tests.factories import AgentFactory, TeamFactory
from intelligence.models import CustomerIntelligence
from sla.models import SLAClock
from tickets.models import Assignment, Message, Satisfaction, Ticket, TicketEvent
from tickets.services import customer_get_or_create


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Dataset:
    pass


def make_ticket_row(organization, customer, name, **fields):
    return Ticket.objects.create(
        organization=organization, customer=customer, subject=name, **fields
    )


def _event(ticket, when, old, new):
    event = TicketEvent.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        kind="ticket.status_changed",
        payload={"from": old, "to": new, "reason": ""},
    )
    TicketEvent.objects.filter(pk=event.pk).update(created_at=when, handled_at=when)


def _clock(ticket, metric, status, consumed, *, met_at=None, breached_at=None, started_at):
    return SLAClock.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        metric=metric,
        status=status,
        is_open=False,
        target_seconds=3600,
        started_at=started_at,
        consumed_seconds=consumed,
        met_at=met_at,
        breached_at=breached_at,
    )


def _reply(ticket, author, when, *, internal=False, from_agent=True):
    return Message.objects.create(
        organization_id=ticket.organization_id,
        ticket=ticket,
        content="reply",
        from_agent=from_agent,
        is_internal=internal,
        author_agent=author if from_agent else None,
        created_at=when,
    )


def _intelligence(organization, external_id, level):
    customer = customer_get_or_create(organization=organization, external_id=external_id)
    CustomerIntelligence.objects.create(
        customer=customer,
        organization=organization,
        churn_level=level,
        churn_score={"low": 0.1, "high": 0.7, "critical": 0.9}[level],
        fetched_at=at(3, 1),
    )


def build(organization) -> Dataset:
    d = Dataset()
    d.organization = organization
    d.team = TeamFactory(organization=organization, name="Ops")
    d.other_team = TeamFactory(organization=organization, name="Billing")
    d.alice = AgentFactory(
        organization=organization, name="Alice", email="alice@acme.test", capacity=4
    )
    d.bob = AgentFactory(organization=organization, name="Bob", email="bob@acme.test", capacity=2)
    d.carol = AgentFactory(
        organization=organization, name="Carol", email="carol@acme.test", capacity=10
    )
    d.carol.is_active = False
    d.carol.save(update_fields=["is_active"])
    d.manager = AgentFactory(
        organization=organization,
        name="Zed Manager",
        email="zed@acme.test",
        role=roles.MANAGER,
        capacity=0,
    )
    for agent in (d.alice, d.bob, d.carol):
        agent.teams.add(d.team)
    customer = customer_get_or_create(organization=organization, external_id="c-1", name="Ada")
    a, b, team = d.alice, d.bob, d.team
    d.t1 = make_ticket_row(
        organization, customer, "t1", assignee=a, team=team, status="resolved",
        created_at=at(3, 2, 10), first_response_at=at(3, 2, 10, 30), resolved_at=at(3, 2, 14),
    )  # fmt: skip
    d.t2 = make_ticket_row(
        organization, customer, "t2", assignee=a, team=team, status="closed", channel="chat",
        priority="high", created_at=at(3, 3, 9), first_response_at=at(3, 3, 10),
        resolved_at=at(3, 4, 9), closed_at=at(3, 4, 10),
    )  # fmt: skip
    d.t3 = make_ticket_row(
        organization, customer, "t3", assignee=a, team=team, status="open",
        created_at=at(3, 5, 8), first_response_at=at(3, 5, 8, 10),
    )  # fmt: skip
    d.t4 = make_ticket_row(
        organization, customer, "t4", assignee=a, team=team, status="resolved",
        created_at=at(2, 20, 8), first_response_at=at(2, 20, 8, 1), resolved_at=at(3, 10, 8),
    )  # fmt: skip
    d.t5 = make_ticket_row(
        organization, customer, "t5", assignee=b, team=team, status="open", priority="urgent",
        created_at=at(3, 6, 8),
    )  # fmt: skip
    d.t6 = make_ticket_row(
        organization, customer, "t6", assignee=b, team=team, status="in_progress",
        created_at=at(3, 7, 8),
    )  # fmt: skip
    d.t7 = make_ticket_row(
        organization, customer, "t7", assignee=b, status="pending", created_at=at(2, 1, 8)
    )

    # Assignments: two to Alice (and Ops) in March, one in February; a transfer to Bob.
    Assignment.objects.create(ticket=d.t1, to_agent=a, to_team=team, created_at=at(3, 2, 10))
    Assignment.objects.create(ticket=d.t2, to_agent=a, to_team=team, created_at=at(3, 3, 9))
    Assignment.objects.create(ticket=d.t4, to_agent=a, to_team=team, created_at=at(2, 20, 8))
    Assignment.objects.create(
        ticket=d.t5, from_agent=a, to_agent=b, kind="transfer", created_at=at(3, 6, 9)
    )

    # Replies: Alice three in March (t1 twice, t2), one in February; a note; a customer.
    _reply(d.t1, a, at(3, 2, 10, 30))
    _reply(d.t1, a, at(3, 2, 11))
    _reply(d.t2, a, at(3, 3, 10))
    _reply(d.t4, a, at(2, 20, 8, 1))
    _reply(d.t1, a, at(3, 2, 12), internal=True)
    _reply(d.t1, None, at(3, 2, 10), from_agent=False)

    # SLA clocks.
    _clock(d.t2, "first_response", "breached", 3000, started_at=at(3, 3, 9),
           breached_at=at(3, 3, 9, 30), met_at=at(3, 3, 10))  # fmt: skip
    _clock(d.t3, "first_response", "met", 300, started_at=at(3, 5, 8), met_at=at(3, 5, 8, 10))
    _clock(d.t4, "first_response", "met", 60, started_at=at(2, 20, 8), met_at=at(2, 20, 8, 1))
    _clock(d.t4, "resolution", "met", 7200, started_at=at(2, 20, 8), met_at=at(3, 10, 8))

    # CSAT: t1 5 and t2 3 in March; t4 1 in April.
    Satisfaction.objects.create(organization=organization, ticket=d.t1, rating=5,
                                rated_at=at(3, 3))  # fmt: skip
    Satisfaction.objects.create(organization=organization, ticket=d.t2, rating=3,
                                rated_at=at(3, 5))  # fmt: skip
    Satisfaction.objects.create(organization=organization, ticket=d.t4, rating=1,
                                rated_at=at(4, 2))  # fmt: skip

    # Status changes: t1 resolved, reopened, resolved; t2 resolved then closed; t4 resolved.
    _event(d.t1, at(3, 2, 12), "open", "resolved")
    _event(d.t1, at(3, 2, 13), "resolved", "open")
    _event(d.t1, at(3, 2, 14), "open", "resolved")
    _event(d.t2, at(3, 4, 9), "in_progress", "resolved")
    _event(d.t2, at(3, 4, 10), "resolved", "closed")
    _event(d.t4, at(3, 10, 8), "open", "resolved")

    for i, level in enumerate(["low", "high", "critical"]):
        _intelligence(organization, f"intel-{i}", level)
    d.start, d.end = at(3, 1).date(), at(3, 31).date()
    d.day = timedelta(days=1)
    return d


@pytest.fixture
def dataset(organization):
    return build(organization)
