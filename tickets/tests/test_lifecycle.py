"""The ticket lifecycle: the transition table, and what messages do to a ticket."""

import pytest

from agents.exceptions import DomainError
from tickets import lifecycle
from tickets.lifecycle import TRANSITIONS, IllegalTransition
from tickets.models import Ticket
from tickets.services import message_add, note_add, ticket_transition

ALL_PAIRS = [(a, b) for a in lifecycle.STATUSES for b in lifecycle.STATUSES if a != b]


def _put_in(ticket: Ticket, status: str) -> Ticket:
    """Drive a fresh (open) ticket to `status` through legal transitions."""
    path = {
        "open": [],
        "in_progress": ["in_progress"],
        "pending": ["pending"],
        "resolved": ["resolved"],
        "closed": ["closed"],
    }[status]
    for step in path:
        ticket = ticket_transition(ticket=ticket, to_status=step, actor=None)
    return ticket


@pytest.mark.django_db
@pytest.mark.parametrize(("from_status", "to_status"), ALL_PAIRS)
def test_transition_table_is_enforced(make_ticket, from_status, to_status):
    ticket = _put_in(make_ticket(), from_status)
    if to_status in TRANSITIONS[from_status]:
        ticket = ticket_transition(ticket=ticket, to_status=to_status, actor=None)
        assert Ticket.objects.get(pk=ticket.pk).status == to_status
    else:
        with pytest.raises(IllegalTransition) as err:
            ticket_transition(ticket=ticket, to_status=to_status, actor=None)
        # The error names what is allowed, so a client can correct itself.
        for allowed in TRANSITIONS[from_status]:
            assert allowed in err.value.detail
        assert Ticket.objects.get(pk=ticket.pk).status == from_status


@pytest.mark.django_db
def test_unknown_status_lists_allowed_values(make_ticket):
    ticket = make_ticket()
    with pytest.raises(DomainError) as err:
        ticket_transition(ticket=ticket, to_status="archived", actor=None)
    assert "open, in_progress, pending, resolved, closed" in err.value.detail


@pytest.mark.django_db
def test_resolve_and_close_stamp_times_and_reopen_clears_them(make_ticket):
    ticket = ticket_transition(ticket=make_ticket(), to_status="resolved", actor=None)
    assert ticket.resolved_at is not None and ticket.closed_at is None
    ticket = ticket_transition(ticket=ticket, to_status="closed", actor=None)
    assert ticket.closed_at is not None and ticket.resolved_at is not None
    ticket = ticket_transition(ticket=ticket, to_status="open", actor=None)
    assert ticket.resolved_at is None and ticket.closed_at is None


@pytest.mark.django_db
def test_same_status_is_a_no_op_without_event(make_ticket):
    ticket = make_ticket()
    before = ticket.events.count()
    ticket_transition(ticket=ticket, to_status="open", actor=None)
    assert ticket.events.count() == before


@pytest.mark.django_db
def test_new_ticket_has_its_first_message_and_inbox_fields(make_ticket):
    ticket = make_ticket(initial_message="  My parcel   never came.  ")
    assert ticket.status == "open"
    assert ticket.message_count == 1
    assert ticket.last_message_preview == "My parcel never came."
    assert ticket.last_message_from_agent is False
    assert ticket.first_response_at is None


@pytest.mark.django_db
def test_agent_reply_is_first_response_and_waits_on_customer(make_ticket, agent):
    ticket = make_ticket()
    message_add(
        ticket=ticket, content="On its way!", from_agent=True, author_agent=agent, actor=agent
    )
    ticket.refresh_from_db()
    assert ticket.status == "pending"
    assert ticket.first_response_at is not None
    assert ticket.last_message_from_agent is True
    assert ticket.message_count == 2
    first = ticket.first_response_at
    message_add(ticket=ticket, content="Any news?", from_agent=False, actor=None)
    message_add(ticket=ticket, content="Tomorrow.", from_agent=True, actor=agent)
    ticket.refresh_from_db()
    assert ticket.first_response_at == first  # only the first reply counts


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["pending", "resolved", "closed"])
def test_customer_message_reopens(make_ticket, status):
    ticket = _put_in(make_ticket(), status)
    message_add(ticket=ticket, content="Still broken.", from_agent=False, actor=None)
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.closed_at is None and ticket.resolved_at is None


@pytest.mark.django_db
def test_customer_message_keeps_in_progress(make_ticket):
    ticket = _put_in(make_ticket(), "in_progress")
    message_add(ticket=ticket, content="More details.", from_agent=False, actor=None)
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"


@pytest.mark.django_db
def test_reply_with_close_closes(make_ticket, agent):
    ticket = make_ticket()
    message_add(
        ticket=ticket, content="Refunded. Bye!", from_agent=True, close_ticket=True, actor=agent
    )
    ticket.refresh_from_db()
    assert ticket.status == "closed" and ticket.closed_at is not None


@pytest.mark.django_db
def test_unsent_agent_message_is_no_first_response(make_ticket, agent):
    ticket = make_ticket()
    message_add(
        ticket=ticket, content="draft", from_agent=True, send_to_customer=False, actor=agent
    )
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert ticket.first_response_at is None


@pytest.mark.django_db
def test_note_changes_no_status_nor_preview(make_ticket, agent):
    ticket = make_ticket()
    note = note_add(
        ticket=ticket,
        content="VIP, be nice",
        author_agent=agent,
        author_label="agent-1",
        actor=agent,
    )
    ticket.refresh_from_db()
    assert note.is_internal and not note.sent_to_customer
    assert note.author_label == "agent-1" and note.author_agent == agent
    assert ticket.status == "open"
    assert ticket.message_count == 1
    assert ticket.last_message_preview == "It has not arrived yet."
    assert ticket.events.filter(kind="note.created").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("content", ["", "   ", None])
def test_empty_message_is_rejected_and_changes_nothing(make_ticket, content):
    ticket = make_ticket()
    events = ticket.events.count()
    with pytest.raises(DomainError):
        message_add(ticket=ticket, content=content, from_agent=False, actor=None)
    ticket.refresh_from_db()
    assert ticket.message_count == 1 and ticket.events.count() == events
