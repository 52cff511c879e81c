"""Selectors: the inbox page (filters, ordering, keyset cursor, rescoring hook) and the
agent or team a client names."""

import pytest

from agents.exceptions import DomainError
from agents.tests.factories import AgentFactory, TeamFactory
from tickets.models import Ticket
from tickets.pagination import KEYSET_ORDERINGS, cursor_decode
from tickets.selectors import (
    assignee_resolve,
    team_resolve,
    ticket_page_for_organization,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(make_ticket):
    made = [
        make_ticket(subject=f"T{i}", priority=p) for i, p in enumerate(["low", "urgent", "high"])
    ]
    for i, ticket in enumerate(made):
        Ticket.objects.filter(pk=ticket.pk).update(smart_score=float(i))
    return made


def _page(organization, **kwargs):
    kwargs.setdefault("filters", {})
    return ticket_page_for_organization(organization_id=organization.pk, **kwargs)


def test_page_filters_orders_and_reports_what_was_applied(organization, tickets):
    page = _page(organization, filters={"priority": "urgent,high"}, sort="priority")
    assert [t.subject for t in page.tickets] == ["T1", "T2"]
    assert (page.total, page.total_is_estimate, page.has_more) == (2, False, False)
    assert page.filters_applied == {"priority": "urgent,high"}
    assert page.next_cursor is None  # priority has no keyset ordering


def test_page_cursor_walks_the_keyset(organization, tickets):
    first = _page(organization, smart_order=True, limit=2)
    assert [t.subject for t in first.tickets] == ["T2", "T1"] and first.has_more
    keyset = KEYSET_ORDERINGS[("smart", "desc")]
    assert cursor_decode(first.next_cursor, keyset)[0] == 1.0
    second = _page(organization, smart_order=True, limit=2, cursor=first.next_cursor)
    assert [t.subject for t in second.tickets] == ["T0"] and not second.has_more


def test_page_cursor_needs_a_keyset_ordering(organization, tickets):
    with pytest.raises(DomainError) as err:
        _page(organization, sort="priority", cursor="abc")
    assert err.value.field == "cursor"


def test_page_topic_alerts_flag_and_count(organization, make_ticket):
    make_ticket(subject="Parcel lost")
    make_ticket(subject="Invoice", initial_message="Wrong amount")
    page = _page(organization, topic_words=["parcel"])
    assert page.matches == 1
    assert {t.subject: t.matches_topic_alert for t in page.tickets} == {
        "Parcel lost": True,
        "Invoice": False,
    }


def test_page_rescore_reorders_by_the_fresh_scores(organization, tickets):
    def invert(page_tickets):
        for t in page_tickets:
            t.smart_score = -t.smart_score

    page = _page(organization, smart_order=True, rescore=invert)
    assert [t.subject for t in page.tickets] == ["T0", "T1", "T2"]


def test_page_bad_filter_is_a_domain_error_naming_it(organization):
    with pytest.raises(DomainError) as err:
        _page(organization, filters={"status": "archived"})
    assert err.value.field == "status" and "allowed values" in err.value.detail


def test_assignee_resolve(organization, agent, other_organization):
    colleague = AgentFactory(organization=organization)
    assert assignee_resolve(organization_id=organization.pk, value=None, caller=agent) is None
    assert assignee_resolve(organization_id=organization.pk, value=" none", caller=agent) is None
    assert assignee_resolve(organization_id=organization.pk, value="me", caller=agent) == agent
    found = assignee_resolve(organization_id=organization.pk, value=str(colleague.pk), caller=None)
    assert found == colleague
    stranger = AgentFactory(organization=other_organization)
    inactive = AgentFactory(organization=organization, is_active=False)
    for value, caller in [
        ("me", None),  # an API key is no agent
        ("bob", agent),
        (str(stranger.pk), agent),
        (str(inactive.pk), agent),
    ]:
        with pytest.raises(DomainError) as err:
            assignee_resolve(organization_id=organization.pk, value=value, caller=caller)
        assert err.value.field == "assigned_to"


def test_team_resolve(organization, other_organization):
    team = TeamFactory(organization=organization)
    assert team_resolve(organization_id=organization.pk, team_id=None) is None
    assert team_resolve(organization_id=organization.pk, team_id=team.pk) == team
    with pytest.raises(DomainError) as err:
        team_resolve(
            organization_id=organization.pk,
            team_id=TeamFactory(organization=other_organization).pk,
        )
    assert err.value.field == "team"
