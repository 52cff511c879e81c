"""The `sla` block of tickets as the frontend reads it: the detail with its explanation,
list items, the `sla_status` filter, sorting by the next deadline, and query budgets.
Clocks are made the way production makes them: ticket events handled by the SLA
handlers, and the breach scan."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from sla.models import SLAClock, SLANotification
from sla.policies import calendar_save, policy_save
from sla.scan import sla_scan
from sla.selectors import _open_clock_rows, _open_clock_rows_orm
from sla.tasks import sla_rematch_organization_task
from sla.tests.conftest import dispatch_all
from tickets.services import message_add, ticket_transition, ticket_update

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
FRIDAY_1630 = datetime(2026, 11, 20, 16, 30, tzinfo=NY)
MONDAY_0930_UTC = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)


def instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def by_metric(items: list[dict]) -> dict[str, dict]:
    return {item["metric"]: item for item in items}


@pytest.fixture
def ny_calendar(organization):
    return calendar_save(
        organization=organization,
        data={
            "name": "NY office",
            "timezone": "America/New_York",
            "hours": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
            "holidays": [{"date": "2026-11-26", "name": "Thanksgiving"}],
        },
        actor=None,
    )


@pytest.fixture
def standard(organization, ny_calendar):
    """Business hours in New York: first response in 1h, resolution in 8h."""
    return policy_save(
        organization=organization,
        data={
            "name": "Standard",
            "position": 10,
            "first_response_minutes": 60,
            "resolution_minutes": 480,
            "calendar": ny_calendar,
            "pause_on_pending": ["resolution"],
        },
        actor=None,
    )


@pytest.fixture
def friday_ticket(standard, make_ticket):
    """A ticket that arrives 30 minutes before the weekend."""
    with time_machine.travel(FRIDAY_1630, tick=False):
        ticket = make_ticket(subject="Parcel lost")
        dispatch_all()
    return ticket


def detail(client, ticket) -> dict:
    response = client.get(f"/api/v1/tickets/{ticket.pk}")
    assert response.status_code == 200, response.json()
    return response.json()["sla"]


# --- Ticket detail --------------------------------------------------------------------------


def test_detail_shows_the_policy_deadlines_and_why(agent_client, friday_ticket, standard):
    with time_machine.travel(FRIDAY_1630, tick=False):
        sla = detail(agent_client, friday_ticket)
    assert sla["policy"] == {"id": str(standard.pk), "name": "Standard"}
    assert "position (10)" in sla["policy_reason"]
    assert sla["status"] == "active"
    assert instant(sla["next_due_at"]) == MONDAY_0930_UTC
    assert sla["history"] == []

    metrics = by_metric(sla["metrics"])
    assert set(metrics) == {"first_response", "resolution"}
    first = metrics["first_response"]
    assert first["status"] == "active"
    assert first["at_risk"] is False
    assert instant(first["due_at"]) == MONDAY_0930_UTC
    assert first["target_minutes"] == 60
    assert first["business_seconds_remaining"] == 3600
    assert first["breached_at"] is None
    assert instant(first["started_at"]) == FRIDAY_1630
    # 8 business hours: 30 minutes on Friday, 7.5 hours on Monday.
    resolution = metrics["resolution"]
    assert instant(resolution["due_at"]) == datetime(2026, 11, 23, 16, 30, tzinfo=NY)
    assert resolution["business_seconds_remaining"] == 8 * 3600

    explanation = by_metric(sla["explanation"])
    why = explanation["first_response"]
    assert why["calendar"] == "NY office"
    assert why["timezone"] == "America/New_York"
    assert why["policy"] == "Standard"
    assert [i["minutes"] for i in why["intervals"]] == [30, 30]
    assert why["skipped"] == [
        {"date": "2026-11-21", "reason": "weekend"},
        {"date": "2026-11-22", "reason": "weekend"},
    ]
    assert why["pauses"] == []


def test_detail_business_time_left_counts_only_working_hours(agent_client, friday_ticket):
    # Saturday noon: the clock has not moved since Friday 17:00.
    with time_machine.travel(datetime(2026, 11, 21, 12, 0, tzinfo=NY), tick=False):
        sla = detail(agent_client, friday_ticket)
    first = by_metric(sla["metrics"])["first_response"]
    assert first["business_seconds_remaining"] == 30 * 60
    assert by_metric(sla["explanation"])["first_response"]["consumed_business_seconds"] == 1800


def test_holiday_is_skipped_in_the_deadline(agent_client, standard, make_ticket):
    wednesday_1630 = datetime(2026, 11, 25, 16, 30, tzinfo=NY)
    with time_machine.travel(wednesday_1630, tick=False):
        ticket = make_ticket()
        dispatch_all()
        sla = detail(agent_client, ticket)
    first = by_metric(sla["metrics"])["first_response"]
    assert instant(first["due_at"]) == datetime(2026, 11, 27, 9, 30, tzinfo=NY)
    skipped = by_metric(sla["explanation"])["first_response"]["skipped"]
    assert skipped == [{"date": "2026-11-26", "reason": "holiday", "name": "Thanksgiving"}]


def test_ticket_without_a_matching_policy_has_an_empty_block(
    agent_client, organization, make_ticket
):
    policy_save(
        organization=organization,
        data={"name": "Urgent only", "priorities": ["urgent"], "first_response_minutes": 15},
        actor=None,
    )
    ticket = make_ticket(priority="low")
    dispatch_all()
    sla = detail(agent_client, ticket)
    assert sla["policy"] is None
    assert sla["policy_reason"] == "no policy matches"
    assert sla["status"] is None
    assert sla["next_due_at"] is None
    assert sla["metrics"] == [] and sla["history"] == [] and sla["explanation"] == []


def test_first_active_policy_by_position_applies(agent_client, organization, make_ticket):
    policy_save(
        organization=organization,
        data={"name": "Everyone", "position": 50, "first_response_minutes": 240},
        actor=None,
    )
    policy_save(
        organization=organization,
        data={
            "name": "Urgent email",
            "position": 1,
            "priorities": ["urgent"],
            "channels": ["email"],
            "first_response_minutes": 15,
        },
        actor=None,
    )
    policy_save(
        organization=organization,
        data={"name": "Switched off", "position": 0, "active": False, "first_response_minutes": 1},
        actor=None,
    )
    urgent = make_ticket(priority="urgent", channel="email")
    urgent_chat = make_ticket(priority="urgent", channel="chat")
    dispatch_all()
    sla = detail(agent_client, urgent)
    assert sla["policy"]["name"] == "Urgent email"
    assert "priority urgent in ['urgent']" in sla["policy_reason"]
    assert by_metric(sla["metrics"])["first_response"]["target_minutes"] == 15
    assert detail(agent_client, urgent_chat)["policy"]["name"] == "Everyone"


def test_agent_reply_meets_first_response_and_pending_pauses_resolution(
    agent_client, agent, friday_ticket
):
    monday_0915 = datetime(2026, 11, 23, 9, 15, tzinfo=NY)
    with time_machine.travel(monday_0915, tick=False):
        message_add(
            ticket=friday_ticket,
            content="On its way",
            from_agent=True,
            author_agent=agent,
            actor=agent,
        )
        dispatch_all()
        sla = detail(agent_client, friday_ticket)
    assert sla["status"] == "paused"
    assert sla["next_due_at"] is None
    history = by_metric(sla["history"])
    assert history["first_response"]["status"] == "met"
    assert instant(history["first_response"]["met_at"]) == monday_0915
    assert history["first_response"]["breached_at"] is None
    resolution = by_metric(sla["metrics"])["resolution"]
    assert resolution["status"] == "paused"
    assert resolution["due_at"] is None
    # 45 business minutes used (30 on Friday, 15 on Monday) of 480.
    assert resolution["business_seconds_remaining"] == (480 - 45) * 60
    pauses = by_metric(sla["explanation"])["resolution"]["pauses"]
    assert len(pauses) == 1 and pauses[0]["resumed_at"] is None

    # The customer answers an hour later: the resolution clock runs again from there.
    monday_1015 = datetime(2026, 11, 23, 10, 15, tzinfo=NY)
    with time_machine.travel(monday_1015, tick=False):
        message_add(
            ticket=friday_ticket, content="Thanks, still waiting", from_agent=False, actor=None
        )
        dispatch_all()
        sla = detail(agent_client, friday_ticket)
    resolution = by_metric(sla["metrics"])["resolution"]
    assert sla["status"] == "active"
    assert resolution["status"] == "active"
    # 435 business minutes left: 405 on Monday (10:15-17:00), 30 on Tuesday.
    tuesday_0930 = datetime(2026, 11, 24, 9, 30, tzinfo=NY)
    assert instant(resolution["due_at"]) == tuesday_0930
    assert instant(sla["next_due_at"]) == tuesday_0930
    pauses = by_metric(sla["explanation"])["resolution"]["pauses"]
    assert len(pauses) == 1
    assert instant(pauses[0]["paused_at"]) == datetime(2026, 11, 23, 9, 15, tzinfo=NY)
    assert instant(pauses[0]["resumed_at"]) == monday_1015


def test_scan_marks_at_risk_then_breached(agent_client, friday_ticket):
    # 80% of 60 business minutes: Monday 09:18.
    with time_machine.travel(datetime(2026, 11, 23, 9, 20, tzinfo=NY), tick=False):
        assert sla_scan()["at_risk"] == 1
        dispatch_all()
        sla = detail(agent_client, friday_ticket)
    assert sla["status"] == "at_risk"
    first = by_metric(sla["metrics"])["first_response"]
    assert first["at_risk"] is True
    assert first["status"] == "active"
    assert first["business_seconds_remaining"] == 10 * 60

    with time_machine.travel(datetime(2026, 11, 23, 9, 31, tzinfo=NY), tick=False):
        assert sla_scan()["breached"] == 1
        dispatch_all()
        sla = detail(agent_client, friday_ticket)
    assert sla["status"] == "breached"
    first = by_metric(sla["metrics"])["first_response"]
    assert first["status"] == "breached"
    assert instant(first["breached_at"]) == MONDAY_0930_UTC
    assert first["business_seconds_remaining"] == 0
    assert by_metric(sla["metrics"])["resolution"]["status"] == "active"

    # A second scan changes nothing.
    with time_machine.travel(datetime(2026, 11, 23, 9, 40, tzinfo=NY), tick=False):
        assert sla_scan() == {"at_risk": 0, "breached": 0, "tickets": 0}

    # The late reply closes the clock; it stays breached in the history.
    with time_machine.travel(datetime(2026, 11, 23, 10, 0, tzinfo=NY), tick=False):
        message_add(ticket=friday_ticket, content="Sorry!", from_agent=True, actor=None)
        dispatch_all()
        sla = detail(agent_client, friday_ticket)
    first = by_metric(sla["history"])["first_response"]
    assert first["status"] == "breached"
    assert instant(first["breached_at"]) == MONDAY_0930_UTC
    assert "first_response" not in by_metric(sla["metrics"])


def test_a_reply_after_the_deadline_is_a_breach_even_before_the_scan(agent_client, friday_ticket):
    with time_machine.travel(datetime(2026, 11, 23, 11, 0, tzinfo=NY), tick=False):
        message_add(ticket=friday_ticket, content="Late", from_agent=True, actor=None)
        dispatch_all()
        sla = detail(agent_client, friday_ticket)
    first = by_metric(sla["history"])["first_response"]
    assert first["status"] == "breached"
    assert instant(first["breached_at"]) == MONDAY_0930_UTC


def test_resolving_meets_every_open_clock(agent_client, friday_ticket):
    with time_machine.travel(datetime(2026, 11, 23, 9, 10, tzinfo=NY), tick=False):
        ticket_transition(ticket=friday_ticket, to_status="resolved", actor=None)
        dispatch_all()
        sla = detail(agent_client, friday_ticket)
    assert sla["metrics"] == []
    assert sla["status"] is None
    assert sla["next_due_at"] is None
    assert {m["metric"]: m["status"] for m in sla["history"]} == {
        "first_response": "met",
        "resolution": "met",
    }


def test_priority_change_rematches_the_policy_keeping_time_used(
    agent_client, organization, friday_ticket
):
    policy_save(
        organization=organization,
        data={
            "name": "Urgent",
            "position": 1,
            "priorities": ["urgent"],
            "first_response_minutes": 45,
            "resolution_minutes": 240,
            "calendar": None,
        },
        actor=None,
    )
    with time_machine.travel(datetime(2026, 11, 21, 10, 0, tzinfo=NY), tick=False):
        ticket_update(ticket=friday_ticket, priority="urgent", actor=None)
        dispatch_all()
        sla = detail(agent_client, friday_ticket)
    assert sla["policy"]["name"] == "Urgent"
    first = by_metric(sla["metrics"])["first_response"]
    assert first["target_minutes"] == 45
    # 30 business minutes were used on Friday; the urgent policy runs 24/7 from now.
    assert instant(first["due_at"]) == datetime(2026, 11, 21, 10, 15, tzinfo=NY)


def test_breach_escalation_raises_priority_and_notifies(
    agent_client, organization, agent, make_ticket
):
    policy_save(
        organization=organization,
        data={
            "name": "Round the clock",
            "first_response_minutes": 30,
            "escalation": [{"on": "breached", "raise_priority": True}],
        },
        actor=None,
    )
    start = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        ticket = make_ticket(priority="normal", assignee=agent)
        dispatch_all()
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        sla_scan()
        dispatch_all()
    ticket.refresh_from_db()
    assert ticket.priority == "high"
    assert ticket.escalation_level == 1
    notice = SLANotification.objects.get(ticket=ticket)
    assert notice.recipient == agent
    assert notice.kind == "breached"
    # A second scan escalates nothing more.
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        sla_scan()
        dispatch_all()
    ticket.refresh_from_db()
    assert ticket.priority == "high" and ticket.escalation_level == 1


def test_next_response_cycle(agent_client, organization, make_ticket):
    policy_save(
        organization=organization,
        data={"name": "Chatty", "first_response_minutes": 60, "next_response_minutes": 30},
        actor=None,
    )
    start = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        ticket = make_ticket()
        dispatch_all()
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        message_add(ticket=ticket, content="Checking", from_agent=True, actor=None)
        dispatch_all()
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        message_add(ticket=ticket, content="Any news?", from_agent=False, actor=None)
        dispatch_all()
        sla = detail(agent_client, ticket)
    waiting = by_metric(sla["metrics"])["next_response"]
    assert waiting["status"] == "active"
    assert instant(waiting["started_at"]) == start + timedelta(minutes=20)
    assert instant(waiting["due_at"]) == start + timedelta(minutes=50)
    assert instant(sla["next_due_at"]) == start + timedelta(minutes=50)
    with time_machine.travel(start + timedelta(minutes=25), tick=False):
        message_add(ticket=ticket, content="Shipped today", from_agent=True, actor=None)
        dispatch_all()
        sla = detail(agent_client, ticket)
    assert sla["metrics"] == []
    assert [(m["metric"], m["status"]) for m in sla["history"]] == [
        ("first_response", "met"),
        ("next_response", "met"),
    ]


def test_reopening_starts_a_new_resolution_clock(agent_client, organization, make_ticket):
    policy_save(
        organization=organization,
        data={"name": "Fix it", "resolution_minutes": 120},
        actor=None,
    )
    start = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        ticket = make_ticket()
        dispatch_all()
    with time_machine.travel(start + timedelta(minutes=90), tick=False):
        ticket_transition(ticket=ticket, to_status="resolved", actor=None)
        dispatch_all()
    with time_machine.travel(start + timedelta(hours=5), tick=False):
        message_add(ticket=ticket, content="It broke again", from_agent=False, actor=None)
        dispatch_all()
        sla = detail(agent_client, ticket)
    resolution = by_metric(sla["metrics"])["resolution"]
    assert resolution["status"] == "active"
    assert instant(resolution["due_at"]) == start + timedelta(hours=7)  # the full target
    assert resolution["business_seconds_remaining"] == 120 * 60
    assert [(m["metric"], m["status"]) for m in sla["history"]] == [("resolution", "met")]


def test_a_holiday_added_to_the_calendar_moves_open_deadlines(
    agent_client, manager_client, organization, ny_calendar, friday_ticket
):
    with time_machine.travel(datetime(2026, 11, 21, 10, 0, tzinfo=NY), tick=False):
        response = manager_client.patch(
            f"/api/v1/sla/calendars/{ny_calendar.pk}",
            {
                "holidays": [
                    {"date": "2026-11-23", "name": "Office move"},
                    {"date": "2026-11-26", "name": "Thanksgiving"},
                ]
            },
            format="json",
        )
        assert response.status_code == 200, response.json()
        sla_rematch_organization_task(str(organization.pk))  # what the worker runs next
        sla = detail(agent_client, friday_ticket)
    first = by_metric(sla["metrics"])["first_response"]
    # Monday is closed now: the 30 minutes left run on Tuesday morning.
    assert instant(first["due_at"]) == datetime(2026, 11, 24, 9, 30, tzinfo=NY)
    assert instant(sla["next_due_at"]) == datetime(2026, 11, 24, 9, 30, tzinfo=NY)
    assert first["business_seconds_remaining"] == 30 * 60


def test_a_changed_target_applies_to_open_clocks(
    agent_client, manager_client, organization, standard, friday_ticket
):
    with time_machine.travel(datetime(2026, 11, 20, 16, 40, tzinfo=NY), tick=False):
        response = manager_client.patch(
            f"/api/v1/sla/policies/{standard.pk}",
            {"first_response_minutes": 120},
            format="json",
        )
        assert response.status_code == 200, response.json()
        sla_rematch_organization_task(str(organization.pk))  # what the worker runs next
        sla = detail(agent_client, friday_ticket)
    first = by_metric(sla["metrics"])["first_response"]
    assert first["target_minutes"] == 120
    # 10 minutes used on Friday; 110 left: 20 on Friday, 90 on Monday.
    assert instant(first["due_at"]) == datetime(2026, 11, 23, 10, 30, tzinfo=NY)


# --- Ticket list -----------------------------------------------------------------------------

T0 = datetime(2026, 11, 17, 15, 0, tzinfo=UTC)


@pytest.fixture
def inbox(organization, make_ticket, agent):
    """Tickets in every SLA state, on a 24/7 policy (first response 60 minutes)."""
    policy_save(
        organization=organization,
        data={
            "name": "Inbox",
            "priorities": ["normal", "high", "urgent"],
            "first_response_minutes": 60,
            "resolution_minutes": 10_000,
            "pause_on_pending": ["resolution"],
        },
        actor=None,
    )
    made = {}
    for name, minutes_ago in (("breached", 120), ("at_risk", 50), ("active", 10), ("paused", 9)):
        with time_machine.travel(T0 - timedelta(minutes=minutes_ago), tick=False):
            made[name] = make_ticket(subject=f"{name} ticket")
            dispatch_all()
    with time_machine.travel(T0 - timedelta(minutes=8), tick=False):
        message_add(ticket=made["paused"], content="Done?", from_agent=True, actor=agent)
        made["none"] = make_ticket(subject="no SLA ticket", priority="low")
        dispatch_all()
    with time_machine.travel(T0, tick=False):
        sla_scan()
        dispatch_all()
    for ticket in made.values():
        ticket.refresh_from_db()
    return made


def _subjects(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [t["subject"] for t in response.json()["tickets"]]


def test_inbox_states(inbox):
    assert {name: t.sla_status for name, t in inbox.items()} == {
        "breached": "breached",
        "at_risk": "at_risk",
        "active": "active",
        "paused": "paused",
        "none": "",
    }


def test_list_items_carry_the_sla_block(agent_client, inbox):
    with time_machine.travel(T0, tick=False):
        response = agent_client.get("/api/v1/tickets", {"limit": 50})
    items = {t["subject"]: t for t in response.json()["tickets"]}
    block = items["at_risk ticket"]["sla"]
    assert set(block) == {"policy", "status", "next_due_at", "metrics"}
    assert block["policy"]["name"] == "Inbox"
    assert block["status"] == "at_risk"
    assert instant(block["next_due_at"]) == T0 + timedelta(minutes=10)
    first = by_metric(block["metrics"])["first_response"]
    assert first["at_risk"] is True
    assert first["business_seconds_remaining"] == 600
    assert items["breached ticket"]["sla"]["status"] == "breached"
    assert items["paused ticket"]["sla"]["next_due_at"] is None
    assert items["no SLA ticket"]["sla"] == {
        "policy": None,
        "status": None,
        "next_due_at": None,
        "metrics": [],
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("breached", {"breached ticket"}),
        ("at_risk", {"at_risk ticket"}),
        ("active", {"at_risk ticket", "active ticket"}),
        ("paused", {"paused ticket"}),
        ("breached,paused", {"breached ticket", "paused ticket"}),
        ("at_risk, breached", {"at_risk ticket", "breached ticket"}),
    ],
)
def test_filter_by_sla_status(key_client, inbox, value, expected):
    response = key_client.get("/api/v1/tickets", {"sla_status": value})
    assert set(_subjects(response)) == expected
    assert response.json()["pagination"]["total"] == len(expected)


def test_unknown_sla_status_is_a_400(key_client, inbox):
    response = key_client.get("/api/v1/tickets", {"sla_status": "late,breached"})
    assert response.status_code == 400
    body = response.json()
    assert "sla_status" in body["errors"]
    assert "late" in body["detail"]


def test_sort_by_next_deadline(key_client, inbox):
    ascending = _subjects(key_client.get("/api/v1/tickets", {"sort": "sla_due_at", "order": "asc"}))
    assert ascending[:3] == ["breached ticket", "at_risk ticket", "active ticket"]
    assert set(ascending[3:]) == {"paused ticket", "no SLA ticket"}

    descending = _subjects(
        key_client.get("/api/v1/tickets", {"sort": "sla_due_at", "order": "desc"})
    )
    assert descending[:3] == ["active ticket", "at_risk ticket", "breached ticket"]
    assert set(descending[3:]) == {"paused ticket", "no SLA ticket"}


# --- Query budgets ---------------------------------------------------------------------------


def test_list_query_budget_with_sla_clocks(
    agent_client, standard, make_ticket, django_assert_max_num_queries
):
    with time_machine.travel(FRIDAY_1630, tick=False):
        for i in range(30):
            make_ticket(subject=f"Order {i}", priority=("normal", "high")[i % 2])
        dispatch_all()
    assert SLAClock.objects.filter(is_open=True).count() == 60
    params = {"limit": 50, "apply_rules": "true", "smart_order": "true", "topic_alerts": "x"}
    with time_machine.travel(FRIDAY_1630 + timedelta(minutes=5), tick=False):
        with django_assert_max_num_queries(6):
            response = agent_client.get("/api/v1/tickets", params)
    assert response.status_code == 200
    tickets = response.json()["tickets"]
    assert len(tickets) == 30
    assert all(t["sla"]["policy"]["name"] == "Standard" for t in tickets)
    assert all(len(t["sla"]["metrics"]) == 2 for t in tickets)


def test_detail_query_budget_with_sla(
    agent_client, agent, friday_ticket, django_assert_max_num_queries
):
    with time_machine.travel(datetime(2026, 11, 23, 9, 10, tzinfo=NY), tick=False):
        for i in range(10):
            message_add(
                ticket=friday_ticket, content=f"message {i}", from_agent=i % 2 == 1, actor=None
            )
        dispatch_all()
    with time_machine.travel(datetime(2026, 11, 23, 9, 20, tzinfo=NY), tick=False):
        with django_assert_max_num_queries(8):
            response = agent_client.get(f"/api/v1/tickets/{friday_ticket.pk}")
    assert response.status_code == 200
    sla = response.json()["sla"]
    assert sla["policy"]["name"] == "Standard"
    assert sla["history"] and sla["explanation"]


def test_the_fixed_statement_reads_the_clocks_the_orm_query_reads(
    require_postgres, standard, make_ticket
):
    """On PostgreSQL a page's open clocks are one fixed statement (sla.selectors); it
    reads what the ORM query, used elsewhere, reads."""
    with time_machine.travel(FRIDAY_1630, tick=False):
        tickets = [make_ticket(subject=f"t{i}") for i in range(3)]
        dispatch_all()
    SLAClock.objects.filter(ticket=tickets[1], metric="resolution").update(is_open=False)
    ids = [t.pk for t in tickets]
    rows = _open_clock_rows(ids)
    assert len(rows) == 5  # two metrics each, less the closed one
    assert rows == list(_open_clock_rows_orm("default", ids))
    assert {row["policy__name"] for row in rows} == {"Standard"}
    assert all(row["spec_text"] and row["due_at"].tzinfo is UTC for row in rows)
