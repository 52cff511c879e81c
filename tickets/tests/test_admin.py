"""The manager's admin: tenant scoping, the ticket page, edits through the services."""

import re

import pytest
from django.test import Client

from agents.models import Agent, Team
from agents.tests.factories import AgentFactory, OrganizationFactory
from tickets.models import Message, Ticket
from tickets.services import customer_get_or_create, note_add, ticket_create


@pytest.fixture
def foreign_ticket(other_organization):
    customer = customer_get_or_create(organization=other_organization, external_id="1")
    return ticket_create(
        organization=other_organization,
        customer=customer,
        subject="Globex secret",
        initial_message="hi",
        actor=None,
    )


def _post_ticket(client, ticket, **changes):
    """Submit the ticket page as a browser would, with `changes` applied."""
    data = {
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee": ticket.assignee_id or "",
        "team": ticket.team_id or "",
        "tags": [t.pk for t in ticket.tags.all()],
        "reply": "",
        "messages-TOTAL_FORMS": "0",
        "messages-INITIAL_FORMS": "0",
        "messages-MIN_NUM_FORMS": "0",
        "messages-MAX_NUM_FORMS": "1000",
        "_continue": "1",
    }
    data.update(changes)
    return client.post(f"/admin/tickets/ticket/{ticket.pk}/change/", data)


@pytest.mark.django_db
def test_manager_sees_only_their_organization(manager_client, make_ticket, foreign_ticket):
    mine = make_ticket(subject="Acme parcel lost")
    page = manager_client.get("/admin/tickets/ticket/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme parcel lost" in html and "Globex secret" not in html
    # A foreign id is "not found", not "forbidden".
    other = manager_client.get(f"/admin/tickets/ticket/{foreign_ticket.pk}/change/", follow=True)
    assert "Globex secret" not in other.content.decode()
    assert b"doesn" in other.content  # "... with ID ... doesn't exist"
    assert manager_client.get(f"/admin/tickets/ticket/{mine.pk}/change/").status_code == 200


@pytest.mark.django_db
def test_scoped_querysets_for_every_model(rf, manager, make_ticket, foreign_ticket):
    from django.contrib import admin as django_admin

    make_ticket()
    request = rf.get("/")
    request.user = manager
    for model in (Ticket, Agent, Team):
        model_admin = django_admin.site._registry[model]
        orgs = {getattr(o, "organization_id", None) for o in model_admin.get_queryset(request)}
        assert orgs <= {manager.organization_id}, model


@pytest.mark.django_db
def test_superuser_sees_every_organization(superuser, make_ticket, foreign_ticket):
    make_ticket(subject="Acme parcel lost")
    client = Client()
    client.force_login(superuser)
    html = client.get("/admin/tickets/ticket/").content.decode()
    assert "Acme parcel lost" in html and "Globex secret" in html


@pytest.mark.django_db
def test_changelist_search_filters_and_date_hierarchy(manager_client, make_ticket):
    make_ticket(subject="Refund please")
    make_ticket(subject="Wrong size")
    html = manager_client.get("/admin/tickets/ticket/?q=ada%40example.com").content.decode()
    assert "Refund please" in html and "Wrong size" in html  # by customer email
    html = manager_client.get("/admin/tickets/ticket/?q=refund").content.decode()
    assert "Refund please" in html and "Wrong size" not in html
    html = manager_client.get("/admin/tickets/ticket/?status__exact=closed").content.decode()
    assert "Refund please" not in html
    assert manager_client.get("/admin/tickets/ticket/?assignee=me").status_code == 200
    assert manager_client.get("/admin/tickets/ticket/?queue=active").status_code == 200
    html = manager_client.get("/admin/tickets/ticket/").content.decode()
    assert "created_at__year=" in html  # the date hierarchy's drill-down links
    year = Ticket.objects.first().created_at.year
    html = manager_client.get(f"/admin/tickets/ticket/?created_at__year={year}").content.decode()
    assert "Refund please" in html


@pytest.mark.django_db
def test_ticket_page_shows_conversation_notes_and_timeline(manager_client, make_ticket, manager):
    ticket = make_ticket(initial_message="Parcel is lost")
    note_add(ticket=ticket, content="Check the carrier claim", author_agent=manager, actor=manager)
    html = manager_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "Parcel is lost" in html
    note = re.search(r'<div class="msg msg-note">.*?</div>\s*</div>', html, re.S)
    assert note and "Internal note" in note.group(0) and "Check the carrier claim" in note.group(0)
    assert re.search(r'class="msg msg-customer">.*?Parcel is lost', html, re.S)
    assert "ticket-timeline" in html and "note.created" in html and "ticket.created" in html


@pytest.mark.django_db
def test_editing_in_admin_goes_through_the_services(manager_client, make_ticket, manager, agent):
    ticket = make_ticket()
    response = _post_ticket(
        manager_client,
        ticket,
        status="in_progress",
        priority="high",
        assignee=str(agent.pk),
        reply="We're on it",
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket.refresh_from_db()
    # The reply was sent to the customer, so the ticket now waits on them.
    assert ticket.status == "pending" and ticket.priority == "high"
    assert ticket.assignee == agent and ticket.first_response_at is not None
    reply = Message.objects.get(ticket=ticket, from_agent=True)
    assert reply.author_agent == manager and reply.sent_to_customer
    kinds = set(ticket.events.filter(actor=manager).values_list("kind", flat=True))
    assert kinds >= {
        "ticket.updated",
        "ticket.assigned",
        "ticket.status_changed",
        "message.created",
    }
    assert ticket.history.latest().history_user == manager


@pytest.mark.django_db
def test_internal_note_from_admin(manager_client, make_ticket):
    ticket = make_ticket()
    _post_ticket(manager_client, ticket, reply="Only for us", reply_is_internal_note="on")
    note = Message.objects.get(ticket=ticket, is_internal=True)
    assert note.content == "Only for us" and not note.sent_to_customer
    ticket.refresh_from_db()
    assert ticket.status == "open"


@pytest.mark.django_db
def test_illegal_status_change_is_a_form_error(manager_client, make_ticket):
    from tickets.services import ticket_transition

    ticket = ticket_transition(ticket=make_ticket(), to_status="closed", actor=None)
    response = _post_ticket(manager_client, ticket, status="pending")
    assert response.status_code == 200
    assert "cannot become pending" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "closed"


@pytest.mark.django_db
def test_add_ticket_in_admin_creates_first_message(manager_client, organization, customer):
    response = manager_client.post(
        "/admin/tickets/ticket/add/",
        {
            "subject": "Phone call: broken zipper",
            "customer": str(customer.pk),
            "channel": "phone",
            "priority": "normal",
            "initial_message": "Customer called about a broken zipper.",
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "0",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.get(subject="Phone call: broken zipper")
    assert ticket.organization == organization and ticket.message_count == 1
    assert ticket.events.get(kind="ticket.created").actor.email == "manager@acme.test"


@pytest.mark.django_db
def test_bulk_actions(manager_client, make_ticket, manager):
    tickets = [make_ticket(), make_ticket()]
    ids = [str(t.pk) for t in tickets]
    url = "/admin/tickets/ticket/"
    manager_client.post(url, {"action": "assign_to_me", "_selected_action": ids})
    manager_client.post(url, {"action": "set_priority_urgent", "_selected_action": ids})
    manager_client.post(url, {"action": "close_tickets", "_selected_action": ids})
    for ticket in tickets:
        ticket.refresh_from_db()
        assert (ticket.assignee, ticket.priority, ticket.status) == (manager, "urgent", "closed")


@pytest.mark.django_db
def test_history_page(manager_client, make_ticket):
    ticket = make_ticket()
    response = manager_client.get(f"/admin/tickets/ticket/{ticket.pk}/history/")
    assert response.status_code == 200


@pytest.mark.django_db
def test_agent_role_cannot_manage_the_team(organization, agent):
    client = Client()
    client.force_login(agent)
    assert client.get("/admin/tickets/ticket/").status_code == 200
    assert client.get("/admin/agents/team/add/").status_code == 403
    assert client.get("/admin/agents/agent/add/").status_code == 403


@pytest.mark.django_db
def test_manager_adds_team_and_agent_in_their_organization(manager_client, manager):
    # The team page carries its routing settings (an inline, left empty here).
    team_form = {
        "name": "Billing",
        "routing-TOTAL_FORMS": "0",
        "routing-INITIAL_FORMS": "0",
        "routing-MIN_NUM_FORMS": "0",
        "routing-MAX_NUM_FORMS": "1",
    }
    response = manager_client.post("/admin/agents/team/add/", team_form)
    assert response.status_code == 302
    assert Team.objects.get(name="Billing").organization == manager.organization
    # The same name again is a form error, not a database error.
    again = manager_client.post("/admin/agents/team/add/", team_form)
    assert again.status_code == 200 and Team.objects.filter(name="Billing").count() == 1

    page = manager_client.get("/admin/agents/agent/add/").content.decode()
    assert 'name="is_superuser"' not in page and 'value="admin"' not in page
    response = manager_client.post(
        "/admin/agents/agent/add/",
        {
            "email": "new@acme.test",
            "name": "New Hire",
            "role": "agent",
            "password1": "a-Strong-pass-123",
            "password2": "a-Strong-pass-123",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    hire = Agent.objects.get(email="new@acme.test")
    assert hire.organization == manager.organization
    assert list(hire.groups.values_list("name", flat=True)) == ["Agents"]


@pytest.mark.django_db
def test_manager_cannot_edit_an_admin(manager_client, organization):
    boss = AgentFactory(organization=organization, role="admin")
    response = manager_client.post(f"/admin/agents/agent/{boss.pk}/change/", {"role": "agent"})
    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.role == "admin"


@pytest.mark.django_db
def test_api_key_created_in_admin_is_shown_once(manager_client, manager):
    response = manager_client.post(
        "/admin/agents/apikey/add/", {"name": "frontend", "role": "agent"}, follow=True
    )
    html = response.content.decode()
    raw = re.search(r"(qsk_[\w-]+)", html).group(1)
    from agents.models import ApiKey

    key = ApiKey.objects.get()
    assert key.organization == manager.organization and raw not in key.key_hash
    listing = manager_client.get("/admin/agents/apikey/").content.decode()
    assert raw not in listing


@pytest.mark.django_db
def test_superuser_without_org_is_allowed_and_others_need_one(db):
    from django.db import IntegrityError

    OrganizationFactory()
    with pytest.raises(IntegrityError):
        Agent.objects.create_user("orphan@x.test", "pw")


@pytest.mark.django_db
def test_a_tier_change_in_the_admin_goes_through_the_service(manager_client, manager, make_ticket):
    """Rescored, re-matched and recorded like the API's change (it was a bare save)."""
    from tickets.models import TicketEvent
    from tickets.tests.outbox import dispatch_all

    ticket = make_ticket()
    dispatch_all()
    customer = ticket.customer
    page = manager_client.post(
        f"/admin/tickets/customer/{customer.pk}/change/",
        {
            "name": customer.name,
            "email": customer.email,
            "phone": "",
            "tier": "vip",
            "intelligence-TOTAL_FORMS": "0",
            "intelligence-INITIAL_FORMS": "0",
            "intelligence-MIN_NUM_FORMS": "0",
            "intelligence-MAX_NUM_FORMS": "1",
        },
    )
    assert page.status_code == 302, page.content[:500]
    event = TicketEvent.objects.get(kind="customer.updated")
    assert event.payload["fields"] == ["tier"] and event.actor == manager
    assert customer.history.latest().history_user == manager
    dispatch_all()
    ticket.refresh_from_db()
    tier = {c["name"]: c for c in ticket.score_breakdown["components"]}["tier"]
    assert tier == {"name": "tier", "points": 3.75, "reason": "customer tier vip"}
