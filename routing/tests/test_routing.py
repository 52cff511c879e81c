"""Routing strategies, skills, working hours, capacity, transfer and rebalance history,
and the "why this agent" explanation."""

from datetime import UTC, datetime

import pytest

from agents.exceptions import Conflict, DomainError
from agents.models import Skill
from agents.services import agent_availability_set
from agents.tests.factories import AgentFactory, TeamFactory
from routing.models import TeamRouting
from routing.services import (
    agent_rebalance,
    queues_drain,
    ticket_assign_manual,
    ticket_route,
)
from sla.policies import calendar_save
from tickets.models import Assignment
from tickets.services import ticket_transition
from tickets.tests.outbox import dispatch_all

# A Monday, 10:00 UTC (inside 09:00-17:00 Mon-Fri) and the Saturday after.
MONDAY_10 = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)
SATURDAY_10 = datetime(2030, 1, 12, 10, 0, tzinfo=UTC)


@pytest.fixture
def team(organization):
    return TeamFactory(organization=organization, name="Support")


def _routing(team, **fields):
    return TeamRouting.objects.update_or_create(
        team=team, defaults={"organization_id": team.organization_id, **fields}
    )[0]


def _agent(organization, team, name, *, capacity=5, availability="available", skills=()):
    agent = AgentFactory(
        organization=organization,
        name=name,
        email=f"{name.lower()}@acme.test",
        capacity=capacity,
        availability=availability,
    )
    agent.teams.add(team)
    agent.skills.add(*skills)
    return agent


def _fill(make_ticket, agent, n):
    for i in range(n):
        make_ticket(subject=f"held {i}", assignee=agent)


def test_least_loaded_picks_the_lowest_share_of_capacity_and_explains_the_others(
    organization, team, make_ticket
):
    _routing(team, strategy="least_loaded")
    busy = _agent(organization, team, "Busy", capacity=4)
    light = _agent(organization, team, "Light", capacity=10)
    _agent(organization, team, "Gone", availability="away")
    full = _agent(organization, team, "Full", capacity=1)
    _fill(make_ticket, busy, 2)  # 2/4 = 50%
    _fill(make_ticket, light, 3)  # 3/10 = 30%
    _fill(make_ticket, full, 1)  # 1/1
    ticket = make_ticket(subject="route me", team=team)

    result = ticket_route(ticket=ticket, trigger="on_demand")

    assert result.outcome == "assigned"
    assert result.ticket.assignee == light
    why = {c["name"]: c for c in result.explanation["candidates"]}
    assert why["Gone"]["skipped"] == "away"
    assert why["Full"]["skipped"] == "at_capacity"
    assert why["Full"]["detail"] == "1 open tickets of a capacity of 1"
    assert why["Busy"]["eligible"] and why["Light"]["eligible"]
    assert why["Light"]["open_tickets"] == 3
    assert result.explanation["strategy"] == "least_loaded"
    assert "least loaded among 2" in result.explanation["why"]
    row = Assignment.objects.filter(ticket=ticket).latest("id")
    assert row.kind == "auto" and row.to_agent == light
    assert row.explanation["chosen"]["name"] == "Light"


def test_round_robin_walks_the_ring_and_keeps_its_pointer(organization, team, make_ticket):
    routing = _routing(team, strategy="round_robin")
    agents = sorted(
        (_agent(organization, team, n, capacity=10) for n in ("Ann", "Bob", "Cid")),
        key=lambda a: str(a.pk),
    )
    got = [
        ticket_route(ticket=make_ticket(subject=f"t{i}", team=team)).ticket.assignee
        for i in range(4)
    ]
    assert got == [agents[0], agents[1], agents[2], agents[0]]
    routing.refresh_from_db()
    assert routing.last_agent == agents[0]
    # An agent away is skipped without losing the place in the ring.
    agents[1].availability = "away"
    agents[1].save()
    assert ticket_route(ticket=make_ticket(subject="t5", team=team)).ticket.assignee == agents[2]


def test_skills_strategy_needs_every_required_skill_then_least_loaded(
    organization, team, make_ticket
):
    _routing(team, strategy="skills")
    spanish = Skill.objects.create(organization=organization, name="Spanish", tags=["es"])
    phone = Skill.objects.create(organization=organization, name="Phone", channels=["phone"])
    Skill.objects.create(organization=organization, name="German", tags=["de"])
    only_spanish = _agent(organization, team, "Sol", skills=[spanish])
    both_busy = _agent(organization, team, "Pia", skills=[spanish, phone], capacity=10)
    both_free = _agent(organization, team, "Eva", skills=[spanish, phone], capacity=10)
    _fill(make_ticket, both_busy, 2)

    result = ticket_route(
        ticket=make_ticket(subject="hola", team=team, tags=["es"], channel="phone")
    )

    assert result.ticket.assignee == both_free
    assert result.explanation["required_skills"] == ["Phone", "Spanish"]
    why = {c["name"]: c for c in result.explanation["candidates"]}
    assert why["Sol"]["skipped"] == "missing_skill" and why["Sol"]["detail"] == "lacks Phone"
    assert only_spanish.pk != result.ticket.assignee_id
    # A ticket needing no skill goes to the least loaded of all.
    plain = ticket_route(ticket=make_ticket(subject="hi", team=team, channel="email"))
    assert plain.explanation["required_skills"] == []
    assert plain.ticket.assignee in (only_spanish, both_free)


def test_outside_working_hours_the_ticket_waits_and_the_queue_job_routes_it_later(
    organization, team, make_ticket, manager
):
    calendar = calendar_save(
        organization=organization,
        data={
            "name": "Office",
            "timezone": "UTC",
            "hours": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
        },
        actor=manager,
    )
    _routing(team, strategy="least_loaded", calendar=calendar)
    ann = _agent(organization, team, "Ann")
    ticket = make_ticket(subject="weekend", team=team)

    result = ticket_route(ticket=ticket, now=SATURDAY_10)
    assert result.outcome == "queued"
    assert result.explanation["within_working_hours"] is False
    assert {c["skipped"] for c in result.explanation["candidates"]} == {"outside_hours"}
    assert "working hours" in result.explanation["why"]
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.team == team

    assert queues_drain(now=SATURDAY_10) == 0
    assert queues_drain(now=MONDAY_10) == 1
    ticket.refresh_from_db()
    assert ticket.assignee == ann


def test_queue_waits_for_capacity_and_drains_when_an_agent_comes_back(
    organization, team, make_ticket, django_capture_on_commit_callbacks
):
    _routing(team, strategy="least_loaded")
    ann = _agent(organization, team, "Ann", capacity=1)
    _fill(make_ticket, ann, 1)
    bob = _agent(organization, team, "Bob", capacity=2, availability="offline")
    waiting = [make_ticket(subject=f"w{i}", team=team) for i in range(3)]
    for t in waiting:
        assert ticket_route(ticket=t).outcome == "queued"
    assert queues_drain() == 0

    with django_capture_on_commit_callbacks(execute=True):
        agent_availability_set(agent=bob, availability="available", actor=bob)
    # Bob's two free slots took the two most urgent waiting tickets at commit.
    assert sorted(bob.assigned_tickets.values_list("subject", flat=True)) == ["w0", "w1"]
    assert Assignment.objects.filter(to_agent=bob, kind="auto").count() == 2


def test_manual_assignment_checks_membership_and_capacity(
    organization, team, make_ticket, manager, agent
):
    ann = _agent(organization, team, "Ann", capacity=1)
    outsider = AgentFactory(organization=organization, name="Out", email="out@acme.test")
    _fill(make_ticket, ann, 1)
    ticket = make_ticket(subject="manual")

    with pytest.raises(DomainError, match="not a member"):
        ticket_assign_manual(ticket=ticket, agent_id=outsider.pk, team_id=team.pk, actor=manager)
    with pytest.raises(Conflict, match="at capacity"):
        ticket_assign_manual(ticket=ticket, agent_id=ann.pk, actor=manager)
    with pytest.raises(DomainError, match="Only a manager"):
        ticket_assign_manual(
            ticket=ticket, agent_id=ann.pk, actor=agent, override_capacity=True, reason="x"
        )
    with pytest.raises(DomainError, match="Say why"):
        ticket_assign_manual(ticket=ticket, agent_id=ann.pk, actor=manager, override_capacity=True)
    assert not Assignment.objects.filter(ticket=ticket).exists()

    result = ticket_assign_manual(
        ticket=ticket, agent_id=ann.pk, actor=manager, override_capacity=True, reason="VIP"
    )
    assert result.ticket.assignee == ann
    row = Assignment.objects.get(ticket=ticket)
    assert (row.kind, row.capacity_overridden, row.by, row.reason) == (
        "manual",
        True,
        manager,
        "VIP",
    )


def test_transfer_history_reads_from_to_by_kind_and_reason(
    organization, team, make_ticket, manager
):
    _routing(team, strategy="manual")
    ann = _agent(organization, team, "Ann")
    bob = _agent(organization, team, "Bob")
    ticket = make_ticket(subject="transfer me")
    ticket_assign_manual(ticket=ticket, agent_id=ann.pk, team_id=team.pk, actor=manager)
    with pytest.raises(DomainError, match="already with"):
        ticket_assign_manual(ticket=ticket, agent_id=ann.pk, actor=manager, transfer=True)
    ticket_assign_manual(
        ticket=ticket, agent_id=bob.pk, actor=manager, transfer=True, reason="billing expert"
    )
    rows = list(Assignment.objects.filter(ticket=ticket).order_by("id"))
    assert [(r.from_agent, r.to_agent, r.kind) for r in rows] == [
        (None, ann, "manual"),
        (ann, bob, "transfer"),
    ]
    assert rows[1].reason == "billing expert" and rows[1].by == manager
    assert rows[1].to_team == team


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("keep", "kept"), ("redistribute", "redistributed"), ("return_to_queue", "returned")],
)
def test_rebalance_follows_the_team_setting(organization, team, make_ticket, policy, expected):
    _routing(team, strategy="least_loaded", on_agent_away=policy)
    leaving = _agent(organization, team, "Leaving")
    staying = _agent(organization, team, "Staying")
    held = [make_ticket(subject=f"h{i}", team=team, assignee=leaving) for i in range(2)]

    agent_availability_set(agent=leaving, availability="away", actor=leaving)

    owners = {t.subject: t.assignee for t in (h.__class__.objects.get(pk=h.pk) for h in held)}
    if expected == "kept":
        assert set(owners.values()) == {leaving}
        assert not Assignment.objects.filter(kind="rebalance").exists()
    elif expected == "redistributed":
        assert set(owners.values()) == {staying}
        rows = Assignment.objects.filter(kind="rebalance")
        assert rows.count() == 2 and {r.from_agent for r in rows} == {leaving}
        why = {c["name"]: c for c in rows.first().explanation["candidates"]}
        assert why["Leaving"]["skipped"] == "excluded"
        assert rows.first().explanation["trigger"] == "rebalance"
    else:
        assert set(owners.values()) == {None}
        assert Assignment.objects.filter(kind="rebalance", to_agent=None).count() == 2


def test_rebalance_with_nobody_free_returns_tickets_to_the_queue(organization, team, make_ticket):
    _routing(team, strategy="least_loaded", on_agent_away="redistribute")
    leaving = _agent(organization, team, "Leaving")
    held = make_ticket(subject="h", team=team, assignee=leaving)
    leaving.availability = "offline"
    leaving.save()
    assert agent_rebalance(agent=leaving) == {
        "kept": 0,
        "redistributed": 0,
        "returned_to_queue": 1,
    }
    held.refresh_from_db()
    assert held.assignee is None and held.team == team


def test_new_tickets_go_to_the_default_team_and_are_routed_by_the_outbox(
    organization, team, make_ticket
):
    _routing(team, strategy="least_loaded", is_default=True)
    ann = _agent(organization, team, "Ann")
    ticket = make_ticket(subject="no team named")
    dispatch_all()
    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (team, ann)
    event = ticket.events.filter(kind="ticket.assigned").latest("id")
    assert event.payload["kind"] == "auto"
    assert event.payload["explanation"]["trigger"] == "creation"


def test_a_reopened_ticket_whose_agent_left_is_routed_again(organization, team, make_ticket):
    _routing(team, strategy="least_loaded")
    ann = _agent(organization, team, "Ann")
    bob = _agent(organization, team, "Bob")
    ticket = make_ticket(subject="comes back", team=team, assignee=ann)
    ticket_transition(ticket=ticket, to_status="resolved", actor=None)
    dispatch_all()
    ann.availability = "offline"
    ann.save()
    ticket_transition(ticket=ticket, to_status="open", actor=None)
    dispatch_all()
    ticket.refresh_from_db()
    assert ticket.assignee == bob
    assert ticket.assignments.latest("id").explanation["trigger"] == "reopen"


def test_manual_team_and_no_team_stay_queued_and_say_why(organization, team, make_ticket):
    _routing(team, strategy="manual")
    result = ticket_route(ticket=make_ticket(subject="a", team=team))
    assert result.outcome == "queued" and "routes manually" in result.explanation["why"]
    result = ticket_route(ticket=make_ticket(subject="b"))
    assert result.outcome == "queued" and "no team" in result.explanation["why"]


def test_an_agent_away_is_not_a_candidate_even_with_room(organization, team, make_ticket):
    _routing(team, strategy="least_loaded")
    _agent(organization, team, "Ann", availability="away")
    _agent(organization, team, "Bob", availability="offline")
    result = ticket_route(ticket=make_ticket(subject="nobody", team=team))
    assert result.outcome == "queued"
    assert result.explanation["why"] == (
        "Nobody can take it (away, offline); it waits in the team queue."
    )


def test_resolving_a_ticket_frees_a_slot_and_the_queue_moves_at_once(
    organization, team, make_ticket
):
    _routing(team, strategy="least_loaded")
    ann = _agent(organization, team, "Ann", capacity=1)
    busy = make_ticket(subject="busy", team=team, assignee=ann)
    waiting = make_ticket(subject="waiting", team=team)
    dispatch_all()
    waiting.refresh_from_db()
    assert waiting.assignee is None

    ticket_transition(ticket=busy, to_status="resolved", actor=ann)
    dispatch_all()

    waiting.refresh_from_db()
    assert waiting.assignee == ann
    assert waiting.assignments.latest("id").explanation["trigger"] == "queue"


def test_an_sla_escalation_reassignment_is_recorded_as_escalation(organization, make_ticket):
    from tickets.services import ticket_assign

    team = TeamFactory(organization=organization, name="Tier 2")
    ticket = make_ticket()
    ticket_assign(ticket=ticket, assignee=None, team=team, actor=None, kind="escalation")
    assert Assignment.objects.get(ticket=ticket).kind == "escalation"
