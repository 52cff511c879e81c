"""The admin's History and Revert pages (django-simple-history) keep to the change page's
scoping and permissions: another organization's object "doesn't exist", an agent cannot
revert, and a revert is saved through the services (with an event)."""

import pytest
from django.test import Client

from agents import roles
from agents.tests.factories import AgentFactory
from rules.models import Rule
from rules.services import rule_create, rule_update
from tickets.models import Ticket, TicketEvent
from tickets.services import customer_get_or_create, ticket_create, ticket_update


@pytest.fixture
def foreign_ticket(other_organization):
    customer = customer_get_or_create(organization=other_organization, external_id="1")
    ticket = ticket_create(
        organization=other_organization,
        customer=customer,
        subject="Globex secret",
        initial_message="hi",
        actor=None,
    )
    ticket_update(ticket=ticket, subject="Globex secret, renamed", actor=None)
    return ticket


def _login(user):
    client = Client()
    client.force_login(user)
    return client


def _revert_form(ticket_version):
    return {
        "subject": ticket_version.subject,
        "status": ticket_version.status,
        "priority": ticket_version.priority,
        "assignee": "",
        "team": "",
        "tags": [],
        "reply": "",
    }


def _versions(ticket):
    return list(ticket.history.order_by("history_date", "history_id"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", [roles.ADMIN, roles.MANAGER, roles.AGENT])
def test_foreign_history_and_revert_pages_do_not_exist(role, organization, foreign_ticket):
    client = _login(AgentFactory(organization=organization, role=role))
    first = _versions(foreign_ticket)[0]
    versions = foreign_ticket.history.count()
    base = f"/admin/tickets/ticket/{foreign_ticket.pk}/history/"

    for url in (base, f"{base}{first.history_id}/"):
        page = client.get(url, follow=True)
        assert b"Globex secret" not in page.content, url
        assert b"doesn" in page.content, url  # "... with ID ... doesn't exist"

    answer = client.post(f"{base}{first.history_id}/", _revert_form(first))
    assert answer.status_code in (302, 403, 404)
    foreign_ticket.refresh_from_db()
    assert foreign_ticket.subject == "Globex secret, renamed"
    assert foreign_ticket.history.count() == versions


@pytest.mark.django_db
def test_own_history_page_lists_the_changes(make_ticket, agent):
    ticket = make_ticket(subject="Parcel lost")
    ticket_update(ticket=ticket, subject="Parcel lost twice", actor=agent)
    page = _login(agent).get(f"/admin/tickets/ticket/{ticket.pk}/history/")
    assert page.status_code == 200
    assert b"Parcel lost twice" in page.content


@pytest.mark.django_db
def test_a_revert_goes_through_the_services(make_ticket, manager):
    ticket = make_ticket(subject="Parcel lost")
    ticket_update(ticket=ticket, subject="Renamed by mistake", actor=manager)
    first = _versions(ticket)[0]
    events_before = TicketEvent.objects.filter(ticket=ticket, kind="ticket.updated").count()

    answer = _login(manager).post(
        f"/admin/tickets/ticket/{ticket.pk}/history/{first.history_id}/", _revert_form(first)
    )

    assert answer.status_code == 302
    ticket.refresh_from_db()
    assert ticket.subject == "Parcel lost"
    # The service recorded it: an event, and a history row naming the manager.
    assert TicketEvent.objects.filter(ticket=ticket, kind="ticket.updated").count() == (
        events_before + 1
    )
    assert ticket.history.latest().history_user == manager


@pytest.mark.django_db
def test_a_role_that_cannot_change_cannot_revert(organization, manager):
    """Agents may read rules (and their history) but not change them: no revert."""
    rule = rule_create(
        organization=organization, actor=manager, name="VIP", type="vip", boost_amount=5
    )
    rule_update(rule=rule, boost_amount=9, actor=manager)
    first = rule.history.order_by("history_date", "history_id").first()
    client = _login(AgentFactory(organization=organization, role=roles.AGENT))
    url = f"/admin/rules/rule/{rule.pk}/history/{first.history_id}/"

    page = client.get(url)
    assert page.status_code in (200, 403)
    if page.status_code == 200:
        assert b'name="_save"' not in page.content  # no Revert button
    answer = client.post(url, {"name": "VIP", "type": "vip", "boost_amount": 5, "active": "on"})
    assert answer.status_code == 403
    assert Rule.objects.get(pk=rule.pk).boost_amount == 9


@pytest.mark.django_db
def test_deleted_foreign_ticket_history_stays_hidden(organization, other_organization):
    """A deleted row is found only in its history; only the platform operator sees it."""
    customer = customer_get_or_create(organization=other_organization, external_id="2")
    ticket = ticket_create(
        organization=other_organization, customer=customer, subject="Gone", actor=None
    )
    pk = ticket.pk
    Ticket.objects.filter(pk=pk).delete()
    client = _login(AgentFactory(organization=organization, role=roles.ADMIN))
    page = client.get(f"/admin/tickets/ticket/{pk}/history/", follow=True)
    assert b"Gone" not in page.content


@pytest.mark.django_db
def test_the_row_checkbox_is_djangos_html(make_ticket):
    """The scoped admins write the action checkbox themselves (speed): the same HTML, and
    the changelist still has its select-all box."""
    from django.contrib import admin as django_admin

    from tickets.models import Ticket

    ticket = make_ticket(subject='Broken <b>"lamp"</b> & more')
    model_admin = django_admin.site._registry[Ticket]
    ours = model_admin.action_checkbox(ticket)
    djangos = django_admin.ModelAdmin.action_checkbox(model_admin, ticket)
    assert ours == djangos
    manager = AgentFactory(organization=ticket.organization, role=roles.MANAGER)
    client = Client()
    client.force_login(manager)
    page = client.get("/admin/tickets/ticket/").content.decode()
    assert 'id="action-toggle"' in page and f'value="{ticket.pk}" class="action-select"' in page
