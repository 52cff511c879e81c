"""The metrics selectors on the hand-computed month of conftest.py (runs on SQLite and
PostgreSQL alike)."""

from datetime import date

import pytest

from agents.exceptions import DomainError
from analytics.selectors import agent_metrics, overview, period_resolve, sla_report, team_metrics
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _by_name(rows):
    return {r["name"]: r for r in rows}


def test_agent_figures_computed_by_hand(dataset):
    d = dataset
    rows = _by_name(agent_metrics(organization_id=d.organization.pk, start=d.start, end=d.end))
    assert set(rows) == {"Alice", "Bob", "Zed Manager"}  # Carol is inactive
    alice = rows["Alice"]
    assert alice["agent_id"] == d.alice.pk and alice["email"] == "alice@acme.test"
    assert alice["assigned"] == 2
    assert (alice["replies"], alice["replied_tickets"]) == (3, 2)
    assert alice["resolved"] == 3
    assert alice["first_response_p50_minutes"] == 30.0
    assert alice["first_response_p90_minutes"] == 46.0
    assert alice["first_response_avg_minutes"] == 28.33
    assert (alice["first_responses"], alice["first_responses_business_time"]) == (3, 2)
    assert alice["resolution_p50_hours"] == 4.0
    assert alice["resolution_p90_hours"] == 20.0
    assert alice["resolution_avg_hours"] == 10.0
    assert (alice["resolutions_timed"], alice["resolutions_business_time"]) == (3, 1)
    assert (alice["sla_met"], alice["sla_breached"], alice["sla_compliance"]) == (2, 1, 0.6667)
    assert (alice["csat_average"], alice["csat_count"]) == (4.0, 2)
    assert (alice["reopened"], alice["resolutions"], alice["reopen_rate"]) == (1, 3, 0.3333)
    assert (alice["open_load"], alice["capacity"], alice["load"]) == (1, 4, 0.25)

    bob = rows["Bob"]
    assert bob["assigned"] == 1 and bob["replies"] == 0 and bob["resolved"] == 0
    assert bob["first_response_p50_minutes"] is None and bob["sla_compliance"] is None
    assert bob["csat_average"] is None and bob["reopen_rate"] is None
    assert (bob["open_load"], bob["capacity"], bob["load"]) == (3, 2, 1.5)


def test_agent_filters(dataset):
    d = dataset
    org = d.organization.pk
    only = agent_metrics(organization_id=org, start=d.start, end=d.end, agent_id=d.bob.pk)
    assert [r["name"] for r in only] == ["Bob"]
    members = agent_metrics(organization_id=org, start=d.start, end=d.end, team_id=d.team.pk)
    assert [r["name"] for r in members] == ["Alice", "Bob"]


def test_a_single_value_is_every_percentile(dataset):
    d = dataset
    rows = _by_name(
        agent_metrics(organization_id=d.organization.pk, start=date(2026, 3, 5), end=d.end)
    )
    alice = rows["Alice"]  # only t3's first response (5 business minutes) from March 5
    assert alice["first_response_p50_minutes"] == alice["first_response_p90_minutes"] == 5.0
    # Resolutions from March 5: t4 (2 h business) only.
    assert alice["resolution_p50_hours"] == alice["resolution_p90_hours"] == 2.0


def test_team_figures(dataset):
    d = dataset
    rows = _by_name(team_metrics(organization_id=d.organization.pk, start=d.start, end=d.end))
    ops = rows["Ops"]
    assert [m["name"] for m in ops["members"]] == ["Alice", "Bob"]
    assert ops["assigned"] == 2
    assert (ops["replies"], ops["replied_tickets"]) == (3, 2)
    assert ops["resolved"] == 3
    assert ops["first_response_p50_minutes"] == 30.0
    assert ops["resolution_p90_hours"] == 20.0
    assert ops["sla_compliance"] == 0.6667 and ops["csat_count"] == 2
    assert (ops["open_load"], ops["capacity"], ops["load"]) == (3, 6, 0.5)  # t7 has no team
    billing = rows["Billing"]
    assert billing["members"] == [] and billing["capacity"] == 0 and billing["load"] is None
    assert billing["assigned"] == 0 and billing["open_load"] == 0
    one = team_metrics(
        organization_id=d.organization.pk, start=d.start, end=d.end, team_id=d.other_team.pk
    )
    assert [r["name"] for r in one] == ["Billing"]


def test_overview(dataset):
    d = dataset
    o = overview(organization_id=d.organization.pk, start=d.start, end=d.end)
    assert o["period"]["start"] == "2026-03-01" and o["period"]["end"] == "2026-03-31"
    assert o["period"]["timezone"] == "UTC" and o["period"]["days"] == 31
    tickets = o["tickets"]
    # Created in March: t1 (resolved), t2 (closed), t3 and t5 (open), t6 (in progress).
    assert (tickets["total"], tickets["open"], tickets["pending"], tickets["closed"]) == (
        5,
        3,
        0,
        2,
    )
    assert tickets["by_priority"] == {"low": 0, "normal": 3, "high": 1, "urgent": 1}
    assert tickets["by_channel"] == {"email": 4, "chat": 1}
    assert tickets["open_now"] == 4  # t3, t5, t6, t7
    times = o["response_times"]
    assert times["avg_first_response_minutes"] == 28.33
    assert times["avg_resolution_hours"] == 10.0
    assert times["within_sla"] == 0.6667
    assert times["time_basis"]["first_response"] == {"business": 2, "calendar": 1}
    assert times["time_basis"]["resolution"] == {"business": 1, "calendar": 2}
    assert o["customer_satisfaction"] == {"avg_rating": 4.0, "total_responses": 2, "nps_score": 0}
    assert o["churn_prevention"]["at_risk_customers"] == 2  # high and critical
    assert o["activity"]["reopened"] == 1 and o["activity"]["reopen_rate"] == 0.3333
    assert o["load"] == {"open_load": 4, "capacity": 6, "load": 0.6667}  # 4 + 2 + 0


def test_overview_of_one_agent_and_of_a_team(dataset):
    d = dataset
    bob = overview(organization_id=d.organization.pk, start=d.start, end=d.end, agent_id=d.bob.pk)
    assert bob["tickets"]["total"] == 2 and bob["tickets"]["open_now"] == 3
    assert bob["activity"]["assigned"] == 1 and bob["activity"]["replies"] == 0
    assert bob["load"]["capacity"] == 2
    ops = overview(organization_id=d.organization.pk, start=d.start, end=d.end, team_id=d.team.pk)
    assert ops["tickets"]["total"] == 5 and ops["tickets"]["open_now"] == 3
    assert ops["load"]["capacity"] == 6


def test_sla_report(dataset):
    d = dataset
    report = sla_report(organization_id=d.organization.pk, start=d.start, end=d.end)
    assert (report["met"], report["breached"], report["compliance"]) == (2, 1, 0.6667)
    assert report["by_metric"]["first_response"] == {"met": 1, "breached": 1, "compliance": 0.5}
    assert report["by_metric"]["resolution"] == {"met": 1, "breached": 0, "compliance": 1.0}
    assert report["by_priority"]["high"] == {"met": 0, "breached": 1, "compliance": 0.0}
    february = sla_report(
        organization_id=d.organization.pk, start=date(2026, 2, 1), end=date(2026, 2, 28)
    )
    assert (february["met"], february["breached"]) == (1, 0)


def test_days_are_counted_in_the_organizations_timezone(dataset):
    d = dataset
    d.organization.timezone = "America/New_York"
    d.organization.save(update_fields=["timezone"])
    # t1 was resolved 2026-03-02 14:00 UTC, 09:00 in New York; move it to 03:00 UTC on
    # March 1st: still February 28th there.
    Ticket.objects.filter(pk=d.t1.pk).update(resolved_at="2026-03-01T03:00:00Z")
    rows = _by_name(agent_metrics(organization_id=d.organization.pk, start=d.start, end=d.end))
    assert rows["Alice"]["resolved"] == 2
    period = period_resolve(organization_id=d.organization.pk, start=d.start, end=d.end)
    assert period.start_at.isoformat() == "2026-03-01T00:00:00-05:00"


def test_period_defaults_and_limits(organization):
    period = period_resolve(organization_id=organization.pk)
    assert (period.end - period.start).days == 29
    with pytest.raises(DomainError) as exc:
        period_resolve(
            organization_id=organization.pk, start=date(2026, 3, 2), end=date(2026, 3, 1)
        )
    assert exc.value.field == "end_date"
    with pytest.raises(DomainError):
        period_resolve(
            organization_id=organization.pk, start=date(2024, 1, 1), end=date(2026, 1, 1)
        )


def test_no_data_gives_empty_figures(organization, agent):
    rows = agent_metrics(
        organization_id=organization.pk, start=date(2026, 3, 1), end=date(2026, 3, 31)
    )
    assert rows[0]["assigned"] == 0 and rows[0]["first_response_p50_minutes"] is None
    o = overview(organization_id=organization.pk, start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert o["tickets"]["total"] == 0 and o["response_times"]["within_sla"] == 0
