"""Macro rendering and validation: placeholders only, plain substitution, documented
fallbacks; and the services' validation (each refusal names its field, saves nothing)."""

import pytest

from agents.exceptions import Conflict, DomainError, NotFound
from agents.models import Agent, Organization
from agents.tests.factories import AgentFactory
from rules.automation_services import automation_create
from rules.macros.render import PLACEHOLDERS, macro_render, placeholders_validate
from rules.macros.services import macro_apply, macro_create, macro_delete, macro_update
from rules.models import Macro
from tickets.models import Customer, Ticket

EVERY = " | ".join("{{" + p + "}}" for p in PLACEHOLDERS)


def _ticket(*, name="Ada Lovelace", subject="Where is my order?", org_name="Acme") -> Ticket:
    """An unsaved ticket: rendering reads only the objects it is given."""
    organization = Organization(name=org_name, slug="acme")
    return Ticket(
        organization=organization,
        customer=Customer(organization=organization, name=name),
        subject=subject,
    )


def test_the_six_placeholders():
    assert PLACEHOLDERS == (
        "customer.name",
        "customer.first_name",
        "ticket.number",
        "ticket.subject",
        "agent.name",
        "organization.name",
    )


def test_every_placeholder_is_substituted():
    ticket = _ticket()
    agent = Agent(name="Sam Rivera", email="sam@acme.test")
    assert macro_render(body=EVERY, ticket=ticket, agent=agent) == (
        f"Ada Lovelace | Ada | {str(ticket.pk)[:8]} | Where is my order? | Sam Rivera | Acme"
    )
    # Spaces inside the braces are allowed; text around is kept byte for byte.
    assert macro_render(
        body="Hi {{ customer.first_name }},\n\n— {{agent.name}}", ticket=ticket
    ) == ("Hi Ada,\n\n— the support team")


@pytest.mark.parametrize(
    ("name", "first_name"),
    [("  Ada   Lovelace ", "Ada"), ("Cher", "Cher"), ("", "there"), ("   ", "there")],
)
def test_names_and_their_fallback(name, first_name):
    rendered = macro_render(
        body="{{customer.first_name}}/{{customer.name}}", ticket=_ticket(name=name)
    )
    full = " ".join(name.split()) or "there"
    assert rendered == f"{first_name}/{full}"


def test_the_other_fallbacks():
    ticket = _ticket(subject="  ", org_name="")
    body = "{{ticket.subject}} / {{organization.name}} / {{agent.name}}"
    assert macro_render(body=body, ticket=ticket) == "your request / our team / the support team"
    # An agent without a name signs with their email.
    nameless = Agent(name="", email="sam@acme.test")
    assert macro_render(body="{{agent.name}}", ticket=ticket, agent=nameless) == "sam@acme.test"


def test_values_are_inserted_as_they_are_never_expanded_or_executed():
    ticket = _ticket(name="{{ticket.subject}}", subject="{% load static %}{{ agent.name }}")
    body = "{{customer.name}} wrote about {{ticket.subject}}"
    assert macro_render(body=body, ticket=ticket) == (
        "{{ticket.subject}} wrote about {% load static %}{{ agent.name }}"
    )
    # Plain text: no HTML escaping either (the reply is text; its display escapes it).
    ticket = _ticket(name="<b>Ada</b> & co")
    assert macro_render(body="Hi {{customer.name}}", ticket=ticket) == "Hi <b>Ada</b> & co"


@pytest.mark.parametrize(
    "body",
    [
        "Hi {{customer.email}}",
        "Hi {{ customer.name|upper }}",
        "Hi {{customer.name.__class__}}",
        "{% load static %}hello",
        "{% if customer.name %}x{% endif %}",
        "{# a comment #}",
        "{{settings.SECRET_KEY}}",
        "Hi {{ }}",
        "Hi {{customer.name}",
        "Hi {customer.name}}",
        "{{ {{customer.name}} }}",
    ],
)
def test_anything_but_the_placeholders_is_refused(body):
    with pytest.raises(DomainError) as refused:
        placeholders_validate(body)
    assert refused.value.field == "body"


@pytest.mark.parametrize(
    "body",
    ["", "Plain text.", '{"json": "braces are fine"}', "{{ customer.name }} and {single}", EVERY],
)
def test_plain_text_and_the_placeholders_pass(body):
    placeholders_validate(body)


def test_the_error_names_the_field_and_every_unknown_placeholder():
    with pytest.raises(DomainError) as refused:
        placeholders_validate("{{a}} {{customer.name}} {{ b|x }} {{a}}", field="reply")
    assert refused.value.field == "reply"
    assert "{{a}}, {{ b|x }};" in refused.value.detail
    assert "{{customer.name}}" in refused.value.detail.split("allowed:")[1]


# Services: validation names the field and saves nothing.


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "M", "body": "Hi {{customer.age}}"}, "body"),
        ({"name": "M", "body": "{% load x %}"}, "body"),
        ({"name": "M", "body": "   "}, "body"),
        ({"name": "M", "body": "Hi", "actions": {"type": "set_priority"}}, "actions"),
        ({"name": "M", "body": "Hi", "actions": [{"type": "fly"}]}, "actions[0].type"),
        (
            {"name": "M", "body": "Hi", "actions": [{"type": "set_priority", "value": "soon"}]},
            "actions[0].value",
        ),
        (
            {"name": "M", "body": "Hi", "actions": [{"type": "assign_team", "value": "nope"}]},
            "actions[0].value",
        ),
    ],
)
def test_macro_create_refuses_and_names_the_field(organization, data, field):
    with pytest.raises(DomainError) as refused:
        macro_create(organization=organization, data=data, actor=None)
    assert refused.value.field == field
    assert not Macro.objects.exists()


@pytest.mark.django_db
def test_a_macro_cannot_run_macros(organization, manager):
    other = macro_create(organization=organization, data={"name": "O", "body": "x"}, actor=None)
    for kind in ("apply_macro", "send_reply"):
        with pytest.raises(DomainError) as refused:
            macro_create(
                organization=organization,
                data={
                    "name": "M",
                    "body": "x",
                    "actions": [{"type": kind, "value": str(other.pk)}],
                },
                actor=manager,
            )
        assert refused.value.field == "actions[0].type"
    # ...nor itself (which would recurse without end when applied).
    with pytest.raises(DomainError):
        macro_update(
            macro=other,
            data={"actions": [{"type": "apply_macro", "value": str(other.pk)}]},
            actor=manager,
        )
    other.refresh_from_db()
    assert other.actions == []


@pytest.mark.django_db
def test_names_are_unique_per_organization(organization, other_organization):
    macro_create(organization=organization, data={"name": "Thanks", "body": "x"}, actor=None)
    with pytest.raises(Conflict) as taken:
        macro_create(organization=organization, data={"name": "Thanks", "body": "y"}, actor=None)
    assert taken.value.field == "name"
    macro_create(organization=other_organization, data={"name": "Thanks", "body": "z"}, actor=None)
    assert Macro.objects.count() == 2


@pytest.mark.django_db
def test_an_update_is_validated_whole_and_records_history(organization, manager):
    macro = macro_create(
        organization=organization,
        data={"name": "M", "body": "Hi", "actions": [{"type": "add_tags", "value": ["a"]}]},
        actor=manager,
    )
    macro = macro_update(macro=macro, data={"body": ""}, actor=manager)  # actions remain
    assert macro.body == "" and macro.actions == [{"type": "add_tags", "value": ["a"]}]
    with pytest.raises(DomainError) as refused:
        macro_update(macro=macro, data={"actions": []}, actor=manager)  # nothing left
    assert refused.value.field == "body"
    macro.refresh_from_db()
    assert macro.actions and macro.history.first().history_user == manager


@pytest.mark.django_db
def test_a_macro_an_automation_uses_cannot_be_deleted(organization, manager):
    macro = macro_create(organization=organization, data={"name": "M", "body": "Hi"}, actor=None)
    automation_create(
        organization=organization,
        data={
            "name": "Auto-reply",
            "trigger": "ticket.created",
            "actions": [{"type": "send_reply", "value": str(macro.pk)}],
        },
        actor=manager,
    )
    with pytest.raises(Conflict) as used:
        macro_delete(macro=macro, actor=manager)
    assert "Auto-reply" in used.value.detail
    assert Macro.objects.filter(pk=macro.pk).exists()


@pytest.mark.django_db
def test_macro_apply_refuses_a_macro_of_another_organization(
    other_organization, make_ticket, manager
):
    theirs = Macro.objects.create(organization=other_organization, name="T", body="Hi")
    with pytest.raises(NotFound):
        macro_apply(macro=theirs, ticket=make_ticket(), actor=manager, actor_label="", send=True)
    assert Macro.objects.get(pk=theirs.pk).usage_count == 0


@pytest.mark.django_db
def test_rendering_a_saved_ticket(organization, customer, make_ticket):
    agent = AgentFactory(organization=organization, name="Ann Agent")
    ticket = make_ticket(subject="Refund please")
    assert macro_render(body=EVERY, ticket=ticket, agent=agent) == (
        f"Ada Buyer | Ada | {str(ticket.pk)[:8]} | Refund please | Ann Agent | Acme"
    )
