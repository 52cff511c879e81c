"""The manager dashboard in the admin (issue 13): figures equal hand-counted data, scoped
to the manager's organization, refused to agents, a bounded number of queries, and a
bad period shown as an error on the page."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents import roles
from agents.tests.factories import AgentFactory, TeamFactory
from analytics.charts import Series, bar_chart, line_chart
from tickets.models import Satisfaction
from tickets.tests.factories import TicketFactory

URL = "/admin/dashboard/"
# Whatever the data size (test_query_count_does_not_grow_with_data). 27 today: the
# admin's 5 (session, user, organization, 2 permission reads), the queue (1), the
# workload (4), the trends (roll-up state, rolled days, 3 live counts), agent_metrics'
# 11 and the team choices.
QUERY_BUDGET = 27


def _today():
    return timezone.now().astimezone(UTC).date()


def _at(days_ago: int, hour: int = 12) -> datetime:
    return datetime.combine(_today() - timedelta(days=days_ago), time(hour), tzinfo=UTC)


def _rows(html: str, attribute: str) -> dict[str, list[str]]:
    """{data-<attribute> value: [cell texts]} of the table rows carrying that attribute."""
    found = {}
    for key, row in re.findall(rf'<tr data-{attribute}="([^"]*)">(.*?)</tr>', html, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        found[key] = [re.sub(r"<[^>]+>", "", c).strip() for c in cells]
    return found


def _figure(html: str, name: str) -> str:
    return re.search(rf'id="figure-{name}">([^<]*)<', html).group(1)


def make_dashboard_data(organization) -> dict:
    """Two teams, three agents, and tickets of every kind the dashboard counts (also the
    browser test's data: test_dashboard_browser.py)."""
    billing = TeamFactory(organization=organization, name="Billing")
    returns = TeamFactory(organization=organization, name="Returns")
    ann = AgentFactory(organization=organization, name="Ann", email="ann@acme.test", capacity=5)
    bob = AgentFactory(
        organization=organization,
        name="Bob",
        email="bob@acme.test",
        capacity=3,
        availability="away",
    )
    cy = AgentFactory(organization=organization, name="Cy", email="cy@acme.test", capacity=4)
    gone = AgentFactory(
        organization=organization, name="Gone", email="gone@acme.test", is_active=False
    )
    ann.teams.add(billing)
    bob.teams.add(billing, returns)
    cy.teams.add(returns)
    gone.teams.add(billing)

    def ticket(**fields):
        fields.setdefault("created_at", _at(1))
        return TicketFactory(organization=organization, **fields)

    # The open queue: 6 active tickets.
    ticket(priority="urgent", sla_status="breached", assignee=ann, team=billing)
    ticket(priority="urgent", sla_status="at_risk", team=billing)  # billing's queue
    ticket(priority="high", sla_status="active", status="in_progress", assignee=bob)
    ticket(priority="high", sla_status="breached", assignee=cy, team=returns)
    ticket(priority="normal", status="pending", sla_status="paused", assignee=ann)
    ticket(priority="normal", created_at=_at(3))  # no SLA, no team, unassigned
    # Done: not in the queue, but in the trends.
    done = ticket(
        priority="low",
        status="resolved",
        assignee=ann,
        created_at=_at(3),
        first_response_at=_at(3, 13),
        resolved_at=_at(2),
    )
    ticket(
        priority="urgent",
        status="closed",
        assignee=cy,
        created_at=_at(2),
        first_response_at=_at(2, 14),
        resolved_at=_at(1),
        closed_at=_at(1),
    )
    ticket(created_at=_at(40), status="closed", resolved_at=_at(39), closed_at=_at(39))
    Satisfaction.objects.create(organization=organization, ticket=done, rating=4)
    return {"billing": billing, "returns": returns, "ann": ann, "bob": bob, "cy": cy}


# What the dashboard shows for make_dashboard_data, counted by hand.
# Queue columns: breached, at risk, on track, paused, no SLA, total.
EXPECTED_QUEUE = {
    "urgent": ["1", "1", "0", "0", "0", "2"],
    "high": ["1", "0", "1", "0", "0", "2"],
    "normal": ["0", "0", "0", "1", "1", "2"],
    "low": ["0", "0", "0", "0", "0", "0"],
    "total": ["2", "1", "1", "1", "1", "6"],
}
# Members, available now, capacity, assigned to members, team queue, workload, load.
# Billing: Ann (5) + Bob (3) (Gone is inactive); Ann holds 2 open, Bob 1; 1 unassigned.
# Returns: Bob (3) + Cy (4); Bob 1, Cy 1 open; nothing unassigned.
EXPECTED_TEAMS = {
    "Billing": ["2", "1", "8", "3", "1", "4", "50%"],
    "Returns": ["2", "1", "7", "2", "0", "2", "29%"],
}
# Open load / capacity, per active agent of make_dashboard_data.
EXPECTED_LOAD = {"ann@acme.test": "2 / 5", "bob@acme.test": "1 / 3", "cy@acme.test": "1 / 4"}
# The rest of the agent row (analytics.selectors.agent_metrics): Ann answered her resolved
# ticket in 1 h and resolved it in 24 h, rated 4; Cy answered in 2 h, resolved in 24 h.
EXPECTED_AGENTS = {
    "ann@acme.test": ["0", "0", "0", "1", "60.0 / 60.0", "24.0 / 24.0", "—", "4.00 (1)", "0 (—)"],
    "bob@acme.test": ["0", "0", "0", "0", "— / —", "— / —", "—", "— (0)", "0 (—)"],
    "cy@acme.test": ["0", "0", "0", "1", "120.0 / 120.0", "24.0 / 24.0", "—", "— (0)", "0 (—)"],
}


@pytest.fixture
def data(organization):
    return make_dashboard_data(organization)


@pytest.mark.django_db
def test_dashboard_shows_the_queue_by_priority_and_sla_state(manager_client, data):
    response = manager_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    queue = _rows(html, "priority")
    assert {priority: cells[1:] for priority, cells in queue.items()} == EXPECTED_QUEUE
    assert (_figure(html, "open"), _figure(html, "unassigned")) == ("6", "2")
    assert (_figure(html, "breached"), _figure(html, "at-risk")) == ("2", "1")
    assert "<svg" in html and "Open tickets by priority and SLA state" in html


@pytest.mark.django_db
def test_dashboard_shows_team_workload_against_capacity(manager_client, data):
    html = manager_client.get(URL).content.decode()
    teams = _rows(html, "team")
    assert {team: cells[1:] for team, cells in teams.items()} == EXPECTED_TEAMS
    assert "Team workload against capacity" in html


@pytest.mark.django_db
def test_dashboard_shows_the_agent_table(manager_client, data, manager):
    html = manager_client.get(URL).content.decode()
    agents = _rows(html, "agent")
    assert "gone@acme.test" not in agents  # inactive agents are left out
    assert {"ann@acme.test", "bob@acme.test", "cy@acme.test"} <= set(agents)
    assert agents["ann@acme.test"][0] == "Ann"
    assert {email: agents[email][1] for email in EXPECTED_LOAD} == EXPECTED_LOAD
    # Assigned, tickets replied, replies, resolved, first response p50 / p90 (min),
    # resolution p50 / p90 (h), SLA compliance, CSAT (ratings), reopened (rate).
    assert agents["ann@acme.test"][2:] == EXPECTED_AGENTS["ann@acme.test"]
    assert agents["cy@acme.test"][2:] == EXPECTED_AGENTS["cy@acme.test"]
    assert agents["bob@acme.test"][2:] == EXPECTED_AGENTS["bob@acme.test"]


@pytest.mark.django_db
def test_dashboard_shows_daily_trends(manager_client, data):
    html = manager_client.get(URL).content.decode()
    days = _rows(html, "day")
    day = lambda n: f"{_today() - timedelta(days=n):%Y-%m-%d}"  # noqa: E731
    assert len(days) == 31  # 30 days and the total
    # Created, resolved, first responses.
    assert days[day(1)][1:] == ["5", "1", "0"]
    assert days[day(2)][1:] == ["1", "1", "1"]
    assert days[day(3)][1:] == ["2", "0", "1"]
    assert days["total"][1:] == ["8", "2", "2"]  # the ticket of 40 days ago is outside
    assert (_figure(html, "created"), _figure(html, "resolved")) == ("8", "2")
    assert "<polyline" in html


@pytest.mark.django_db
def test_dashboard_period_and_team_are_chosen(manager_client, data):
    start = f"{_today() - timedelta(days=45):%Y-%m-%d}"
    end = f"{_today() - timedelta(days=2):%Y-%m-%d}"
    html = manager_client.get(URL, {"start": start, "end": end}).content.decode()
    days = _rows(html, "day")
    assert len(days) == 45
    assert days["total"][1:] == ["4", "2", "2"]
    html = manager_client.get(URL, {"team": str(data["billing"].pk)}).content.decode()
    assert set(_rows(html, "team")) == {"Billing"}
    assert _rows(html, "priority")["total"][-1] == "2"  # billing's active tickets
    assert set(_rows(html, "agent")) == {"ann@acme.test", "bob@acme.test"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2026-05-10", "end": "2026-05-01"}, "is after the end date"),
        ({"start": "yesterday"}, "Enter a valid date"),
        ({"start": "2020-01-01", "end": "2022-01-01"}, "it may be at most 366 days"),
        ({"end": "2999-01-01"}, "is in the future"),
        ({"team": "not-a-team"}, "is not a valid UUID"),
    ],
)
def test_a_bad_period_is_an_error_on_the_page(manager_client, data, query, message):
    response = manager_client.get(URL, query)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="period-errors"' in html and message in html
    assert 'id="queue"' not in html


@pytest.mark.django_db
def test_another_organizations_team_is_not_a_choice(other_manager_client, data):
    html = other_manager_client.get(URL, {"team": str(data["billing"].pk)}).content.decode()
    assert "Select a valid choice" in html and "Billing" not in html


@pytest.mark.django_db
def test_a_manager_of_another_organization_sees_only_their_own(other_manager_client, data):
    response = other_manager_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert _figure(html, "open") == "0" and _figure(html, "created") == "0"
    assert _rows(html, "team") == {}
    assert set(_rows(html, "agent")) == {"boss@globex.test"}
    for leak in ("Billing", "Returns", "ann@acme.test", "Acme"):
        assert leak not in html


@pytest.mark.django_db
def test_an_admin_of_the_organization_sees_it(organization, data):
    client = Client()
    client.force_login(AgentFactory(organization=organization, role=roles.ADMIN))
    assert _figure(client.get(URL).content.decode(), "open") == "6"


@pytest.mark.django_db
def test_an_agent_is_refused(agent_client, data):
    assert agent_client.get(URL).status_code == 403


@pytest.mark.django_db
def test_anonymous_goes_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={URL}"


@pytest.mark.django_db
def test_a_superuser_chooses_the_organization(superuser, organization, data):
    client = Client()
    client.force_login(superuser)
    html = client.get(URL).content.decode()
    assert 'id="dashboard-empty"' in html and "Acme" in html  # the choice, no figures
    assert 'id="queue"' not in html
    html = client.get(URL, {"organization": str(organization.pk)}).content.decode()
    assert _figure(html, "open") == "6"
    html = client.get(URL, {"organization": "nonsense"}).content.decode()
    assert 'id="dashboard-empty"' in html


@pytest.mark.django_db
def test_the_admin_index_links_the_dashboard_for_managers_only(manager_client, agent_client):
    assert 'href="/admin/dashboard/"' in manager_client.get("/admin/").content.decode()
    assert 'href="/admin/dashboard/"' not in agent_client.get("/admin/").content.decode()


def _count_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_data(
    manager_client, organization, data, django_assert_max_num_queries
):
    small = _count_queries(manager_client)
    for n in range(4):  # more teams, agents and tickets of every kind
        team = TeamFactory(organization=organization, name=f"Team {n}")
        for m in range(3):
            member = AgentFactory(organization=organization, name=f"Agent {n}.{m}")
            member.teams.add(team)
            for priority, sla in (("low", "active"), ("high", "breached"), ("urgent", "")):
                TicketFactory(
                    organization=organization,
                    priority=priority,
                    sla_status=sla,
                    assignee=member,
                    team=team,
                    created_at=_at(n + m),
                )
            TicketFactory(
                organization=organization,
                status="resolved",
                assignee=member,
                created_at=_at(5),
                first_response_at=_at(5, 13),
                resolved_at=_at(4),
            )
    assert _count_queries(manager_client) == small
    with django_assert_max_num_queries(QUERY_BUDGET):
        manager_client.get(URL)


def test_charts_escape_their_text():
    svg = bar_chart(
        title="<script>",
        labels=["A & B", "<b>"],
        series=[Series("x<y", [1, 2], "#000"), Series("z", [0, 3], "#111")],
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "A &amp; B" in svg and "&lt;b&gt;" in svg and "x&lt;y" in svg
    line = line_chart(title="t", labels=["d1", "d2"], series=[Series("s", [0, 0], "#000")])
    assert line.startswith("<svg") and "<polyline" in line
