"""The analytics API: who sees what, parameters, CSV, query budgets, and the overview
against the frontend's own schema (contracts/support-frontend-openapi.yaml)."""

import csv
import io
import uuid
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from agents import roles
from agents.services import api_key_create
from agents.tests.factories import AgentFactory, TeamFactory
from analytics.tests.conftest import make_ticket_row

pytestmark = pytest.mark.django_db
DOCUMENT = Path(__file__).resolve().parents[2] / "contracts" / "support-frontend-openapi.yaml"
MARCH = "start_date=2026-03-01&end_date=2026-03-31"


def _client(user=None, key_role=None, organization=None):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    if key_role is not None:
        _, raw = api_key_create(organization=organization, name=key_role, role=key_role, actor=None)
        client.credentials(HTTP_X_API_KEY=raw)
    return client


@pytest.fixture
def boss(dataset):
    return _client(dataset.manager)


def test_manager_sees_every_agent_and_team(boss, dataset):
    agents = boss.get(f"/api/v1/analytics/agents?{MARCH}").json()
    assert [a["name"] for a in agents["agents"]] == ["Alice", "Bob", "Zed Manager"]
    assert agents["period"]["start"] == "2026-03-01" and "calendar" in agents["time_basis"]
    alice = agents["agents"][0]
    assert alice["first_response_p90_minutes"] == 46.0 and alice["csat_average"] == 4.0
    teams = boss.get(f"/api/analytics/teams?{MARCH}").json()  # the unversioned tree too
    assert [t["name"] for t in teams["teams"]] == ["Billing", "Ops"]
    sla = boss.get(f"/api/v1/analytics/sla/?{MARCH}").json()
    assert sla["compliance"] == 0.6667


def test_an_agent_sees_only_their_own_figures(dataset):
    bob = _client(dataset.bob)
    rows = bob.get(f"/api/v1/analytics/agents?{MARCH}").json()["agents"]
    assert [r["name"] for r in rows] == ["Bob"]
    overview = bob.get(f"/api/v1/analytics/overview?{MARCH}").json()
    assert overview["scope"]["agent_id"] == str(dataset.bob.pk)
    assert overview["tickets"]["total"] == 2  # t5 and t6, Bob's tickets created in March
    assert bob.get("/api/v1/analytics/teams").status_code == 403
    assert bob.get("/api/v1/analytics/sla").status_code == 403


def test_api_keys(dataset):
    org = dataset.organization
    agent_key = _client(key_role=roles.AGENT, organization=org)
    overview = agent_key.get(f"/api/v1/analytics/overview?{MARCH}").json()
    assert overview["scope"] == {"team_id": None, "agent_id": None}
    assert overview["tickets"]["total"] == 5  # the organization's
    assert agent_key.get("/api/v1/analytics/agents").status_code == 403
    assert agent_key.get("/api/v1/analytics/teams").status_code == 403
    manager_key = _client(key_role=roles.MANAGER, organization=org)
    assert len(manager_key.get("/api/v1/analytics/agents").json()["agents"]) == 3
    assert APIClient().get("/api/v1/analytics/overview").status_code == 401


def test_team_filter_and_a_foreign_team_is_404(boss, dataset, other_organization):
    ops = boss.get(f"/api/v1/analytics/agents?{MARCH}&team_id={dataset.team.pk}").json()
    assert [a["name"] for a in ops["agents"]] == ["Alice", "Bob"]
    overview = boss.get(f"/api/v1/analytics/overview?{MARCH}&team_id={dataset.team.pk}")
    assert overview.json()["tickets"]["open_now"] == 3
    foreign = TeamFactory(organization=other_organization)
    for path in ("overview", "agents", "teams", "sla"):
        assert boss.get(f"/api/v1/analytics/{path}?team_id={foreign.pk}").status_code == 404
        assert boss.get(f"/api/v1/analytics/{path}?team_id={uuid.uuid4()}").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start_date=2026-02-30", "start_date"),
        ("end_date=yesterday", "end_date"),
        ("start_date=2026-03-10&end_date=2026-03-01", "end_date"),
        ("start_date=2024-01-01&end_date=2026-01-01", "end_date"),
        ("team_id=not-a-uuid", "team_id"),
        ("format=xml", "format"),
    ],
)
def test_bad_parameters_are_400_naming_them(boss, dataset, query, field):
    response = boss.get(f"/api/v1/analytics/agents?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_csv_only_on_the_tables(boss, dataset):
    assert boss.get("/api/v1/analytics/overview?format=csv").status_code == 400
    assert boss.get("/api/v1/analytics/sla?format=csv").status_code == 400
    assert boss.get("/api/v1/analytics/overview?_t=123").status_code == 200  # cache buster


def test_csv_download(boss, dataset):
    response = boss.get(f"/api/v1/analytics/agents?{MARCH}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == (
        'attachment; filename="agents_2026-03-01_2026-03-31.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["name"] for r in rows] == ["Alice", "Bob", "Zed Manager"]
    assert rows[0]["first_response_p50_minutes"] == "30.0" and rows[1]["csat_average"] == ""
    teams = boss.get(f"/api/v1/analytics/teams?{MARCH}&format=csv")
    assert teams["Content-Disposition"].startswith('attachment; filename="teams_')
    ops = [r for r in csv.DictReader(io.StringIO(teams.content.decode())) if r["name"] == "Ops"]
    assert ops[0]["members"] == "Alice; Bob"


def test_an_empty_table_downloads_its_header_line(boss, dataset):
    empty = TeamFactory(organization=dataset.organization, name="Nobody here")
    response = boss.get(f"/api/v1/analytics/agents?{MARCH}&team_id={empty.pk}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(response.content.decode())))
    assert {"agent_id", "name", "email", "csat_average"} <= set(header)


def test_csv_cells_never_start_a_formula(boss, dataset):
    dataset.alice.name = "=HYPERLINK(1)"
    dataset.alice.save(update_fields=["name"])
    response = boss.get("/api/v1/analytics/agents?format=csv")
    assert "'=HYPERLINK(1)" in response.content.decode()


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


BUDGETS = {
    f"/api/v1/analytics/overview?{MARCH}": 16,
    f"/api/v1/analytics/agents?{MARCH}": 14,
    f"/api/v1/analytics/agents?{MARCH}&format=csv": 14,
    f"/api/v1/analytics/teams?{MARCH}": 15,
    f"/api/v1/analytics/sla?{MARCH}": 5,
}


@pytest.mark.parametrize(("url", "budget"), list(BUDGETS.items()))
def test_query_budget_does_not_grow_with_data(
    boss, dataset, url, budget, django_assert_max_num_queries
):
    _count(boss, url)  # warm the session
    small = _count(boss, url)
    assert small <= budget, f"{url}: {small} queries > {budget}"
    for i in range(3):  # more agents, teams and tickets
        extra = AgentFactory(organization=dataset.organization, email=f"more{i}@acme.test")
        extra.teams.add(TeamFactory(organization=dataset.organization))
    customer = dataset.t1.customer
    for i in range(10):
        make_ticket_row(dataset.organization, customer, f"x{i}", assignee=dataset.bob)
    with django_assert_max_num_queries(small):
        boss.get(url)


# --- The frontend's contract ------------------------------------------------------------


def _nullable_to_json_schema(node):
    if isinstance(node, dict):
        node = {k: _nullable_to_json_schema(v) for k, v in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable_to_json_schema(v) for v in node]
    return node


def _conforms(name: str, instance: dict) -> None:
    document = _nullable_to_json_schema(yaml.safe_load(DOCUMENT.read_text()))
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(instance), key=lambda e: e.path)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:10]]


def test_overview_follows_the_frontend_contract(dataset):
    key = _client(key_role=roles.AGENT, organization=dataset.organization)
    body = key.get(f"/api/analytics/overview?{MARCH}").json()
    _conforms("AnalyticsOverview", body)
    assert body["period"] == {**body["period"], "start": "2026-03-01", "end": "2026-03-31"}


def test_overview_with_nothing_follows_the_frontend_contract(organization, api_key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    body = client.get("/api/analytics/overview").json()
    _conforms("AnalyticsOverview", body)
    assert body["tickets"]["total"] == 0
