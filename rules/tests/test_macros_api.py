"""Macros over the API and in the admin: roles, tenancy, strict bodies, filters, the
query budget, apply-macro (preview writes nothing; send applies, replies, counts)."""

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.exceptions import DomainError
from rules.automation_services import automation_create
from rules.models import Macro
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/macros"


def _counts() -> dict:
    return {m._meta.label: m._base_manager.count() for m in apps.get_models()}


def _apply(ticket) -> str:
    return f"/api/v1/tickets/{ticket.pk}/apply-macro"


@pytest.fixture
def macro(organization):
    return Macro.objects.create(
        organization=organization,
        name="Refund",
        body="Hi {{customer.first_name}}, {{agent.name}} here: your refund is on its way.",
        actions=[{"type": "add_tags", "value": ["refund"]}],
    )


def test_agents_read_but_cannot_write(agent_client, macro):
    assert agent_client.get(URL).status_code == 200
    assert agent_client.get(f"{URL}/{macro.pk}").status_code == 200
    assert agent_client.post(URL, {"name": "x", "body": "y"}, format="json").status_code == 403
    patch = agent_client.patch(f"{URL}/{macro.pk}", {"body": "changed"}, format="json")
    assert patch.status_code == 403
    assert agent_client.delete(f"{URL}/{macro.pk}").status_code == 403
    macro.refresh_from_db()
    assert macro.body.startswith("Hi ") and Macro.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "M", "body": "Hi", "colour": "red"}, "colour"),
        ({"name": "", "body": "Hi"}, "name"),
        ({"body": "Hi"}, "name"),
        ({"name": "M", "body": "Hi {{ customer.name|upper }}"}, "body"),
        ({"name": "M", "body": "{% load static %}"}, "body"),
        ({"name": "M", "body": "Hi", "actions": "add_tags"}, "actions"),
        ({"name": "M", "body": "Hi", "actions": [{"type": "nope"}]}, "actions[0].type"),
        ({"name": "M", "body": "Hi", "active": "maybe"}, "active"),
        ({"name": "M", "body": "Hi", "usage_count": 99}, "usage_count"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(manager_client, body, field):
    answer = manager_client.post(URL, body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["errors"], answer.json()
    assert not Macro.objects.exists()


def test_crud_on_every_path_spelling(manager_client, organization):
    created = manager_client.post(
        "/api/macros/", {"name": "Thanks", "body": "Thanks {{customer.name}}!"}, format="json"
    )
    assert created.status_code == 201, created.content
    macro = created.json()
    assert macro["usage_count"] == 0 and macro["last_used_at"] is None and macro["active"]
    for path in (f"{URL}/{macro['id']}", f"{URL}/{macro['id']}/", f"/api/macros/{macro['id']}"):
        assert manager_client.get(path).json()["name"] == "Thanks"
    changed = manager_client.patch(
        f"{URL}/{macro['id']}/", {"active": False, "name": "Thanks!"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["body"] == "Thanks {{customer.name}}!"
    assert changed.json()["name"] == "Thanks!" and changed.json()["active"] is False
    bad = manager_client.patch(f"{URL}/{macro['id']}", {"body": "{{x}}"}, format="json")
    assert bad.status_code == 400 and "body" in bad.json()["errors"]
    assert Macro.objects.get().body == "Thanks {{customer.name}}!"
    assert manager_client.delete(f"/api/macros/{macro['id']}/").status_code == 204
    assert manager_client.get(f"{URL}/{macro['id']}").status_code == 404


def test_another_organizations_ids_are_404_everywhere(
    other_manager_client, manager_client, macro, other_organization, make_ticket
):
    for method in ("get", "patch", "delete"):
        answer = getattr(other_manager_client, method)(f"{URL}/{macro.pk}", {}, format="json")
        assert answer.status_code == 404, method
    ticket = make_ticket()
    # A foreign ticket is a 404 before its body is read (even a bad body).
    assert other_manager_client.post(_apply(ticket), {"x": 1}, format="json").status_code == 404
    theirs = Macro.objects.create(organization=other_organization, name="Theirs", body="x")
    answer = manager_client.post(_apply(ticket), {"macro_id": str(theirs.pk)}, format="json")
    assert answer.status_code == 404
    assert ticket.messages.count() == 1  # the initial message only
    assert not other_manager_client.get(URL).json()["macros"][0]["name"] == "Refund"


def test_the_list_filters(manager_client, organization):
    for name, body, active in [
        ("Refund", "Your money", True),
        ("Shipping", "Your refund parcel", False),
        ("Hello", "Hi", True),
    ]:
        Macro.objects.create(organization=organization, name=name, body=body, active=active)

    def names(**params):
        answer = manager_client.get(URL, params)
        assert answer.status_code == 200, answer.content
        return [m["name"] for m in answer.json()["macros"]]

    assert names() == ["Hello", "Refund", "Shipping"]
    assert names(q="REFUND") == ["Refund", "Shipping"]
    assert names(active="true") == ["Hello", "Refund"]
    assert names(active="false", q="refund") == ["Shipping"]
    bad = manager_client.get(URL, {"active": "perhaps"})
    assert bad.status_code == 400 and "active" in bad.json()["errors"]
    page = manager_client.get(URL, {"limit": 2, "page": 2}).json()
    assert [m["name"] for m in page["macros"]] == ["Shipping"]
    assert page["pagination"]["total"] == 3


def test_the_list_query_count_does_not_grow_with_the_page(manager_client, organization):
    def queries(limit):
        with CaptureQueriesContext(connection) as captured:
            answer = manager_client.get(URL, {"limit": limit})
        assert len(answer.json()["macros"]) == limit
        return len(captured)

    Macro.objects.bulk_create(
        Macro(organization=organization, name=f"m{i:02}", body="x") for i in range(50)
    )
    assert queries(2) == queries(50)


def test_the_list_budget(manager_client, organization, django_assert_max_num_queries):
    Macro.objects.bulk_create(
        Macro(organization=organization, name=f"m{i:02}", body="x") for i in range(50)
    )
    with django_assert_max_num_queries(6):
        assert len(manager_client.get(URL, {"limit": 50}).json()["macros"]) == 50


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "macro_id"),
        ({"macro_id": "not-a-uuid"}, "macro_id"),
        ({"macro_id": "MACRO", "send": "yes"}, "send"),
        ({"macro_id": "MACRO", "mode": "send"}, "mode"),
    ],
)
def test_apply_macro_bad_bodies(manager_client, macro, make_ticket, body, field):
    ticket = make_ticket()
    body = {k: (str(macro.pk) if v == "MACRO" else v) for k, v in body.items()}
    before = _counts()
    answer = manager_client.post(_apply(ticket), body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["errors"]
    assert _counts() == before


def test_apply_macro_preview_writes_nothing(agent_client, agent, macro, make_ticket):
    ticket = make_ticket()
    before = _counts()
    preview = agent_client.post(_apply(ticket), {"macro_id": str(macro.pk)}, format="json")
    assert preview.status_code == 200, preview.content
    assert preview.json() == {
        "rendered": f"Hi Ada, {agent.name} here: your refund is on its way.",
        "sent": False,
        "message_id": None,
        "actions": [],
    }
    assert _counts() == before
    macro.refresh_from_db()
    assert macro.usage_count == 0 and macro.last_used_at is None


def test_apply_macro_send_applies_replies_and_counts(agent_client, agent, macro, make_ticket):
    ticket = make_ticket()
    sent = agent_client.post(
        _apply(ticket), {"macro_id": str(macro.pk), "send": True}, format="json"
    )
    assert sent.status_code == 200, sent.content
    answer = sent.json()
    assert answer["sent"] is True
    assert answer["actions"] == [{"type": "add_tags", "value": ["refund"], "result": "applied"}]
    reply = ticket.messages.get(pk=answer["message_id"])
    assert reply.from_agent and reply.sent_to_customer and reply.author_agent == agent
    assert (
        reply.content
        == answer["rendered"]
        == (f"Hi Ada, {agent.name} here: your refund is on its way.")
    )
    ticket.refresh_from_db()
    assert ticket.tag_names == ["refund"] and ticket.status == "pending"  # waiting on customer
    # The tag change says which macro made it, and who applied it.
    tagged = TicketEvent.objects.filter(ticket=ticket, kind="ticket.updated").latest("pk")
    assert tagged.actor == agent and tagged.actor_label == f"{agent.email} (macro: Refund)"
    agent_client.post(_apply(ticket), {"macro_id": str(macro.pk), "send": True}, format="json")
    macro.refresh_from_db()
    assert macro.usage_count == 2 and macro.last_used_at is not None


def test_an_api_key_applies_as_the_support_team(key_client, macro, make_ticket):
    ticket = make_ticket()
    sent = key_client.post(_apply(ticket), {"macro_id": str(macro.pk), "send": True}, format="json")
    assert sent.status_code == 200, sent.content
    assert "the support team here" in sent.json()["rendered"]
    reply = ticket.messages.get(pk=sent.json()["message_id"])
    assert reply.author_agent is None and reply.from_agent


def test_an_inactive_macro_is_a_400_and_changes_nothing(manager_client, macro, make_ticket):
    macro.active = False
    macro.save()
    ticket = make_ticket()
    before = _counts()
    for send in (False, True):
        answer = manager_client.post(
            _apply(ticket), {"macro_id": str(macro.pk), "send": send}, format="json"
        )
        assert answer.status_code == 400 and "macro_id" in answer.json()["errors"]
    assert _counts() == before


def test_an_action_that_does_not_fit_is_skipped_and_the_reply_still_goes(
    manager_client, macro, make_ticket
):
    macro.actions = [{"type": "set_status", "value": "open"}]  # the ticket is open already
    macro.save()
    ticket = make_ticket()
    sent = manager_client.post(
        _apply(ticket), {"macro_id": str(macro.pk), "send": True}, format="json"
    ).json()
    assert sent["actions"][0]["result"] == "skipped" and sent["sent"] is True


def test_send_is_one_transaction(manager_client, macro, make_ticket, monkeypatch):
    ticket = make_ticket()

    def refuse(**kwargs):
        raise DomainError("The channel is down.", field="content")

    monkeypatch.setattr("rules.macros.services.message_add", refuse)
    before = _counts()
    answer = manager_client.post(
        _apply(ticket), {"macro_id": str(macro.pk), "send": True}, format="json"
    )
    assert answer.status_code == 400
    assert _counts() == before  # the tag the action added is rolled back too
    ticket.refresh_from_db()
    macro.refresh_from_db()
    assert ticket.tag_names == [] and macro.usage_count == 0


def test_deleting_a_macro_an_automation_uses_is_a_409(manager_client, manager, macro):
    automation_create(
        organization=macro.organization,
        data={
            "name": "Auto-refund",
            "trigger": "ticket.created",
            "actions": [{"type": "apply_macro", "value": str(macro.pk)}],
        },
        actor=manager,
    )
    answer = manager_client.delete(f"{URL}/{macro.pk}")
    assert answer.status_code == 409 and "Auto-refund" in answer.json()["detail"]
    assert Macro.objects.filter(pk=macro.pk).exists()


# Admin


def test_the_admin_change_page_previews_and_counts(manager_client, macro):
    macro.usage_count = 7
    macro.save()
    page = manager_client.get(f"/admin/rules/macro/{macro.pk}/change/").content.decode()
    assert "Hi Ada, Sam Rivera here: your refund is on its way." in page
    assert "{{customer.first_name}}" in page  # the help text lists the placeholders
    assert 'name="usage_count"' not in page and ">7<" in page  # read-only


def test_the_admin_names_the_field_in_error(manager_client, organization, macro):
    add = "/admin/rules/macro/add/"
    form = {"name": "New", "body": "Hi", "actions": '[{"type": "set_priority", "value": "x"}]'}
    refused = manager_client.post(add, form)
    assert refused.status_code == 200
    assert "actions[0].value" in refused.content.decode()
    form = {"name": "Refund", "body": "Hi", "actions": "[]"}
    duplicate = manager_client.post(add, form)
    assert duplicate.status_code == 200 and "already exists" in duplicate.content.decode()
    assert Macro.objects.count() == 1


def test_the_admin_protects_a_macro_an_automation_uses(manager_client, manager, macro):
    automation_create(
        organization=macro.organization,
        data={
            "name": "Auto-refund",
            "trigger": "ticket.created",
            "actions": [{"type": "send_reply", "value": str(macro.pk)}],
        },
        actor=manager,
    )
    delete = f"/admin/rules/macro/{macro.pk}/delete/"
    assert "Auto-refund" in manager_client.get(delete).content.decode()
    manager_client.post(delete, {"post": "yes"})
    assert Macro.objects.filter(pk=macro.pk).exists()
