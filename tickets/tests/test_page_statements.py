"""On PostgreSQL an inbox page's statement is compiled once per set of inputs and run
as it is afterwards (tickets.selectors._page_rows): the pages are the ones the ORM
query gives, for every filter, ordering and slice, and no organization or caller ever
gets a statement made for another."""

from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from agents.tests.factories import AgentFactory
from tickets import selectors
from tickets.services import ticket_assign, ticket_create, ticket_transition

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/v1/tickets?status=open&limit=25",
    "/api/v1/tickets?status=open&limit=25&smart_order=true",
    "/api/v1/tickets?status=open,pending",
    "/api/v1/tickets?assigned_to=me",
    "/api/v1/tickets?assigned_to=none&status=open",
    "/api/v1/tickets?priority=high",
    "/api/v1/tickets?sort=priority&order=asc",
    "/api/v1/tickets?sort=last_message_at&order=desc",
    "/api/v1/tickets?limit=2&page=2",
    "/api/v1/tickets?q=refund",
    "/api/v1/tickets?customer_id=7408502702335",
    "/api/v1/tickets?created_after=2026-01-01T00:00:00Z",
]


@pytest.fixture
def inbox(organization, customer, agent):
    with time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False):
        made = []
        for i, (priority, subject) in enumerate(
            [
                ("high", "Refund please"),
                ("normal", "Where is it"),
                ("low", "Thanks"),
                ("urgent", "Refund now"),
                ("normal", "Size"),
            ]  # fmt: skip
        ):
            made.append(
                ticket_create(
                    organization=organization,
                    customer=customer,
                    subject=subject,
                    priority=priority,
                    initial_message=f"message {i}",
                    actor=None,
                )
            )
        ticket_assign(ticket=made[0], actor=None, assignee=agent)
        ticket_transition(ticket=made[2], actor=None, to_status="pending")
    return made


def _pages(client) -> list:
    with time_machine.travel(datetime(2026, 11, 21, 12, tzinfo=UTC), tick=False):
        answers = [client.get(path) for path in PATHS]
    assert all(a.status_code == 200 for a in answers), [a.content[:200] for a in answers]
    return [a.json() for a in answers]


def test_compiled_statements_give_the_pages_the_orm_gives(
    require_postgres, inbox, agent, monkeypatch
):
    client = APIClient()
    client.force_login(agent)
    selectors._PAGE_STATEMENTS.clear()
    compiled = _pages(client)
    assert selectors._PAGE_STATEMENTS  # compiled and kept
    reused = _pages(client)
    orm_rows = selectors._page_rows
    monkeypatch.setattr(
        selectors, "_page_rows", lambda qs, key, offset, limit: orm_rows(qs, None, offset, limit)
    )
    assert compiled == reused == _pages(client)
    assert [len(p["tickets"]) for p in compiled] == [4, 4, 5, 1, 3, 1, 5, 5, 2, 2, 5, 5]
    assert compiled[0]["tickets"][0]["tags"] == []


def test_a_statement_is_never_another_organizations_or_callers(
    require_postgres, inbox, organization, other_organization, agent
):
    mine, theirs = APIClient(), APIClient()
    mine.force_login(agent)
    outsider = AgentFactory(organization=other_organization)
    theirs.force_login(outsider)
    colleague = APIClient()
    colleague.force_login(AgentFactory(organization=organization))
    for _ in range(2):  # the second time from the kept statements
        assert len(mine.get("/api/v1/tickets?status=open").json()["tickets"]) == 4
        assert theirs.get("/api/v1/tickets?status=open").json()["tickets"] == []
        assert len(mine.get("/api/v1/tickets?assigned_to=me").json()["tickets"]) == 1
        assert colleague.get("/api/v1/tickets?assigned_to=me").json()["tickets"] == []


def test_a_kept_page_builds_no_filter_set_or_queryset(require_postgres, inbox, agent, monkeypatch):
    """With its count and statement kept, a page is answered without building the filter
    set or the queryset (they cost more than the page's own query), and is the same."""
    client = APIClient()
    client.force_login(agent)
    path = "/api/v1/tickets?status=open&limit=3"
    first = client.get(path).json()
    built = []
    original = selectors.ticket_list_for_organization

    def spy(**kwargs):
        built.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(selectors, "ticket_list_for_organization", spy)
    assert client.get(path).json() == first
    assert built == []
    assert client.get("/api/v1/tickets?status=open&limit=2").status_code == 200
    assert len(built) == 1  # a new slice: compiled from a fresh queryset


def test_kept_cleanings_keep_every_answer(inbox, agent, key_client):
    """What parameters clean to is kept per process; an answer never changes for it:
    `me` stays a 400 for an API key after an agent used it, a bad value stays a 400."""
    agent_client = APIClient()
    agent_client.force_login(agent)
    for _ in range(2):
        assert len(agent_client.get("/api/v1/tickets?assigned_to=me").json()["tickets"]) == 1
        refused = key_client.get("/api/v1/tickets?assigned_to=me")
        assert refused.status_code == 400, refused.content
        assert "needs an agent login" in refused.json()["detail"]
        assert len(key_client.get("/api/v1/tickets?limit=2").json()["tickets"]) == 2
        assert len(key_client.get("/api/v1/tickets?limit=3").json()["tickets"]) == 3
        assert key_client.get("/api/v1/tickets?limit=abc").status_code == 400
        assert key_client.get("/api/v1/tickets?status=nope").status_code == 400
        both = key_client.get("/api/v1/tickets?status=open&status=pending").json()
        assert both["filters_applied"]["status"] == "pending"  # the last value, as before
