"""A field a write does not take is a 400 naming it, never silently ignored."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from agents.api.strict import RejectUnknownFieldsMixin
from agents.models import Skill
from agents.tests.factories import AgentFactory, TeamFactory
from integrations.models import ChannelAccount, IntegrationAccount, WebhookEndpoint
from integrations.secrets import secret_seal
from intelligence.models import TicketRecommendation
from rules.models import AutomationRule, Macro
from rules.services import rule_create
from sla.policies import calendar_save, policy_save

WRITES = ("post", "put", "patch")


def _write_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in WRITES
        and operation.get("requestBody")
        # Providers' webhooks carry the provider's own payloads (any fields), verified by
        # signature or secret instead: integrations/tests/test_provider_webhooks_and_push.py.
        and "/webhook/{account_id}" not in path
        and "{channel_id}" not in path  # email, Twilio and chat wire formats, likewise
    )


@pytest.fixture
def objects(organization, make_ticket, customer):
    ticket = make_ticket()
    TicketRecommendation.objects.create(
        ticket=ticket,
        data={"priority": "normal", "actions": [{"action": "Call", "completed": False}]},
        conversation_version=ticket.message_count,
    )
    return {
        "ticket": ticket,
        "customer": customer,
        "rule": rule_create(organization=organization, actor=None, name="R", type="vip"),
        "calendar": calendar_save(
            organization=organization, data={"name": "C", "always_open": True}, actor=None
        ),
        "policy": policy_save(
            organization=organization, data={"name": "P", "resolution_minutes": 60}, actor=None
        ),
        "team": TeamFactory(organization=organization),
        "skill": Skill.objects.create(organization=organization, name="S"),
        "agent": AgentFactory(organization=organization),
        "macro": Macro.objects.create(organization=organization, name="M", body="Hi"),
        "automation": AutomationRule.objects.create(
            organization=organization,
            name="A",
            trigger="ticket.created",
            actions=[{"type": "set_priority", "value": "high"}],
        ),
        "webhook": WebhookEndpoint.objects.create(
            organization=organization, url="https://93.184.215.14/h", events=["ticket.created"]
        ),
        "account": IntegrationAccount.objects.create(
            organization=organization,
            provider="zendesk",
            name="Z",
            subdomain="acme",
            email="ops@acme.test",
            api_secret=secret_seal("token"),
        ),
        "channel": ChannelAccount.objects.create(
            organization=organization, kind="chat", name="W", secret=secret_seal("chs_x")
        ),
    }


def _fill(path: str, objects: dict) -> str:
    kind = {
        "tickets": "ticket",
        "rules": "rule",
        "calendars": "calendar",
        "policies": "policy",
        "teams": "team",
        "skills": "skill",
        "agents": "agent",
        "automations": "automation",
        "macros": "macro",
        "webhooks": "webhook",
        "accounts": "account",
        "channels": "channel",
    }
    values = {
        "ticket_id": objects["ticket"].pk,
        "customer_id": objects["customer"].external_id,
        "index": 0,
    }
    for segment, name in kind.items():
        if f"/{segment}/{{id}}" in path:
            values["id"] = objects[name].pk
    return path.format(**values)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), _write_operations())
def test_every_write_rejects_an_unknown_field(manager_client, objects, method, path):
    """Every documented request body, so that a new endpoint cannot forget the check."""
    response = getattr(manager_client, method.lower())(
        _fill(path, objects), {"zz_unknown": 1}, format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["errors"]["zz_unknown"] == ["Unknown field."], body
    assert "zz_unknown" in body["detail"]
    assert body["error"]["details"]["zz_unknown"] == ["Unknown field."]


@pytest.mark.django_db
def test_an_agent_cannot_promote_themselves(agent_client, agent):
    response = agent_client.patch(
        "/api/v1/agents/me", {"availability": "away", "role": "admin"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"role": ["Unknown field."]}
    assert response.json()["detail"] == "role: Unknown field."
    agent.refresh_from_db()
    assert (agent.role, agent.availability) == ("agent", "available")


@pytest.mark.django_db
def test_fields_of_the_answer_are_not_writable(agent_client, agent, make_ticket):
    me = agent_client.patch(
        "/api/v1/agents/me", {"availability": "away", "email": "x@evil.test"}, format="json"
    )
    assert me.status_code == 400 and me.json()["errors"] == {"email": ["Unknown field."]}
    ticket = make_ticket()
    response = agent_client.patch(
        f"/api/v1/tickets/{ticket.pk}",
        {"priority": "high", "smart_score": 99, "escalation_level": 3},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"smart_score", "escalation_level"}
    ticket.refresh_from_db()
    assert ticket.priority == "normal"


@pytest.mark.django_db
def test_unknown_and_invalid_fields_are_reported_together(manager_client):
    response = manager_client.post(
        "/api/v1/rules", {"name": "X", "type": "nope", "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["colour", "type"]  # the unknown field first
    assert errors["colour"] == ["Unknown field."]


@pytest.mark.django_db
def test_unknown_keys_inside_calendar_hours_and_holidays(manager_client):
    response = manager_client.post(
        "/api/v1/sla/calendars",
        {
            "name": "Office",
            "hours": [{"weekday": 0, "start": "09:00", "end": "17:00", "colour": "red"}],
            "holidays": [{"date": "2026-12-25", "name": "Christmas", "paid": True}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "hours": ["hours[0].colour: Unknown field."],
        "holidays": ["holidays[0].paid: Unknown field."],
    }


@pytest.mark.django_db
def test_unknown_keys_inside_escalation_steps(manager_client):
    response = manager_client.post(
        "/api/v1/sla/policies",
        {
            "name": "P",
            "resolution_minutes": 60,
            "escalation": [{"on": "breached", "page_the_ceo": True}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "escalation" in response.json()["errors"]


class _Step(RejectUnknownFieldsMixin, serializers.Serializer):
    on = serializers.CharField()


class _Body(RejectUnknownFieldsMixin, serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    steps = _Step(many=True, required=False)


def test_nested_serializers_and_read_only_fields():
    body = _Body(data={"id": 3, "name": "x", "steps": [{"on": "a"}, {"on": "b", "off": 1}]})
    assert not body.is_valid()
    assert body.errors == {
        "id": ["Unknown field."],
        "steps": {1: {"off": ["Unknown field."]}},
    }
    assert _Body(data={"name": "x", "steps": [{"on": "a"}]}).is_valid()


# --- What the real frontend sends is accepted -------------------------------------------
# Bodies as sent by github:Quimbi-ai/quimbi-support-frontend (frontend/src/api/*.ts) and
# documented in shared/contracts/support-frontend-openapi.yaml.


@pytest.mark.django_db
def test_frontend_ticket_create_and_update(key_client):
    created = key_client.post(
        "/api/tickets",
        {
            "customer_id": "7408502702335",
            "subject": "Order never arrived",
            "channel": "chat",
            "priority": "urgent",
            "status": "open",
            "tags": ["shipping"],
            "initial_message": "Where is it?",
            "author_name": "Sarah",
            "author_email": "7408502702335@demo.quimbi.com",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    ticket_id = created.json()["ticket"]["id"]
    updated = key_client.patch(
        f"/api/tickets/{ticket_id}",
        {
            "status": "pending",
            "priority": "high",
            "assigned_to": None,
            "tags": ["shipping"],
            "add_tags": ["vip"],
            "remove_tags": ["shipping"],
        },
        format="json",
    )
    assert updated.status_code == 200, updated.content


@pytest.mark.django_db
def test_frontend_message_and_note(key_client, make_ticket):
    ticket = make_ticket()
    message = key_client.post(
        f"/api/tickets/{ticket.pk}/messages",
        {
            "from_agent": True,
            "send_to_customer": True,
            "author_name": "Support Agent",
            "content": "On its way.",
            "author_email": "agent@acme.test",
            "close_ticket": False,
        },
        format="json",
    )
    assert message.status_code == 201, message.content
    note = key_client.post(
        f"/api/tickets/{ticket.pk}/notes",
        {"content": "Second time.", "author_name": "Agent", "author_id": "agent-1"},
        format="json",
    )
    assert note.status_code == 201, note.content


@pytest.mark.django_db
def test_frontend_ai_bodies(key_client, make_ticket):
    ticket = make_ticket()
    regenerate = key_client.post(
        f"/api/ai/tickets/{ticket.pk}/draft-response/regenerate",
        {
            "tone": "friendly",
            "length": "short",
            "include_offer": True,
            "template": "shipping_issue",
            "include_actions": [0, 1],
        },
        format="json",
    )
    assert regenerate.status_code == 200, regenerate.content
    assert (
        key_client.post(
            f"/api/ai/tickets/{ticket.pk}/draft-response/regenerate", {}, format="json"
        ).status_code
        == 200
    )
    TicketRecommendation.objects.create(
        ticket=ticket,
        data={"priority": "normal", "actions": [{"action": "Call", "completed": False}]},
        conversation_version=ticket.message_count,
    )
    done = key_client.patch(
        f"/api/ai/tickets/{ticket.pk}/recommendation/actions/0", {"completed": True}, format="json"
    )
    assert done.status_code == 200, done.content


@pytest.mark.django_db
def test_query_parameters_stay_lenient(key_client):
    assert key_client.get("/api/tickets?_t=1700000000000&smart_order=true").status_code == 200
