"""The inbox's pagination total (issue 17): an inbox queue (status, assignee, team) is
counted once every API_QUEUE_COUNT_SECONDS and served from the cache in between; any other
filtering is counted on each request, bounded at API_FILTER_COUNT_CAP rows."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from agents.tests.factories import AgentFactory
from tickets.services import ticket_assign

pytestmark = pytest.mark.django_db

OPEN_QUEUE = "/api/v1/tickets?status=open&limit=25"


def _total(client, path):
    body = client.get(path).json()
    return body["pagination"]["total"], body["pagination"]["total_is_estimate"]


def test_an_open_queue_count_is_taken_once_then_served_from_the_cache(
    key_client, make_ticket, django_assert_max_num_queries, settings
):
    settings.API_QUEUE_COUNT_SECONDS = 5
    for _ in range(3):
        make_ticket()
    assert _total(key_client, OPEN_QUEUE) == (3, False)

    make_ticket()  # within the few seconds, the count is the cached one
    with django_assert_max_num_queries(3):  # the key, the page, its SLA block: no count
        assert _total(key_client, OPEN_QUEUE) == (3, False)
    # The rows themselves are never cached: the new ticket is on the page.
    assert len(key_client.get(OPEN_QUEUE).json()["tickets"]) == 4

    cache.clear()  # the entry expired
    assert _total(key_client, OPEN_QUEUE) == (4, False)


def test_each_queue_and_each_callers_me_has_its_own_count(
    organization, make_ticket, agent_client, agent, settings
):
    settings.API_QUEUE_COUNT_SECONDS = 5
    other = AgentFactory(organization=organization)
    mine = make_ticket()
    ticket_assign(ticket=mine, actor=None, assignee=agent)
    for _ in range(2):
        theirs = make_ticket()
        ticket_assign(ticket=theirs, actor=None, assignee=other)
    assert _total(agent_client, "/api/v1/tickets?assigned_to=me") == (1, False)
    assert _total(agent_client, f"/api/v1/tickets?assigned_to={other.pk}") == (2, False)
    assert _total(agent_client, "/api/v1/tickets?status=open") == (3, False)
    assert _total(agent_client, "/api/v1/tickets?status=resolved") == (0, False)


def test_other_filters_are_counted_on_each_request_up_to_the_filter_cap(
    key_client, make_ticket, settings
):
    settings.API_QUEUE_COUNT_SECONDS = 5
    settings.API_FILTER_COUNT_CAP = 3
    for _ in range(3):
        make_ticket(priority="high")
    assert _total(key_client, "/api/v1/tickets?priority=high") == (3, False)
    make_ticket(priority="high")  # fresh on the very next request: never cached
    total, estimated = _total(key_client, "/api/v1/tickets?priority=high")
    assert estimated is True and total >= 4  # past the cap: flagged as an estimate
    # A queue is counted exact up to the larger API_COUNT_CAP.
    assert _total(key_client, "/api/v1/tickets?status=open") == (4, False)


def test_with_the_cache_off_every_request_counts(key_client, make_ticket, settings):
    settings.API_QUEUE_COUNT_SECONDS = 0
    make_ticket()
    assert _total(key_client, OPEN_QUEUE) == (1, False)
    make_ticket()
    assert _total(key_client, OPEN_QUEUE) == (2, False)


def test_two_agents_asking_for_me_get_their_own_counts(
    organization, make_ticket, agent_client, agent, settings
):
    settings.API_QUEUE_COUNT_SECONDS = 5
    other = AgentFactory(organization=organization)
    other_client = APIClient()
    other_client.force_login(other)
    ticket_assign(ticket=make_ticket(), actor=None, assignee=agent)
    for _ in range(2):
        ticket_assign(ticket=make_ticket(), actor=None, assignee=other)
    assert _total(agent_client, "/api/v1/tickets?assigned_to=me&status=open") == (1, False)
    assert _total(other_client, "/api/v1/tickets?assigned_to=me&status=open") == (2, False)
    assert _total(agent_client, "/api/v1/tickets?status=open&assigned_to=me") == (1, False)
