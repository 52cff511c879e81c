"""The base smart score: priority, channel and waiting time, on the frontend's scale."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from rules.scoring import ScoreInput, score_compute
from rules.services import scores_refresh_active, ticket_score_refresh
from rules.tasks import smart_score_refresh_task
from tickets.services import ticket_transition

NOW = timezone.now()


def _score(priority="normal", channel="email", hours=0.0, status="open"):
    return score_compute(
        ScoreInput(
            status=status,
            priority=priority,
            channel=channel,
            created_at=NOW - timedelta(hours=hours),
        ),
        now=NOW,
    )


def test_urgent_fresh_ticket_is_elevated_and_low_is_not():
    assert _score("urgent", "chat")[0] > 5
    assert _score("low", "email")[0] < 5


def test_priority_orders_tickets_of_same_age():
    scores = [_score(p, hours=2)[0] for p in ("low", "normal", "high", "urgent")]
    assert scores == sorted(scores) and len(set(scores)) == 4


def test_age_never_makes_a_ticket_sink():
    ages = [0, 1, 4, 9, 24, 24 * 7, 24 * 60]
    scores = [_score(hours=h)[0] for h in ages]
    assert scores == sorted(scores)  # never sinks with age
    assert len(set(scores[:4])) == 4  # grows through the first hours, then is capped
    assert scores[-1] == scores[-2] == scores[-3]
    # A week-old low-priority ticket outranks a fresh normal one: nobody is forgotten.
    assert _score("low", hours=24 * 7)[0] > _score("normal")[0]


def test_breakdown_lists_each_component_and_sums_to_total():
    total, breakdown = _score("high", "phone", hours=9)
    names = [c["name"] for c in breakdown["components"]]
    assert names == ["priority", "channel", "age", "tier", "intelligence", "sla"]
    assert (
        breakdown["total"] == total == round(sum(c["points"] for c in breakdown["components"]), 2)
    )
    assert breakdown["components"][2]["reason"] == "waiting 9.0 h"


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_done_tickets_are_not_queued(status):
    assert _score("urgent", status=status, hours=50)[0] == 0


@pytest.mark.django_db
def test_refresh_persists_scores_and_grows_with_time(make_ticket):
    ticket = make_ticket(priority="high")
    first = ticket_score_refresh(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    assert ticket.smart_score == first and ticket.score_breakdown["total"] == first
    with time_machine.travel(timezone.now() + timedelta(hours=10), tick=False):
        assert smart_score_refresh_task() == 1
    ticket.refresh_from_db()
    assert ticket.smart_score > first


@pytest.mark.django_db
def test_periodic_refresh_covers_active_tickets_only(make_ticket):
    active = [make_ticket() for _ in range(5)]
    done = ticket_transition(ticket=make_ticket(), to_status="closed", actor=None)
    assert scores_refresh_active(batch_size=2) == 5
    for t in active:
        t.refresh_from_db()
        assert t.smart_score > 0
    done.refresh_from_db()
    assert done.smart_score == 0
