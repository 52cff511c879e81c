"""Query budgets of every list and detail endpoint: the count of SQL queries is bounded
and does not grow with the number of rows (measured with 3 and with 30 rows)."""

import pytest

from tickets.services import customer_get_or_create, message_add, note_add, ticket_create

BUDGETS = {
    "/api/v1/tickets?limit=100": 6,
    "/api/v1/tickets?limit=100&smart_order=true&topic_alerts=arrived&apply_rules=true": 6,
    "/api/v1/tickets/{ticket}": 8,
    "/api/v1/tickets/{ticket}/messages": 5,
    "/api/v1/tickets/{ticket}/notes": 5,
    "/api/v1/tickets/{ticket}/events": 5,
    "/api/v1/tickets/{ticket}/events?kind=message.created,note.created": 5,
    "/api/v1/tickets/{ticket}/score-breakdown": 4,
    "/api/v1/customers?limit=100": 5,
    "/api/v1/customers?limit=100&tier=standard,vip&q=budget": 5,
    "/api/v1/customers/{customer}": 4,
    "/api/v1/agents": 5,
    "/api/v1/rules": 4,
    "/api/v1/rules?active=true&type=vip,custom": 4,
    "/api/v1/sla/calendars": 4,
    "/api/v1/sla/policies": 4,
}


def _load(organization, n: int):
    tickets = []
    for i in range(n):
        customer = customer_get_or_create(organization=organization, external_id=f"budget-{i}")
        ticket = ticket_create(
            organization=organization,
            customer=customer,
            subject=f"S {i}",
            initial_message="It has not arrived",
            tags=["a", "b"],
            actor=None,
        )
        tickets.append(ticket)
    for i in range(n):
        message_add(ticket=tickets[0], content=f"m{i}", from_agent=bool(i % 2), actor=None)
        note_add(ticket=tickets[0], content=f"n{i}", actor=None)
    return tickets[0]


def _count(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    return len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "budget"), list(BUDGETS.items()))
def test_query_budget_does_not_grow_with_rows(agent_client, organization, path, budget):
    ticket = _load(organization, 3)
    url = path.format(ticket=ticket.pk, customer=ticket.customer.external_id)
    _count(agent_client, url)  # warm the session and caches
    small = _count(agent_client, url)
    assert small <= budget, f"{url}: {small} queries > {budget}"
    bigger = _load(organization, 30)
    url = path.format(ticket=bigger.pk, customer=bigger.customer.external_id)
    assert _count(agent_client, url) == small, f"{url}: query count grows with the data"
