"""Read replica routing (agents.replica) against a second PostgreSQL database.

DATABASE_REPLICA_URL names it; the test runner gives it a test database of its own
(test_<name>, not a mirror of the primary), so the two differ and what an answer shows
tells where it was read: a ticket created through the API is on the primary only (the
replica lags), rows written straight into the replica are on it only. Lists and reports
show the replica's rows; details and writes the primary's.

Skipped without a replica, except under REQUIRE_SERVICES=1 (.ci/run sets one).
"""

import copy
import os
import re
import subprocess

import pytest
from django.conf import settings
from django.core.management.color import no_style
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from agents.replica import REPLICA, replica_reads
from tickets.models import Customer, Ticket
from tickets.selectors import ticket_page_for_organization

REPLICA_CONFIGURED = REPLICA in settings.DATABASES
pytestmark = pytest.mark.django_db(
    transaction=True,  # the router sends nothing to the replica inside a transaction
    databases=["default", REPLICA] if REPLICA_CONFIGURED else ["default"],
)

# Tables of the data that lists and reports show: none of them may be read on the
# primary by a routed endpoint (authentication, the session and the admin's frame may).
DATA_TABLES = re.compile(r'"(tickets|analytics|sla|intelligence|rules)_\w+"')


def _pg(program: str, database: dict, *args: str, stdin: str | None = None) -> str:
    """Run a PostgreSQL client program against `database` (a settings dict)."""
    env = dict(os.environ)
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER")):
        if database.get(key):
            env[variable] = str(database[key])
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = database["PASSWORD"]
    result = subprocess.run(
        [program, *args, database["NAME"]],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{program}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def replica_schema(django_db_setup, django_db_blocker):
    """The primary's schema in the replica's test database, as replication would bring
    it. The router keeps `migrate` off the replica, so the test runner left it empty but
    for django_migrations; the primary's schema is copied over (pg_dump | psql)."""
    if not REPLICA_CONFIGURED:
        return
    with django_db_blocker.unblock():
        replica = connections[REPLICA]
        if "tickets_ticket" in replica.introspection.table_names():
            return
        with replica.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS django_migrations")
        schema = _pg("pg_dump", connections["default"].settings_dict, "--schema-only", "-O", "-x")
        _pg("psql", replica.settings_dict, "-q", "-v", "ON_ERROR_STOP=1", "-d", stdin=schema)


@pytest.fixture
def replica(require_replica, replica_schema):
    """The replica's connection; emptied after the test (the test runner's flush leaves
    it alone, the router keeping it out of `migrate`)."""
    connection = connections[REPLICA]
    yield connection
    tables = [t for t in connection.introspection.table_names() if t != "django_migrations"]
    connection.ops.execute_sql_flush(
        connection.ops.sql_flush(no_style(), tables, allow_cascade=True)
    )


def _replicate(*rows):
    """Copy rows of the primary to the replica, as replication would (no signals)."""
    for row in rows:
        type(row).objects.using(REPLICA).bulk_create([copy.copy(row)])


def _replica_only_ticket(organization, customer, subject) -> Ticket:
    ticket = Ticket(organization=organization, customer=customer, subject=subject)
    Ticket.objects.using(REPLICA).bulk_create([ticket])
    return ticket


@pytest.fixture
def lagging_replica(replica, organization, manager, customer):
    """The organization on both, then two tickets and a customer the primary lacks."""
    _replicate(organization, manager, customer)
    late = Customer(organization=organization, external_id="r-1", name="Replica Customer")
    Customer.objects.using(REPLICA).bulk_create([late])
    return [
        _replica_only_ticket(organization, customer, "Only on the replica"),
        _replica_only_ticket(organization, late, "Also only on the replica"),
    ]


def test_lists_read_the_replica_details_and_writes_the_primary(manager_client, lagging_replica):
    created = manager_client.post(
        "/api/v1/tickets",
        {
            "customer_id": "7408502702335",
            "subject": "Created just now",
            "initial_message": "Hello",
            "author_name": "Ada Buyer",
        },
        format="json",
    )
    assert created.status_code == 201
    created_id = created.json()["ticket"]["id"]
    assert Ticket.objects.filter(pk=created_id).exists()  # on the primary...
    assert not Ticket.objects.using(REPLICA).filter(pk=created_id).exists()  # ...only

    listed = manager_client.get("/api/v1/tickets?limit=100").json()
    assert sorted(t["subject"] for t in listed["tickets"]) == [
        "Also only on the replica",
        "Only on the replica",
    ]
    assert listed["pagination"]["total"] == 2
    customers = manager_client.get("/api/v1/customers").json()["customers"]
    assert "Replica Customer" in [c["name"] for c in customers]
    overview = manager_client.get("/api/v1/analytics/overview").json()
    assert overview["tickets"]["total"] == 2

    # The detail reads the primary: the ticket just created is there, the replica's not.
    assert manager_client.get(f"/api/v1/tickets/{created_id}").status_code == 200
    only_replica = lagging_replica[0].pk
    assert manager_client.get(f"/api/v1/tickets/{only_replica}").status_code == 404
    assert manager_client.get("/api/v1/customers/r-1").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets?limit=100",
        "/api/v1/tickets?limit=100&smart_order=true&topic_alerts=arrived&apply_rules=true",
        "/api/v1/customers?limit=100",
        "/api/v1/analytics/overview",
        "/api/v1/analytics/agents",
        "/api/v1/analytics/agents?format=csv",
        "/api/v1/analytics/teams",
        "/api/v1/analytics/sla",
        "/api/v1/analytics/churn-risk",
        "/admin/dashboard/",
    ],
)
def test_routed_endpoints_read_their_data_on_the_replica_only(
    manager_client, lagging_replica, path
):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as replica,
    ):
        response = manager_client.get(path)
    assert response.status_code == 200, response.content[:300]
    on_primary = [q["sql"] for q in primary.captured_queries if DATA_TABLES.search(q["sql"])]
    assert on_primary == []
    assert any(DATA_TABLES.search(q["sql"]) for q in replica.captured_queries)


def test_the_ticket_list_keeps_its_query_budget_across_both(manager_client, lagging_replica):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as replica,
    ):
        assert manager_client.get("/api/v1/tickets?limit=100").status_code == 200
    # tickets/tests/test_query_budgets.py: 6 on one database; here the session and the
    # user on the primary, the page on the replica.
    assert len(primary.captured_queries) + len(replica.captured_queries) <= 6
    assert len(primary.captured_queries) == 2


def test_the_estimated_count_is_the_replicas(manager_client, lagging_replica, settings):
    settings.API_COUNT_CAP = 1  # past it, the planner's estimate (EXPLAIN) is the total
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as replica,
    ):
        listed = manager_client.get("/api/v1/tickets").json()
    assert listed["pagination"]["total_is_estimate"] is True
    assert any(q["sql"].startswith("EXPLAIN") for q in replica.captured_queries)
    assert not any(q["sql"].startswith("EXPLAIN") for q in primary.captured_queries)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets/{ticket}",
        "/api/v1/tickets/{ticket}/messages",
        "/api/v1/tickets/{ticket}/events",
        "/api/v1/customers/7408502702335",
        "/api/v1/agents",
        "/api/v1/rules",
        "/api/v1/sla/policies",
        "/api/v1/auth/whoami",
    ],
)
def test_details_and_other_reads_stay_on_the_primary(
    manager_client, lagging_replica, make_ticket, path
):
    ticket = make_ticket()
    with CaptureQueriesContext(connections[REPLICA]) as replica:
        response = manager_client.get(path.format(ticket=ticket.pk))
    assert response.status_code == 200, response.content[:300]
    assert replica.captured_queries == []


def test_with_the_replica_unreachable_lists_are_a_503_and_details_answer(
    manager_client, lagging_replica, make_ticket
):
    ticket = make_ticket()
    replica = connections[REPLICA]
    saved = dict(replica.settings_dict)
    replica.close()
    replica.settings_dict.update(PORT="1", OPTIONS={"connect_timeout": 2})  # nobody there
    try:
        assert manager_client.get("/api/v1/tickets").status_code == 503
        assert manager_client.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    finally:
        replica.close()
        replica.settings_dict.update(saved)


def test_reads_in_a_transaction_stay_on_the_primary(lagging_replica, make_ticket):
    make_ticket(subject="On the primary")
    with replica_reads():
        assert set(Ticket.objects.values_list("subject", flat=True)) == {
            "Only on the replica",
            "Also only on the replica",
        }
        with transaction.atomic():
            # A read-your-writes: a write of this transaction must be visible.
            assert list(Ticket.objects.values_list("subject", flat=True)) == ["On the primary"]
            assert Ticket.objects.select_for_update().count() == 1
    assert list(Ticket.objects.values_list("subject", flat=True)) == ["On the primary"]


def test_a_kept_page_statement_reads_where_the_read_goes_now(lagging_replica, make_ticket):
    """An inbox page's statement is compiled once (tickets.selectors); where it runs is
    decided on each read: compiled on the replica, it still reads the primary inside a
    transaction."""
    make_ticket(subject="On the primary")
    org = lagging_replica[0].organization_id

    def subjects():
        page = ticket_page_for_organization(organization_id=org, filters={}, limit=10)
        return sorted(t.subject for t in page.tickets)

    with replica_reads():
        replicated = ["Also only on the replica", "Only on the replica"]
        assert subjects() == replicated  # compiled here, on the replica
        with transaction.atomic():
            assert subjects() == ["On the primary"]  # the kept statement, on the primary
        assert subjects() == replicated
