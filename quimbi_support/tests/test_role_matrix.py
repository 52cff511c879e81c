"""The README's role matrix, enforced: one test per cell, generated from the table.

Each row of the "Role matrix" table in README.md names a request (an API method and path,
or an admin area and action); each column a caller. The test sends that request as that
caller against the caller's own organization's objects and checks the cell: `✓` is
allowed (a 2xx, or in the admin a page that opens or a form that saves), a number is the
status the caller is refused with (302 means sent to the admin's login page). A changed
README changes the tests, and an API operation or admin page without a row fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from agents import roles
from agents.models import Agent, ApiKey, Organization, Skill, Team
from agents.services import agent_token_create, api_key_create
from agents.tests.factories import AgentFactory, TeamFactory
from integrations.models import (
    ChannelAccount,
    ChannelReceipt,
    InboundEvent,
    IntegrationAccount,
    ProviderPush,
    SyncRun,
    WebhookDelivery,
    WebhookEndpoint,
)
from integrations.secrets import secret_seal
from intelligence.models import QuimbiAccount, TicketRecommendation
from rules.models import AutomationRule, Macro, Rule, RuleRun, ScoringConfig
from rules.services import rule_create
from sla.models import BusinessCalendar, SLAClock, SLAPolicy
from sla.policies import calendar_save, policy_save
from tickets.models import Customer, EventDelivery, Satisfaction, Tag, Ticket, TicketEvent
from tickets.services import customer_get_or_create, ticket_create, ticket_transition

README = Path(settings.BASE_DIR) / "README.md"
SECTION = "### Role matrix"
CALLERS = [
    "admin",
    "manager",
    "agent",
    "API key (agent role)",
    "API key (manager role)",
    "anonymous",
]
ALLOWED = "✓"
PASSWORD = "pw-for-tests-123"  # AgentFactory's


# --- The table --------------------------------------------------------------------------


def role_matrix() -> dict[str, dict[str, str]]:
    """{row label: {caller: cell}} from the README's "Role matrix" table."""
    text = README.read_text(encoding="utf-8")
    _, found, rest = text.partition(f"\n{SECTION}\n")
    assert found, f"README.md has no {SECTION!r} section"
    lines = []
    for line in rest.splitlines():
        if line.startswith("#"):
            break
        if line.startswith("|"):
            lines.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    header, rows = lines[0], lines[2:]
    assert header[1:] == CALLERS, f"the table's columns are {header[1:]}, expected {CALLERS}"
    matrix = {}
    for cells in rows:
        label = cells[0].strip("`")
        assert label not in matrix, f"row {label!r} appears twice"
        matrix[label] = dict(zip(CALLERS, cells[1:], strict=True))
    return matrix


MATRIX = role_matrix()


# --- The world: one organization, a caller of each kind, a row of each thing ------------


@dataclass
class World:
    organization: Organization
    users: dict[str, Agent]
    tokens: dict[str, str]
    keys: dict[str, str]
    customer: Customer
    new_customer: Customer
    ticket: Ticket
    rule: Rule
    calendar: BusinessCalendar
    policy: SLAPolicy
    team: Team
    skill: Skill
    tag: Tag
    colleague: Agent
    api_key: ApiKey
    periodic_task: PeriodicTask


@pytest.fixture
def world(organization, settings) -> World:
    settings.DEMO_FEATURES = True  # the demo resets are rows of the matrix too
    users = {
        role: AgentFactory(organization=organization, role=role, email=f"{role}@acme.test")
        for role in (roles.ADMIN, roles.MANAGER, roles.AGENT)
    }
    tokens = {role: agent_token_create(agent=user)[1] for role, user in users.items()}
    keys = {
        role: api_key_create(organization=organization, name=role, role=role, actor=None)[1]
        for role in (roles.AGENT, roles.MANAGER)
    }
    customer = customer_get_or_create(
        organization=organization, external_id="7408502702335", name="Ada Buyer"
    )
    ticket = ticket_create(
        organization=organization,
        customer=customer,
        subject="Where is my order?",
        initial_message="It has not arrived yet.",
        actor=None,
    )
    TicketRecommendation.objects.create(
        ticket=ticket,
        data={
            "priority": "normal",
            "actions": [{"action": "Check the carrier", "priority": 1, "completed": False}],
            "talking_points": [],
            "warnings": [],
            "estimated_impact": {},
        },
        conversation_version=ticket.message_count,
    )
    ScoringConfig.objects.create(organization=organization)
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    return World(
        organization=organization,
        users=users,
        tokens=tokens,
        keys=keys,
        customer=customer,
        new_customer=customer_get_or_create(organization=organization, external_id="557"),
        ticket=ticket,
        rule=rule_create(
            organization=organization, actor=None, name="Refunds", type="custom", keywords=["x"]
        ),
        calendar=calendar_save(
            organization=organization,
            data={"name": "Office", "timezone": "UTC", "always_open": True},
            actor=None,
        ),
        policy=policy_save(
            organization=organization,
            data={"name": "Default", "resolution_minutes": 600},
            actor=None,
        ),
        team=TeamFactory(organization=organization, name="Billing"),
        skill=Skill.objects.create(organization=organization, name="French"),
        tag=Tag.objects.create(organization=organization, name="refund"),
        colleague=AgentFactory(organization=organization, role=roles.AGENT, email="bo@acme.test"),
        api_key=ApiKey.objects.get(organization=organization, role=roles.AGENT),
        periodic_task=PeriodicTask.objects.get_or_create(
            name="role matrix task", defaults={"task": "sla.scan", "interval": interval}
        )[0],
    )


def caller_user(world: World, caller: str) -> Agent | None:
    return world.users.get(caller)


def api_client(world: World, caller: str) -> APIClient:
    """Agents log in with their personal token, API keys send X-API-Key."""
    client = APIClient()
    if caller in world.tokens:
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[caller]}")
    elif caller.startswith("API key"):
        role = roles.MANAGER if "manager" in caller else roles.AGENT
        client.credentials(HTTP_X_API_KEY=world.keys[role])
    return client


def browser(world: World, caller: str) -> Client:
    """The admin: agents log in with a session; an API key is no admin login."""
    if caller.startswith("API key"):
        role = roles.MANAGER if "manager" in caller else roles.AGENT
        return Client(HTTP_X_API_KEY=world.keys[role])
    client = Client()
    if caller in world.users:
        client.force_login(world.users[caller])
    return client


# --- API rows: the label is the request -------------------------------------------------


def _path_values(world: World, path: str) -> dict[str, str]:
    by_prefix = {
        "/api/v1/tickets/{id}": world.ticket.pk,
        "/api/v1/rules/{id}": world.rule.pk,
        "/api/v1/sla/calendars/{id}": world.calendar.pk,
        "/api/v1/sla/policies/{id}": world.policy.pk,
        "/api/v1/teams/{id}": world.team.pk,
        "/api/v1/skills/{id}": world.skill.pk,
        "/api/v1/agents/{id}": world.colleague.pk,
    }
    if path.startswith("/api/v1/macros/{id}"):
        by_prefix["/api/v1/macros/{id}"] = _macro(world).pk
    if path.startswith("/api/v1/automations/{id}"):
        by_prefix["/api/v1/automations/{id}"] = _automation(world).pk
    if path.startswith("/api/v1/webhooks/{id}"):
        by_prefix["/api/v1/webhooks/{id}"] = _webhook(world).pk
    if path.startswith("/api/v1/integrations/accounts/{id}"):
        by_prefix["/api/v1/integrations/accounts/{id}"] = _integration_account(world).pk
    if "{account_id}" in path:
        values_account = _integration_account(world, path.split("/")[4]).pk
    if path.startswith("/api/v1/integrations/channels/{id}"):
        by_prefix["/api/v1/integrations/channels/{id}"] = _channel(world).pk
    channel_id = _channel(world, path.split("/")[4]).pk if "{channel_id}" in path else None
    values = {
        "ticket_id": world.ticket.pk,
        "customer_id": world.customer.external_id,
        "index": 0,
    }
    if "{delivery_id}" in path:
        values["delivery_id"] = _webhook_delivery(world).pk
    if "{account_id}" in path:
        values["account_id"] = values_account
    if channel_id is not None:
        values["channel_id"] = channel_id
    for prefix, pk in by_prefix.items():
        if path.startswith(prefix):
            values["id"] = pk
    return {k: str(v) for k, v in values.items()}


QUERIES = {"GET /api/v1/sla/calendars/{id}/due": "?start=2026-01-05T09:00:00Z&minutes=60"}

BODIES: dict[str, Callable[[World], dict]] = {
    "POST /api/v1/auth/token": lambda w: {"email": "agent@acme.test", "password": PASSWORD},
    "PATCH /api/v1/agents/me": lambda w: {"availability": "away"},
    "POST /api/v1/agents": lambda w: {"email": "hire@acme.test", "name": "Hire", "role": "agent"},
    "PATCH /api/v1/agents/{id}": lambda w: {"capacity": 5, "availability": "away"},
    "POST /api/v1/teams": lambda w: {"name": "Returns", "routing_strategy": "round_robin"},
    "PATCH /api/v1/teams/{id}": lambda w: {
        "description": "Invoices",
        "member_ids": [str(w.colleague.pk)],
        "calendar_id": str(w.calendar.pk),
    },
    "POST /api/v1/skills": lambda w: {"name": "Spanish", "tags": ["ES"], "channels": ["phone"]},
    "PATCH /api/v1/skills/{id}": lambda w: {"tags": ["fr"], "agent_ids": [str(w.colleague.pk)]},
    "POST /api/v1/tickets": lambda w: {
        "customer_id": "555",
        "subject": "Damaged box",
        "author_name": "Cy Buyer",
    },
    "PATCH /api/v1/tickets/{id}": lambda w: {"priority": "high"},
    "POST /api/v1/tickets/{id}/messages": lambda w: {"content": "On its way.", "from_agent": True},
    "POST /api/v1/tickets/{id}/notes": lambda w: {"content": "Second parcel this month."},
    "POST /api/v1/tickets/{id}/satisfaction": lambda w: {"rating": 5, "comment": "Thanks!"},
    "POST /api/v1/tickets/prioritize": lambda w: {"ticket_ids": [str(w.ticket.pk)]},
    "POST /api/v1/customers": lambda w: {"customer_id": "556", "name": "Dee Buyer"},
    "PATCH /api/v1/customers/{customer_id}": lambda w: {"tier": "vip"},
    "POST /api/v1/rules": lambda w: {"name": "VIP", "type": "vip", "boost_amount": 3},
    "PATCH /api/v1/rules/{id}": lambda w: {"boost_amount": 4},
    "POST /api/v1/sla/calendars": lambda w: {"name": "Weekend", "always_open": True},
    "PATCH /api/v1/sla/calendars/{id}": lambda w: {"name": "Head office"},
    "POST /api/v1/sla/policies": lambda w: {"name": "Urgent", "first_response_minutes": 30},
    "PATCH /api/v1/sla/policies/{id}": lambda w: {"resolution_minutes": 480},
    "POST /api/v1/ai/tickets/{ticket_id}/draft-response/regenerate": lambda w: {"tone": "friendly"},
    "PATCH /api/v1/ai/tickets/{ticket_id}/recommendation/actions/{index}": lambda w: {
        "completed": True
    },
    "POST /api/v1/tickets/{ticket_id}/draft": lambda w: {"tone": "empathetic"},
    "POST /api/v1/tickets/{ticket_id}/assign": lambda w: {"team_id": str(w.team.pk)},
    "POST /api/v1/tickets/{ticket_id}/transfer": lambda w: {"team_id": str(w.team.pk)},
    "POST /api/v1/automations": lambda w: {
        "name": "Angry",
        "trigger": "message.customer",
        "conditions": {"all": [{"field": "body", "operator": "contains", "value": "angry"}]},
        "actions": [{"type": "set_priority", "value": "urgent"}],
    },
    "PATCH /api/v1/automations/{id}": lambda w: {"position": 20},
    "POST /api/v1/macros": lambda w: {"name": "Thanks", "body": "Thanks {{customer.name}}!"},
    "PATCH /api/v1/macros/{id}": lambda w: {"body": "Hello {{customer.first_name}}"},
    "POST /api/v1/tickets/{ticket_id}/apply-macro": lambda w: {"macro_id": str(_macro(w).pk)},
    "POST /api/v1/webhooks": lambda w: {
        "url": "https://93.184.215.14/hooks",
        "events": ["ticket.created"],
    },
    "PATCH /api/v1/webhooks/{id}": lambda w: {"description": "CRM"},
    "POST /api/v1/integrations/accounts": lambda w: {
        "provider": "gorgias",
        "name": "Gorgias",
        "domain": "acme",
        "username": "ops@acme.test",
        "api_key": "g-key",
    },
    "PATCH /api/v1/integrations/accounts/{id}": lambda w: {"sync_interval_minutes": 15},
    "POST /api/v1/integrations/accounts/{id}/sync": lambda w: {},
    "POST /api/v1/integrations/channels": lambda w: {"kind": "chat", "name": "Widget"},
    "PATCH /api/v1/integrations/channels/{id}": lambda w: {"name": "Support desk"},
    "POST /api/v1/automations/dry-run": lambda w: {
        "trigger": "ticket.created",
        "actions": [{"type": "set_priority", "value": "urgent"}],
        "since": (timezone.now() - timedelta(days=1)).isoformat(),
    },
}

# State a request needs first (so an allowed caller's answer is a 2xx, not a 400).
PREPARE: dict[str, Callable[[World], object]] = {
    "POST /api/v1/tickets/{id}/satisfaction": lambda w: ticket_transition(
        ticket=w.ticket, to_status="resolved", actor=None
    ),
}

API_ROW = re.compile(r"^(GET|POST|PATCH|PUT|DELETE) (/\S*)$")


def api_request(world: World, caller: str, label: str):
    method, template = API_ROW.match(label).groups()
    if label in PREPARE:
        PREPARE[label](world)
    path = template.format(**_path_values(world, template)) + QUERIES.get(label, "")
    body = BODIES[label](world) if label in BODIES else None
    return getattr(api_client(world, caller), method.lower())(path, body, format="json")


# --- Admin rows -------------------------------------------------------------------------


def _plain(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "pk"):
        return str(value.pk)
    return str(value)


def _form_data(form) -> dict:
    """What a browser posts for `form` as rendered."""
    data = {}
    for bound in form:
        field, widget, name = bound.field, bound.field.widget, bound.html_name
        if field.disabled:
            continue
        value = bound.value()
        if isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for suffix, part in zip(widget.widgets_names, parts, strict=False):
                data[f"{name}{suffix}"] = _plain(part)
        elif isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField) and (
            not value
        ):
            continue  # a browser sends nothing for an empty multiple choice
        elif isinstance(widget, forms.CheckboxInput):
            if widget.check_test(value):
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [_plain(v) for v in value]
        else:
            data[name] = _plain(value)
    return data


def _admin_request(user: Agent):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def change_form(user: Agent | None, obj, **changes) -> dict:
    """The change page of `obj` as `user` would submit it, with `changes`."""
    if user is None:
        return dict(changes)
    model_admin = admin.site._registry[type(obj)]
    request = _admin_request(user)
    data = _form_data(model_admin.get_form(request, obj, change=True)(instance=obj))
    for formset_class, inline in model_admin.get_formsets_with_inlines(request, obj):
        prefix = formset_class.get_default_prefix()
        formset = formset_class(**model_admin.get_formset_kwargs(request, obj, inline, prefix))
        data.update(_form_data(formset.management_form))
        for inline_form in formset.forms:
            data.update(_form_data(inline_form))
    return {**data, **changes, "_save": "Save"}


def add_form(user: Agent | None, model, **values) -> dict:
    """The add page of `model` as `user` would submit it: its defaults, `values`, and no
    inline rows."""
    if user is None:
        return dict(values)
    model_admin = admin.site._registry[model]
    request = _admin_request(user)
    data = _form_data(model_admin.get_form(request, None, change=False)())
    for formset_class, _ in model_admin.get_formsets_with_inlines(request, None):
        prefix = formset_class.get_default_prefix()
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    return {**data, **values, "_save": "Save"}


def _url(obj, view: str = "change") -> str:
    meta = obj._meta if hasattr(obj, "_meta") else obj
    base = f"/admin/{meta.app_label}/{meta.model_name}/"
    if view == "changelist":
        return base
    if view == "add":
        return f"{base}add/"
    return f"{base}{obj.pk}/{view}/"


@dataclass(frozen=True)
class AdminRow:
    """One admin area and action: `request(world, user)` -> (method, url, data), and for
    a write its `effect(world)`: a reading that an allowed write changes and a refused
    one leaves as it was."""

    model: type
    request: Callable[[World, Agent | None], tuple[str, str, dict | None]]
    effect: Callable[[World], object] | None = None


def _reread(obj):
    return type(obj)._default_manager.filter(pk=obj.pk).first()


def _view(model) -> AdminRow:
    return AdminRow(model, lambda w, u: ("GET", _url(model._meta, "changelist"), None))


def _add(model, values: Callable[[World], dict]) -> AdminRow:
    return AdminRow(
        model,
        lambda w, u: ("POST", _url(model._meta, "add"), add_form(u, model, **values(w))),
        effect=lambda w: model._default_manager.count(),
    )


def _change(model, obj: Callable[[World], object], **changes) -> AdminRow:
    return AdminRow(
        model,
        lambda w, u: ("POST", _url(obj(w)), change_form(u, obj(w), **changes)),
        effect=lambda w: [getattr(_reread(obj(w)), name) for name in changes],
    )


def _delete(model, obj: Callable[[World], object]) -> AdminRow:
    return AdminRow(
        model,
        lambda w, u: ("POST", _url(obj(w), "delete"), {"post": "yes"}),
        effect=lambda w: _reread(obj(w)) is not None,
    )


def _action(model, action: str, obj: Callable[[World], object], field: str) -> AdminRow:
    return AdminRow(
        model,
        lambda w, u: (
            "POST",
            _url(model._meta, "changelist"),
            {"action": action, "_selected_action": [str(obj(w).pk)], "index": "0"},
        ),
        effect=lambda w: getattr(_reread(obj(w)), field),
    )


def _automation(world: World) -> AutomationRule:
    """An automation of the world's organization, made once."""
    if not hasattr(world, "automation"):
        world.automation = AutomationRule.objects.create(
            organization=world.organization,
            name="Refunds are urgent",
            trigger="ticket.created",
            conditions={"all": [{"field": "subject", "operator": "contains", "value": "refund"}]},
            actions=[{"type": "set_priority", "value": "high"}],
        )
    return world.automation


def _webhook(world: World) -> WebhookEndpoint:
    """A webhook endpoint of the world's organization, made once (a public address, so
    that saving it again in the admin passes the address check)."""
    if not hasattr(world, "webhook"):
        world.webhook = WebhookEndpoint.objects.create(
            organization=world.organization,
            url="https://93.184.215.14/hooks",
            events=["ticket.created"],
            secret="whsec_dGVzdA==",
        )
    return world.webhook


def _integration_account(world: World, provider: str = "zendesk") -> IntegrationAccount:
    """A Zendesk (or Gorgias) account of the world's organization, made once each."""
    name = f"integration_{provider}"
    if not hasattr(world, name):
        setattr(
            world,
            name,
            IntegrationAccount.objects.create(
                organization=world.organization,
                provider=provider,
                name=provider.title(),
                subdomain="acme",
                domain="acme",
                email="ops@acme.test",
                username="ops@acme.test",
                api_secret=secret_seal("token"),
                webhook_secret=secret_seal("hook-secret"),
            ),
        )
    return getattr(world, name)


def _channel(world: World, kind: str = "email") -> ChannelAccount:
    """An email (or SMS, chat) channel of the world's organization, made once each."""
    name = f"channel_{kind}"
    if not hasattr(world, name):
        setattr(
            world,
            name,
            ChannelAccount.objects.create(
                organization=world.organization,
                kind=kind,
                name=f"{kind} channel",
                address="support@acme.test",
                phone_number="+15550001111",
                account_sid="AC" + "0" * 32,
                auth_token=secret_seal("tw"),
                secret=secret_seal("chs_x"),
            ),
        )
    return getattr(world, name)


def _provider_push(world: World) -> ProviderPush:
    if not hasattr(world, "provider_push"):
        world.provider_push = ProviderPush.objects.create(
            organization=world.organization,
            account=_integration_account(world),
            ticket=world.ticket,
            event_id=1,
            kind="status",
            payload={"status": "closed"},
            status="failed",
        )
    return world.provider_push


def _webhook_delivery(world: World) -> WebhookDelivery:
    if not hasattr(world, "webhook_delivery"):
        world.webhook_delivery = WebhookDelivery.objects.create(
            organization=world.organization,
            endpoint=_webhook(world),
            event_type="ticket.created",
            message_id="evt_1",
            body='{"type":"ticket.created"}',
            status="failed",
        )
    return world.webhook_delivery


def _macro(world: World) -> Macro:
    """A macro of the world's organization, made once."""
    if not hasattr(world, "macro"):
        world.macro = Macro.objects.create(
            organization=world.organization,
            name="Refund on its way",
            body="Hi {{customer.first_name}}, your refund is on its way.",
        )
    return world.macro


def _rating(world: World) -> Satisfaction:
    """The world's ticket's CSAT rating, made once (and remembered, so a deleted one is
    not made again)."""
    if not hasattr(world, "rating"):
        world.rating = Satisfaction.objects.create(
            organization=world.organization, ticket=world.ticket, rating=4, comment="Quick."
        )
    return world.rating


ADMIN_ROWS: dict[str, AdminRow] = {
    "admin: organization view": _view(Organization),
    "admin: organization add": _add(Organization, lambda w: {"name": "Initech", "slug": "ini"}),
    "admin: organization change": _change(Organization, lambda w: w.organization, name="Acme 2"),
    "admin: organization delete": _delete(Organization, lambda w: w.organization),
    "admin: agents view": _view(Agent),
    "admin: agents add": _add(
        Agent,
        lambda w: {
            "email": "hire@acme.test",
            "name": "New Hire",
            "role": "agent",
            "password1": "a-Strong-pass-123",
            "password2": "a-Strong-pass-123",
            "usable_password": "true",
        },
    ),
    "admin: agents change (an agent)": _change(Agent, lambda w: w.colleague, capacity="3"),
    "admin: agents change (an admin)": _change(Agent, lambda w: w.users[roles.ADMIN], capacity="3"),
    "admin: agents delete": _delete(Agent, lambda w: w.colleague),
    "admin: teams view": _view(Team),
    "admin: teams add": _add(Team, lambda w: {"name": "Returns"}),
    "admin: teams change": _change(Team, lambda w: w.team, description="Invoices"),
    "admin: teams delete": _delete(Team, lambda w: w.team),
    "admin: skills view": _view(Skill),
    "admin: skills add": _add(Skill, lambda w: {"name": "German"}),
    "admin: skills change": _change(Skill, lambda w: w.skill, name="Français"),
    "admin: skills delete": _delete(Skill, lambda w: w.skill),
    "admin: API keys view": _view(ApiKey),
    "admin: API keys add": _add(ApiKey, lambda w: {"name": "zapier", "role": "agent"}),
    "admin: API keys revoke": _action(ApiKey, "revoke", lambda w: w.api_key, "revoked_at"),
    "admin: API keys delete": _delete(ApiKey, lambda w: w.api_key),
    "admin: customers view": _view(Customer),
    "admin: customers add": _add(Customer, lambda w: {"name": "Eve", "tier": "standard"}),
    "admin: customers change": _change(Customer, lambda w: w.customer, tier="vip"),
    # A customer with tickets is protected: the one without any.
    "admin: customers delete": _delete(Customer, lambda w: w.new_customer),
    "admin: tickets view": _view(Ticket),
    "admin: tickets add": _add(
        Ticket,
        lambda w: {
            "subject": "Phoned in",
            "customer": str(w.customer.pk),
            "channel": "phone",
            "priority": "normal",
            "initial_message": "Caller asks for a refund.",
        },
    ),
    "admin: tickets change": _change(Ticket, lambda w: w.ticket, priority="urgent"),
    "admin: tickets delete": _delete(Ticket, lambda w: w.ticket),
    "admin: tickets history": AdminRow(
        Ticket, lambda w, u: ("GET", _url(w.ticket, "history"), None)
    ),
    "admin: satisfaction ratings view": _view(Satisfaction),
    "admin: satisfaction ratings change": _change(Satisfaction, lambda w: _rating(w), rating="2"),
    "admin: satisfaction ratings delete": _delete(Satisfaction, lambda w: _rating(w)),
    "admin: satisfaction ratings history": AdminRow(
        Satisfaction, lambda w, u: ("GET", _url(_rating(w), "history"), None)
    ),
    "admin: tags view": _view(Tag),
    "admin: tags add": _add(Tag, lambda w: {"name": "shipping"}),
    "admin: tags change": _change(Tag, lambda w: w.tag, name="refunds"),
    "admin: tags delete": _delete(Tag, lambda w: w.tag),
    "admin: ticket events view": _view(TicketEvent),
    "admin: event deliveries view": _view(EventDelivery),
    "admin: customers history": AdminRow(
        Customer, lambda w, u: ("GET", _url(w.customer, "history"), None)
    ),
    "admin: rules view": _view(Rule),
    "admin: rules add": _add(
        Rule,
        lambda w: {
            "name": "Angry",
            "type": "custom",
            "keywords": '["angry"]',
            "boost_amount": "2",
            "active": "on",
            "conditions": "{}",
        },
    ),
    "admin: rules change": _change(Rule, lambda w: w.rule, boost_amount="5"),
    "admin: rules delete": _delete(Rule, lambda w: w.rule),
    "admin: automations view": _view(AutomationRule),
    "admin: automations add": _add(
        AutomationRule,
        lambda w: {
            "name": "Angry customers",
            "trigger": "message.customer",
            "position": "10",
            "active": "on",
            "conditions": '{"all": [{"field": "body", "operator": "contains", "value": "angry"}]}',
            "actions": '[{"type": "set_priority", "value": "urgent"}]',
        },
    ),
    "admin: automations change": _change(AutomationRule, _automation, position="20"),
    "admin: automations delete": _delete(AutomationRule, _automation),
    "admin: automation runs view": _view(RuleRun),
    "admin: macros view": _view(Macro),
    "admin: macros add": _add(
        Macro, lambda w: {"name": "Thanks", "body": "Thanks {{customer.name}}", "actions": "[]"}
    ),
    "admin: macros change": _change(Macro, _macro, body="Hello {{customer.name}}"),
    "admin: macros delete": _delete(Macro, _macro),
    "admin: webhooks view": _view(WebhookEndpoint),
    "admin: webhooks add": _add(
        WebhookEndpoint,
        lambda w: {
            "url": "https://93.184.215.14/new",
            "events": '["ticket.created"]',
            "active": "on",
        },
    ),
    "admin: webhooks change": _change(WebhookEndpoint, _webhook, description="CRM sync"),
    "admin: webhooks delete": _delete(WebhookEndpoint, _webhook),
    "admin: webhook deliveries view": _view(WebhookDelivery),
    "admin: webhook deliveries replay": AdminRow(
        WebhookDelivery,
        lambda w, u: (
            "POST",
            _url(WebhookDelivery._meta, "changelist"),
            {
                "action": "replay",
                "_selected_action": [str(_webhook_delivery(w).pk)],
                "index": "0",
            },
        ),
        effect=lambda w: WebhookDelivery.objects.filter(replay_of__isnull=False).count(),
    ),
    "admin: integration accounts view": _view(IntegrationAccount),
    "admin: integration accounts add": _add(
        IntegrationAccount,
        lambda w: {
            "provider": "gorgias",
            "name": "Gorgias",
            "domain": "acme",
            "username": "ops@acme.test",
            "api_secret_input": "g-key",
            "enabled": "on",
            "sync_interval_minutes": "5",
            "rate_limit_per_minute": "0",
            "ignore_senders": "[]",
            "ignore_tags": "[]",
        },
    ),
    "admin: integration accounts change": _change(
        IntegrationAccount, _integration_account, sync_interval_minutes="15"
    ),
    "admin: integration accounts delete": _delete(IntegrationAccount, _integration_account),
    "admin: sync runs view": _view(SyncRun),
    "admin: inbound events view": _view(InboundEvent),
    "admin: provider pushes view": _view(ProviderPush),
    "admin: provider pushes retry": _action(ProviderPush, "retry", _provider_push, "status"),
    "admin: channels view": _view(ChannelAccount),
    "admin: channels add": _add(
        ChannelAccount,
        lambda w: {"kind": "chat", "name": "Widget", "enabled": "on"},
    ),
    "admin: channels change": _change(ChannelAccount, _channel, name="Support desk"),
    "admin: channels delete": _delete(ChannelAccount, _channel),
    "admin: channel receipts view": _view(ChannelReceipt),
    "admin: scoring weights view": _view(ScoringConfig),
    "admin: scoring weights change": _change(
        ScoringConfig,
        lambda w: ScoringConfig.objects.get(organization=w.organization),
        age_points_per_sqrt_hour="0.7",
    ),
    "admin: SLA calendars view": _view(BusinessCalendar),
    "admin: SLA calendars add": _add(
        BusinessCalendar,
        lambda w: {
            "name": "Nights",
            "timezone": "UTC",
            "always_open": "on",
        },
    ),
    "admin: SLA calendars change": _change(BusinessCalendar, lambda w: w.calendar, name="HQ"),
    "admin: SLA calendars delete": _delete(BusinessCalendar, lambda w: w.calendar),
    "admin: SLA policies view": _view(SLAPolicy),
    "admin: SLA policies add": _add(
        SLAPolicy,
        lambda w: {
            "name": "VIP",
            "position": "1",
            "active": "on",
            "priorities": "[]",
            "channels": "[]",
            "customer_tiers": '["vip"]',
            "first_response_minutes": "30",
            "pause_on_pending": "[]",
            "at_risk_percent": "80",
            "escalation": "[]",
        },
    ),
    "admin: SLA policies change": _change(SLAPolicy, lambda w: w.policy, resolution_minutes="300"),
    "admin: SLA policies delete": _delete(SLAPolicy, lambda w: w.policy),
    "admin: SLA compliance report": AdminRow(
        SLAPolicy, lambda w, u: ("GET", "/admin/sla/slapolicy/compliance/", None)
    ),
    "admin: SLA clocks view": _view(SLAClock),
    "admin: manager dashboard": AdminRow(Ticket, lambda w, u: ("GET", "/admin/dashboard/", None)),
    "admin: Quimbi accounts view": _view(QuimbiAccount),
    "admin: periodic tasks view": _view(PeriodicTask),
    "admin: periodic tasks change": _change(
        PeriodicTask, lambda w: w.periodic_task, description="changed"
    ),
    "admin: schedules (interval, crontab, solar, clocked) view": _view(IntervalSchedule),
    "admin: groups view": _view(Group),
}


def admin_request(world: World, caller: str, label: str):
    method, url, data = ADMIN_ROWS[label].request(world, caller_user(world, caller))
    client = browser(world, caller)
    if method == "GET":
        return client.get(url)
    return client.post(url, data)


# --- The tests --------------------------------------------------------------------------


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/admin/login/")


def _describe(response) -> str:
    body = response.content.decode(errors="replace")
    if response.status_code == 200 and "errornote" in body:
        errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', body, re.S)
        return f"200 with form errors: {errors[:3]}"
    location = response.get("Location", "")
    return f"{response.status_code} {location} {body[:300]}"


CELLS = [
    pytest.param(label, caller, cell, id=f"{label} | {caller}")
    for label, row in MATRIX.items()
    for caller, cell in row.items()
]


@pytest.mark.django_db
@pytest.mark.parametrize(("label", "caller", "cell"), CELLS)
def test_role_matrix_cell(world, label, caller, cell):
    is_admin = label.startswith("admin: ")
    assert is_admin or API_ROW.match(label), f"row {label!r} is neither an API nor an admin row"
    effect = None
    if is_admin:
        assert label in ADMIN_ROWS, f"no request is defined for the README row {label!r}"
        effect = ADMIN_ROWS[label].effect
        before = effect(world) if effect else None
        response = admin_request(world, caller, label)
    else:
        response = api_request(world, caller, label)

    if cell == ALLOWED:
        if is_admin and response.request["REQUEST_METHOD"] == "POST":
            # Saved (or deleted), then sent on; a page shown again did not save.
            assert response.status_code == 302, _describe(response)
            assert not _is_login_redirect(response), _describe(response)
            if effect:
                assert effect(world) != before, f"{label}: answered 302 but changed nothing"
        else:
            assert 200 <= response.status_code < 300, _describe(response)
    else:
        assert cell.isdigit(), f"cell {cell!r} of {label!r} is neither {ALLOWED} nor a status"
        assert response.status_code == int(cell), _describe(response)
        if cell == "302":
            assert _is_login_redirect(response), _describe(response)
        if effect:
            assert effect(world) == before, f"{label}: refused, yet something changed"


def test_every_admin_row_of_the_code_is_in_the_readme():
    missing = sorted(set(ADMIN_ROWS) - set(MATRIX))
    assert not missing, f"rows defined here but missing from README.md: {missing}"


@pytest.mark.django_db
def test_every_api_operation_is_a_row(settings):
    settings.DEMO_FEATURES = True
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        f"{method.upper()} {path.rstrip('/')}"
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    missing = sorted(operations - set(MATRIX))
    assert not missing, f"API operations without a row in README.md's role matrix: {missing}"
    stale = sorted(
        label
        for label in MATRIX
        if API_ROW.match(label) and " /api/v1/" in label and label not in operations
    )
    assert not stale, f"README rows for API operations that do not exist: {stale}"


def test_every_admin_page_is_a_row():
    covered = {row.model for row in ADMIN_ROWS.values()}
    schedules = {m for m in admin.site._registry if m._meta.app_label == "django_celery_beat"} - {
        PeriodicTask
    }
    missing = sorted(
        m._meta.label for m in admin.site._registry if m not in covered and m not in schedules
    )
    assert not missing, f"admin pages without a row in README.md's role matrix: {missing}"
