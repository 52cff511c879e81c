"""The score's scale and the one loader every scoring path uses: the periodic refresh
keeps the SLA part, writes only what changed, and on the demo data the frontend's "high"
(>= 10) is the exception while every urgent, breached, at-risk or VIP ticket ranks above
every calm low-priority one."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from rules.scoring import DEFAULT_WEIGHTS
from rules.services import scores_refresh
from sla.policies import policy_save
from sla.scan import sla_scan
from tickets import lifecycle
from tickets.models import Ticket
from tickets.tests.outbox import dispatch_all

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def _sla(ticket_id) -> dict:
    ticket = Ticket.objects.get(pk=ticket_id)
    return {c["name"]: c for c in ticket.score_breakdown["components"]}["sla"]


def test_the_periodic_refresh_keeps_the_sla_part_of_a_breached_ticket(organization, make_ticket):
    policy_save(
        organization=organization,
        data={"name": "24/7", "position": 1, "first_response_minutes": 60},
        actor=None,
    )
    start = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        ticket = make_ticket()
        dispatch_all()
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        sla_scan()
        dispatch_all()
        assert Ticket.objects.get(pk=ticket.pk).sla_status == "breached"
        assert _sla(ticket.pk)["points"] == DEFAULT_WEIGHTS.sla_breached_points

        scores_refresh()  # what beat runs every minute

        assert _sla(ticket.pk) == {
            "name": "sla",
            "points": DEFAULT_WEIGHTS.sla_breached_points,
            "reason": "SLA breached or due now",
        }


def test_the_periodic_refresh_writes_only_scores_that_moved(make_ticket):
    start = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        tickets = [make_ticket() for _ in range(3)]
        dispatch_all()
        assert scores_refresh() == 0  # nothing moved
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        assert scores_refresh() == 0  # within the same hour of waiting
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        assert scores_refresh() == len(tickets)  # their hours turned


@pytest.fixture
def demo(db):
    """The demo data as `make run` leaves it, at a fixed weekday afternoon (the demo's
    SLA clocks run on New York business hours, so the hour of the run must not matter)."""
    with time_machine.travel(datetime(2026, 11, 18, 19, 0, tzinfo=UTC), tick=False):
        call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
        dispatch_all()
        sla_scan()
        dispatch_all()
        scores_refresh()
    return list(
        Ticket.objects.filter(status__in=lifecycle.ACTIVE_STATUSES).select_related("customer")
    )


def _rule_points(ticket) -> float:
    return sum(
        c["points"] for c in ticket.score_breakdown["components"] if c["name"].startswith("rule:")
    )


def test_on_the_demo_data_high_is_the_exception_and_pressing_tickets_rank_first(demo):
    # One test, one seeding: the demo data takes a while to build.
    high = [t for t in demo if t.smart_score >= 10]
    assert len(demo) >= 50
    assert len(high) <= len(demo) / 5, (len(high), len(demo))
    # The frontend's inbox lists the open ones.
    open_ = [t for t in demo if t.status == "open"]
    assert sum(t.smart_score >= 10 for t in open_) <= len(open_) / 5

    pressing = [
        t
        for t in demo
        if t.priority == "urgent"
        or t.sla_status in ("at_risk", "breached")
        or t.customer.tier == "vip"
    ]
    calm = [
        t
        for t in demo
        if t.priority == "low"
        and t.sla_status not in ("at_risk", "breached")
        and t.customer.tier != "vip"
        and _rule_points(t) == 0
    ]
    assert pressing and calm
    lowest_pressing = min(t.smart_score for t in pressing)
    highest_calm = max(t.smart_score for t in calm)
    assert lowest_pressing > highest_calm, (lowest_pressing, highest_calm)


def test_the_ordering_holds_by_construction_whatever_the_data():
    """The calm maximum (channel, capped age, on-track SLA) stays under each pressing
    signal's own points, so the demo's ordering is no accident."""
    w = DEFAULT_WEIGHTS
    calm_max = max(w.channel_points.values()) + w.age_points_max
    assert w.priority_points["low"] == 0
    for pressing in (
        w.priority_points["urgent"],
        w.sla_at_risk_points,
        w.sla_breached_points,
        w.tier_points["vip"],
    ):
        assert pressing > calm_max
