"""Macros: rendering (placeholders only, never a template), validation, the API, and
apply-macro (a preview writes nothing; send applies, replies and counts)."""

import pytest
from django.apps import apps

from agents.exceptions import DomainError
from agents.tests.factories import AgentFactory
from rules.macros.render import macro_render, placeholders_validate
from rules.models import Macro
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/macros"
BODY = (
    "Hi {{customer.first_name}} ({{customer.name}}), about #{{ticket.number}} "
    '"{{ticket.subject}}": {{agent.name}} of {{organization.name}} here.'
)


def _counts() -> dict:
    return {m._meta.label: m._base_manager.count() for m in apps.get_models()}


def test_every_placeholder_renders_and_values_are_not_expanded_again(
    organization, customer, make_ticket
):
    agent = AgentFactory(organization=organization, name="Ann Agent", email="ann@acme.test")
    ticket = make_ticket(subject="Broken {{customer.name}} lamp")
    ticket = Ticket.objects.select_related("customer", "organization").get(pk=ticket.pk)
    rendered = macro_render(body=BODY, ticket=ticket, agent=agent)
    assert rendered == (
        f"Hi Ada (Ada Buyer), about #{str(ticket.pk)[:8]} "
        f'"Broken {{{{customer.name}}}} lamp": Ann Agent of {organization.name} here.'
    )
    customer.name = ""
    customer.save(update_fields=["name"])
    ticket = Ticket.objects.select_related("customer", "organization").get(pk=ticket.pk)
    assert macro_render(body="Hi {{customer.first_name}}, {{agent.name}}", ticket=ticket) == (
        "Hi there, the support team"
    )


@pytest.mark.parametrize(
    "body",
    [
        "Hi {{customer.email}}",
        "Hi {{ customer.name|upper }}",
        "{% load static %}hello",
        "{# note #}",
        "{{settings.SECRET_KEY}}",
    ],
)
def test_anything_but_the_placeholders_is_refused(body):
    with pytest.raises(DomainError) as refused:
        placeholders_validate(body)
    assert refused.value.field == "body"


def test_a_manager_creates_macros_agents_read_them(manager_client, agent_client, organization):
    created = manager_client.post(
        URL,
        {"name": "Refund", "body": BODY, "actions": [{"type": "add_tags", "value": ["refund"]}]},
        format="json",
    )
    assert created.status_code == 201, created.content
    macro_id = created.json()["id"]
    listed = agent_client.get(URL, {"q": "refund"}).json()
    assert [m["id"] for m in listed["macros"]] == [macro_id]
    assert agent_client.post(URL, {"name": "x", "body": "y"}, format="json").status_code == 403
    bad = manager_client.patch(f"{URL}/{macro_id}", {"body": "Hi {{customer.age}}"}, format="json")
    assert bad.status_code == 400 and "body" in bad.json()["errors"]
    bad_action = manager_client.post(
        URL, {"name": "y", "actions": [{"type": "set_priority", "value": "soon"}]}, format="json"
    )
    assert bad_action.status_code == 400 and "actions[0].value" in bad_action.json()["errors"]
    duplicate = manager_client.post(URL, {"name": "Refund", "body": "x"}, format="json")
    assert duplicate.status_code == 409
    assert manager_client.delete(f"{URL}/{macro_id}").status_code == 204
    assert not Macro.objects.exists()


def test_another_organizations_macro_and_ticket_are_404(
    other_manager_client, manager_client, organization, other_organization, make_ticket
):
    macro = Macro.objects.create(organization=organization, name="Mine", body="Hi")
    ticket = make_ticket()
    assert other_manager_client.get(f"{URL}/{macro.pk}").status_code == 404
    assert other_manager_client.patch(f"{URL}/{macro.pk}", {}, format="json").status_code == 404
    foreign = other_manager_client.post(
        f"/api/v1/tickets/{ticket.pk}/apply-macro", {"macro_id": str(macro.pk)}, format="json"
    )
    assert foreign.status_code == 404
    # ...and my ticket with another organization's macro id.
    theirs = Macro.objects.create(organization=other_organization, name="Theirs", body="x")
    answer = manager_client.post(
        f"/api/v1/tickets/{ticket.pk}/apply-macro", {"macro_id": str(theirs.pk)}, format="json"
    )
    assert answer.status_code == 404


def test_apply_macro_previews_without_writing_then_sends(manager_client, organization, make_ticket):
    macro = Macro.objects.create(
        organization=organization,
        name="Refund",
        body="Hi {{customer.first_name}}, your refund is on its way.",
        actions=[
            {"type": "add_tags", "value": ["refund"]},
            {"type": "set_priority", "value": "high"},
        ],
    )
    ticket = make_ticket()
    path = f"/api/v1/tickets/{ticket.pk}/apply-macro"
    before = _counts()
    preview = manager_client.post(path, {"macro_id": str(macro.pk)}, format="json")
    assert preview.status_code == 200, preview.content
    assert preview.json() == {
        "rendered": "Hi Ada, your refund is on its way.",
        "sent": False,
        "message_id": None,
        "actions": [],
    }
    assert _counts() == before
    sent = manager_client.post(path, {"macro_id": str(macro.pk), "send": True}, format="json")
    assert sent.status_code == 200 and sent.json()["sent"] is True
    reply = ticket.messages.get(pk=sent.json()["message_id"])
    assert reply.from_agent and reply.content == "Hi Ada, your refund is on its way."
    ticket.refresh_from_db()
    assert ticket.tag_names == ["refund"] and ticket.priority == "high"
    macro.refresh_from_db()
    assert macro.usage_count == 1 and macro.last_used_at is not None
    macro.active = False
    macro.save()
    inactive = manager_client.post(path, {"macro_id": str(macro.pk)}, format="json")
    assert inactive.status_code == 400


def test_the_macro_list_takes_a_bounded_number_of_queries(
    manager_client, organization, django_assert_max_num_queries
):
    for i in range(30):
        Macro.objects.create(organization=organization, name=f"m{i}", body="x")
    with django_assert_max_num_queries(6):
        assert len(manager_client.get(URL, {"limit": 30}).json()["macros"]) == 30


def test_the_admin_refuses_an_unknown_placeholder(manager_client, organization):
    add = "/admin/rules/macro/add/"
    form = {"name": "Hi", "body": "Hi {{customer.age}}", "actions": "[]", "active": "on"}
    refused = manager_client.post(add, form)
    assert refused.status_code == 200 and "Unknown placeholder" in refused.content.decode()
    form["body"] = "Hi {{customer.name}}"
    assert manager_client.post(add, form).status_code == 302
    assert Macro.objects.get().organization == organization
