"""The tenant matrix's machinery (used by test_tenant_matrix.py).

Organization A is the victim: a row in every model of our apps, its texts marked with
MARK. Organization B is the attacker: an admin, a manager and an agent logged in by
session, an agent key and a manager key, and anonymous. Every URL pattern of the URL
conf (walked with get_resolver, so a new route is never missed) is turned into requests
on A's objects by every principal with GET and the writing methods, and each answer is
checked: an URL naming A's object answers 401/403/404/405 or redirects to the login page
or the admin index; no answer contains A's marker or ids; and a re-read of every A row
(and of the role groups) proves that nothing changed.

Mapping a pattern to A's objects is explicit (the tables below): a pattern whose
parameters cannot be filled, or that no table classifies, is reported as unmapped, so
that a new route fails the coverage test until it is added here.
"""

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import Q
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils import timezone
from simple_history.models import HistoricalChanges

MARK = "ALPHA-7f3e"  # in every text of organization A's rows
OTHER_MARK = "Bravo-2c1d"  # organization B's texts (must not contain MARK)
APPS = [
    "agents",
    "tickets",
    "sla",
    "rules",
    "intelligence",
    "routing",
    "analytics",
    "integrations",
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
PRINCIPALS = ["b_admin", "b_manager", "b_agent", "b_key_agent", "b_key_manager", "anonymous"]

# An URL that names one of A's objects: anything else than these is a violation.
REFUSED = {401, 403, 404, 405}


# --- URL patterns ---------------------------------------------------------------------


def _join_route(route1: str, route2: str) -> str:
    """As django.urls.resolvers.URLResolver._join_route: ResolverMatch.route's spelling."""
    if not route1:
        return route2
    return route1 + route2.removeprefix("^")


def _route_template(pattern) -> tuple[str, list[str]]:
    """'tickets/(?P<pk>[^/]+)/?$' -> ('tickets/{pk}', ['pk']); '<path:object_id>/' ->
    ('{object_id}/', ['object_id']). An optional trailing slash is left out (the API
    answers without it). Raises ValueError on a regex this cannot turn into an URL."""
    text = str(pattern)
    if isinstance(pattern, RoutePattern):
        params = re.findall(r"<(?:\w+:)?(\w+)>", text)
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text), params
    s = text.removeprefix("^")
    s = s.removesuffix("$").removesuffix(r"\Z")
    out: list[str] = []
    params: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "(":
            depth, j = 1, i + 1
            while depth:
                if j >= len(s):
                    raise ValueError(f"unbalanced group in {text!r}")
                if s[j] == "\\":
                    j += 2
                    continue
                depth += {"(": 1, ")": -1}.get(s[j], 0)
                j += 1
            group = s[i:j]
            named = re.match(r"\(\?P<(\w+)>", group)
            if named:
                name = named.group(1)
            elif group.startswith("(?"):
                raise ValueError(f"cannot fill group {group!r} of {text!r}")
            else:
                name = f"_{sum(1 for p in params if p.startswith('_'))}"
            out.append("{" + name + "}")
            params.append(name)
            i = j
        elif s.startswith("/?", i) and i + 2 == len(s):
            i += 2  # optional trailing slash: the URL without it
        elif c == "\\":
            out.append(s[i + 1])
            i += 2
        elif c in ".*+?[]{}|$^":
            raise ValueError(f"cannot build an URL for {text!r} (at {s[i:]!r})")
        else:
            out.append(c)
            i += 1
    return "".join(out), params


@dataclass
class Route:
    key: str  # the pattern as ResolverMatch.route spells it: the test id
    name: str  # namespaced URL name ("" if unnamed)
    callback: Callable
    template: str = ""  # "/api/v1/tickets/{pk}"
    params: list[str] = field(default_factory=list)
    error: str = ""  # why no URL can be built

    @property
    def url_name(self) -> str:
        return self.name.rsplit(":", 1)[-1]


def routes() -> list[Route]:
    """Every URL pattern of the URL conf, includes walked."""
    found: list[Route] = []

    def walk(resolver, key: str, pieces: list, namespaces: list[str]) -> None:
        for p in resolver.url_patterns:
            pattern_key = _join_route(key, str(p.pattern))
            if isinstance(p, URLResolver):
                ns = [*namespaces, p.namespace] if p.namespace else namespaces
                walk(p, pattern_key, [*pieces, p.pattern], ns)
            elif isinstance(p, URLPattern):
                route = Route(
                    key=pattern_key,
                    name=":".join([*namespaces, p.name]) if p.name else "",
                    callback=p.callback,
                )
                try:
                    parts = [_route_template(x) for x in [*pieces, p.pattern]]
                    route.template = "/" + "".join(t for t, _ in parts)
                    route.params = [name for _, names in parts for name in names]
                except ValueError as exc:
                    route.error = str(exc)
                found.append(route)

    walk(get_resolver(), "", [], [])
    return found


def section_of(route: Route) -> str:
    """The test a route belongs to: one per API version, per admin app, and the rest."""
    if route.key.startswith("api/v1/"):
        return "api-v1"
    if route.key.startswith("api/"):
        return "api-unversioned"
    match = re.match(r"admin/(\w+)/(\w+)/", route.key)
    if match and _admin_model(match.group(1), match.group(2)) is not None:
        label = match.group(1)
        return f"admin-{label}" if label in APPS else "admin-platform"
    if route.key.startswith("admin/"):
        return "admin-site"
    return "public"


def _admin_model(app_label: str, model_name: str):
    for model in admin.site._registry:
        if (model._meta.app_label, model._meta.model_name) == (app_label, model_name):
            return model
    return None


# --- Organization A's world -----------------------------------------------------------


def _fk_paths(model, depth: int = 3, seen: tuple = ()) -> list[str]:
    """Lookups from `model` to agents.Organization through forward FKs and one-to-ones."""
    organization = apps.get_model("agents", "Organization")
    paths = []
    for f in model._meta.get_fields():
        if not (f.concrete and (f.many_to_one or f.one_to_one)) or f.related_model is None:
            continue
        if f.related_model is organization:
            paths.append(f.name)
        elif depth > 1 and f.related_model not in seen:
            paths += [
                f"{f.name}__{p}" for p in _fk_paths(f.related_model, depth - 1, (*seen, model))
            ]
    return paths


def tenant_models() -> list[type[models.Model]]:
    """Every model of our apps, with m2m tables and history tables."""
    return [
        m
        for label in APPS
        for m in apps.get_app_config(label).get_models(include_auto_created=True)
    ]


def organization_q(model, organization_id) -> Q:
    """Rows of `model` that belong to, or point at anything of, the organization."""
    if model is apps.get_model("agents", "Organization"):
        return Q(pk=organization_id)
    paths = _fk_paths(model)
    if not paths:
        raise LookupError(f"{model._meta.label} has no path to an organization")
    q = Q()
    for path in paths:
        q |= Q(**{f"{path}_id" if "__" not in path else f"{path}__pk": organization_id})
    return q


def _label(model) -> str:
    return model._meta.label


def snapshot(organization_id) -> dict[str, dict]:
    """Every row of the organization in every model (and the role groups with their
    permissions, which all tenants share), keyed by model and pk."""
    snap = {}
    for model in tenant_models():
        manager = model._base_manager
        rows = manager.filter(
            pk__in=manager.filter(organization_q(model, organization_id)).values("pk")
        )
        snap[_label(model)] = {row["pk"]: row for row in _rows(rows)}
    snap["auth.Group"] = {g["id"]: g for g in Group.objects.values("id", "name")}
    through = Group.permissions.through
    snap["auth.Group_permissions"] = {
        (r["group_id"], r["permission_id"]): r for r in through.objects.values()
    }
    return snap


class Rereader:
    """The same re-read as snapshot(), compiled once and run as plain SQL: cheap enough
    to run after every route. Its rows are raw database values, compared for equality
    only; snapshot() then says what changed."""

    def __init__(self, organization_id):
        querysets = []
        for model in tenant_models():
            manager = model._base_manager
            pks = manager.filter(organization_q(model, organization_id)).values("pk")
            querysets.append(manager.filter(pk__in=pks).order_by("pk").values_list())
        querysets.append(Group.objects.order_by("pk").values_list())
        querysets.append(Group.permissions.through.objects.order_by("pk").values_list())
        self.queries = [qs.query.sql_with_params() for qs in querysets]

    def __call__(self) -> list:
        with connection.cursor() as cursor:
            rows = []
            for sql, params in self.queries:
                cursor.execute(sql, params)
                rows.append(cursor.fetchall())
        return rows


def _rows(queryset) -> Iterator[dict]:
    pk_name = queryset.model._meta.pk.attname
    for row in queryset.order_by("pk").values():
        yield {"pk": row[pk_name], **row}


def snapshot_diff(before: dict, after: dict, labels: dict[str, str]) -> list[str]:
    """What changed, one line per model: rows added, removed, fields changed."""
    lines = []
    for label in sorted(set(before) | set(after)):
        old, new = before.get(label, {}), after.get(label, {})
        added = [k for k in new if k not in old]
        removed = [k for k in old if k not in new]
        changed = []
        for k in old.keys() & new.keys():
            fields = [f for f in old[k] if old[k][f] != new[k].get(f)]
            if fields:
                shown = ", ".join(
                    f"{f} {_short(old[k][f])} -> {_short(new[k][f])}" for f in fields[:3]
                )
                more = f" (+{', '.join(fields[3:])})" if fields[3:] else ""
                changed.append(f"{labels.get(str(k), k)}: {shown}{more}")
        parts = []
        if added:
            parts.append(f"{len(added)} row(s) added")
        if removed:
            parts.append("removed " + ", ".join(str(labels.get(str(k), k)) for k in removed))
        if changed:
            parts.append("; ".join(changed[:3]) + (" …" if len(changed) > 3 else ""))
        if parts:
            lines.append(f"{label}: " + " | ".join(parts))
    return lines


def _short(value) -> str:
    text = value.isoformat() if isinstance(value, datetime) else repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


@dataclass
class World:
    org_a: models.Model
    org_b: models.Model
    superuser: models.Model
    primary: dict = field(default_factory=dict)  # model -> A's object used in URLs
    history_ids: dict = field(default_factory=dict)  # model -> a history_id of primary
    labels: dict = field(default_factory=dict)  # str(id) -> "A:Ticket", for reports
    secrets: list = field(default_factory=list)  # A's strings besides MARK and ids
    platform: dict = field(default_factory=dict)  # non-tenant model -> a row
    principals: dict = field(default_factory=dict)  # name -> (client, headers)
    session_cookies: dict = field(default_factory=dict)
    leak_strings: list = field(default_factory=list)
    baseline: dict = field(default_factory=dict)
    reread: Callable | None = None
    reread_baseline: list = field(default_factory=list)

    def changes(self) -> list[str]:
        """What changed in A since the baseline (nothing: [])."""
        if self.reread() == self.reread_baseline:
            return []
        return snapshot_diff(self.baseline, snapshot(self.org_a.pk), self.labels) or [
            "rows changed (values equal once loaded)"
        ]


def _dispatch_events() -> None:
    """Run the handlers of every pending event now (what the Celery worker does), so that
    SLA clocks and the rows handlers write exist."""
    from tickets.events import event_dispatch
    from tickets.models import TicketEvent

    for _ in range(3):  # handlers may record events of their own
        pending = TicketEvent.objects.filter(handled_at__isnull=True).order_by("id")
        for event_id in pending.values_list("id", flat=True):
            event_dispatch(event_id=event_id)


def world_build() -> World:
    """Organizations A and B, a row of A in every model, B's principals logged in."""
    from agents import roles
    from agents.models import Agent, AgentToken, ApiKey, Organization, Skill, Team
    from agents.services import agent_role_sync, agent_token_create, api_key_create
    from agents.tests.factories import AgentFactory
    from analytics.models import RollupState
    from analytics.rollup import rollup_build
    from intelligence.models import (
        CustomerIntelligence,
        QuimbiAccount,
        TicketDraft,
        TicketRecommendation,
    )
    from routing.models import TeamRouting
    from rules.models import AutomationRule, Macro, RuleRun, ScoringConfig
    from rules.services import rule_create
    from sla.models import SLAClock, SLAEvent, SLANotification
    from sla.policies import calendar_save, policy_save
    from tickets.models import Assignment, Message, Satisfaction, Tag
    from tickets.services import (
        customer_get_or_create,
        message_add,
        note_add,
        ticket_assign,
        ticket_create,
        ticket_transition,
    )

    mark = MARK.lower()
    org_a = Organization.objects.create(name=f"{MARK} Corp", slug=mark)
    org_b = Organization.objects.create(name=f"{OTHER_MARK} Inc", slug=OTHER_MARK.lower())
    superuser = AgentFactory(
        organization=None, is_superuser=True, role=roles.ADMIN, email="root@platform.test"
    )
    world = World(org_a=org_a, org_b=org_b, superuser=superuser)

    # --- A: people, credentials, teams --------------------------------------------------
    a_people = {
        role: AgentFactory(
            organization=org_a, role=role, name=f"{MARK} {role}", email=f"{role}@{mark}.test"
        )
        for role in (roles.ADMIN, roles.MANAGER, roles.AGENT)
    }
    a_agent = a_people[roles.AGENT]
    team = Team.objects.create(organization=org_a, name=f"{MARK} team", description=MARK)
    skill = Skill.objects.create(organization=org_a, name=f"{MARK} skill")
    a_agent.teams.add(team)
    a_agent.skills.add(skill)
    a_agent.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    a_agent.name = f"{MARK} agent (renamed)"  # a second history row
    a_agent.save()
    agent_role_sync(agent=a_agent)
    api_key, raw_key = api_key_create(organization=org_a, name=f"{MARK} key", actor=None)
    token, raw_token = agent_token_create(agent=a_agent, name=f"{MARK} token")
    world.secrets += [raw_key, raw_token, api_key.key_hash, token.key_hash]

    # --- A: SLA configuration, rules, weights -------------------------------------------
    calendar = calendar_save(
        organization=org_a,
        data={
            "name": f"{MARK} calendar",
            "timezone": "Europe/Paris",
            "hours": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
            "holidays": [{"date": "2030-12-25", "name": f"{MARK} holiday"}],
        },
        actor=a_people[roles.MANAGER],
    )
    policy = policy_save(
        organization=org_a,
        data={
            "name": f"{MARK} policy",
            "position": 1,
            "first_response_minutes": 60,
            "next_response_minutes": 120,
            "resolution_minutes": 600,
            "calendar": calendar.pk,
        },
        actor=a_people[roles.MANAGER],
    )
    rule = rule_create(
        organization=org_a,
        actor=a_people[roles.MANAGER],
        name=f"{MARK} rule",
        type="custom",
        keywords=[mark],
        boost_amount=3,
    )
    scoring = ScoringConfig.objects.create(organization=org_a, intelligence_cap=4.0)

    # --- A: customers, tickets, conversation ---------------------------------------------
    customer = customer_get_or_create(
        organization=org_a,
        external_id=f"{mark}-customer",
        name=f"{MARK} Buyer",
        email=f"buyer@{mark}.test",
    )
    tag = Tag.objects.create(organization=org_a, name=f"{mark}-tag")
    ticket = ticket_create(
        organization=org_a,
        customer=customer,
        subject=f"{MARK} order never arrived",
        initial_message=f"{MARK}: where is my parcel?",
        tags=[tag.name],
        team=team,
        actor=a_agent,
    )
    _dispatch_events()
    ticket_assign(ticket=ticket, assignee=a_agent, team=team, actor=a_people[roles.MANAGER])
    message_add(
        ticket=ticket,
        content=f"{MARK}: it ships tomorrow",
        from_agent=True,
        author_agent=a_agent,
        actor=a_agent,
    )
    note_add(ticket=ticket, content=f"{MARK}: internal note", author_agent=a_agent, actor=a_agent)
    _dispatch_events()
    ticket.refresh_from_db()
    clock = SLAClock.objects.filter(ticket=ticket).first() or SLAClock.objects.create(
        organization=org_a,
        ticket=ticket,
        policy=policy,
        metric="resolution",
        target_seconds=36000,
        started_at=timezone.now(),
    )
    SLAEvent.objects.get_or_create(
        organization=org_a, ticket=ticket, clock=clock, kind="at_risk", defaults={"payload": {}}
    )
    SLANotification.objects.create(
        organization=org_a,
        ticket=ticket,
        clock=clock,
        recipient=a_people[roles.MANAGER],
        team=team,
        kind="at_risk",
        message=f"{MARK} is at risk",
    )
    intelligence = CustomerIntelligence.objects.create(
        customer=customer,
        organization=org_a,
        archetype={"name": f"{MARK} archetype"},
        churn_score=0.9,
        churn_level="critical",
        lifetime_value=12345.0,
        fetched_at=timezone.now(),
    )
    draft = TicketDraft.objects.create(
        ticket=ticket,
        content=f"{MARK} draft",
        tone="professional",
        source="fallback",
        conversation_version=ticket.message_count,
    )
    recommendation = TicketRecommendation.objects.create(
        ticket=ticket,
        data={
            "priority": "high",
            "actions": [{"action": f"{MARK} refund", "completed": False}],
            "talking_points": [MARK],
            "warnings": [],
            "estimated_impact": {},
        },
        conversation_version=ticket.message_count,
    )
    routing = TeamRouting.objects.create(
        team=team,
        organization=org_a,
        strategy="least_loaded",
        calendar=calendar,
        on_agent_away="redistribute",
        is_default=True,
    )
    # A rating is given on a resolved ticket (the API refuses an open one).
    rated = ticket_create(
        organization=org_a,
        customer=customer,
        subject=f"{MARK} refund received",
        initial_message=f"{MARK}: thanks for the refund",
        actor=None,
    )
    ticket_transition(ticket=rated, to_status="resolved", actor=None)
    satisfaction = Satisfaction.objects.create(
        organization=org_a, ticket=rated, rating=4, comment=f"{MARK} thanks"
    )
    # An automation that ran on the ticket, and a macro.
    automation = AutomationRule.objects.create(
        organization=org_a,
        name=f"{MARK} automation",
        trigger="ticket.created",
        conditions={"all": [{"field": "subject", "operator": "contains", "value": MARK}]},
        actions=[{"type": "add_note", "value": f"{MARK} note"}],
    )
    rule_run = RuleRun.objects.create(
        organization=org_a,
        rule=automation,
        ticket=ticket,
        trigger="ticket.created",
        outcome="applied",
        actions=[{"type": "add_note", "value": f"{MARK} note", "result": "applied"}],
    )
    macro = Macro.objects.create(organization=org_a, name=f"{MARK} macro", body=f"{MARK} hi")
    # The reports' roll-up of today (rolled_through stays unset: reports go live).
    today = timezone.now().date()
    RollupState.objects.create(organization=org_a)
    rollup_build(organization_id=org_a.pk, first_day=today, last_day=today, tz=ZoneInfo("UTC"))
    # No base_url: Quimbi stays unconfigured, so no request ever leaves the process.
    account = QuimbiAccount.objects.create(organization=org_a, api_key=f"{mark}-quimbi-key")
    world.secrets.append(account.api_key)
    # Outbound webhooks: an endpoint (its secret must never be shown) and a delivery.
    from integrations.models import WebhookDelivery
    from integrations.services import webhook_endpoint_create

    webhook = webhook_endpoint_create(
        organization=org_a,
        data={
            "url": f"https://93.184.215.14/{mark}-hooks",
            "events": ["ticket.created"],
            "description": f"{MARK} CRM sync",
        },
        actor=a_people[roles.MANAGER],
    )
    world.secrets.append(webhook.secret)
    WebhookDelivery.objects.create(
        organization=org_a,
        endpoint=webhook,
        event_type="ticket.created",
        source_event_id=ticket.events.order_by("id").first().pk,
        message_id=f"evt_{mark}",
        body=f'{{"type":"ticket.created","data":{{"subject":"{MARK}"}}}}',
        status="failed",
        last_error=f"{MARK}: HTTP 500",
    )
    # Zendesk: an account (its secrets never shown), a sync run, a webhook received and a
    # push-back.
    from integrations.models import InboundEvent, ProviderPush, SyncRun
    from integrations.providers.accounts import account_create

    provider_account = account_create(
        organization=org_a,
        data={
            "provider": "zendesk",
            "name": f"{MARK} Zendesk",
            "subdomain": f"{mark}-desk",
            "email": "ops@a.test",
            "api_token": f"{mark}-zendesk-token",
            "webhook_secret": f"{mark}-zendesk-hook",
        },
        actor=a_people[roles.MANAGER],
    )
    world.secrets += [f"{mark}-zendesk-token", f"{mark}-zendesk-hook"]
    SyncRun.objects.create(
        organization=org_a, account=provider_account, status="ok", errors=[f"{MARK} note"]
    )
    InboundEvent.objects.create(
        organization=org_a,
        account=provider_account,
        dedupe_key=f"{mark}-hook-1",
        external_ticket_id="1",
        payload={"ticket": {"id": "1", "subject": MARK}},
    )
    ProviderPush.objects.create(
        organization=org_a,
        account=provider_account,
        ticket=ticket,
        event_id=ticket.events.order_by("id").first().pk,
        kind="status",
        payload={"status": "closed"},
        status="failed",
        last_error=f"{MARK}: HTTP 500",
    )
    # Channels: an email channel (its inbound secret never shown) and a receipt.
    from integrations.channels.accounts import channel_create
    from integrations.models import ChannelReceipt

    channel, channel_secret = channel_create(
        organization=org_a,
        data={"kind": "email", "name": f"{MARK} support", "address": "support@a.test"},
        actor=a_people[roles.MANAGER],
    )
    world.secrets.append(channel_secret)
    ChannelReceipt.objects.create(
        organization=org_a, channel=channel, key=f"<{mark}@a.test>", ticket=ticket, note=MARK
    )

    message = Message.objects.filter(ticket=ticket, is_internal=False).first()
    world.primary = {
        Organization: org_a,
        Agent: a_agent,
        Team: team,
        Skill: skill,
        ApiKey: api_key,
        AgentToken: token,
    }
    for obj in (
        customer,
        tag,
        ticket,
        message,
        Assignment.objects.filter(ticket=ticket).first(),
        ticket.events.order_by("id").first(),
        calendar,
        calendar.hours.first(),
        calendar.holidays.first(),
        policy,
        clock,
        SLAEvent.objects.filter(clock=clock).first(),
        SLANotification.objects.filter(ticket=ticket).first(),
        rule,
        scoring,
        intelligence,
        draft,
        recommendation,
        account,
        routing,
        satisfaction,
        automation,
        rule_run,
        macro,
    ):
        world.primary[type(obj)] = obj
    for model in tenant_models():  # any other model: its first row of A
        if not model._meta.auto_created and not issubclass(model, HistoricalChanges):
            rows = model._base_manager.filter(organization_q(model, org_a.pk)).order_by("pk")
            if model not in world.primary and rows.exists():
                world.primary[model] = rows.first()
    for model, obj in world.primary.items():
        if hasattr(obj, "history"):
            world.history_ids[model] = obj.history.order_by("-history_id").first().history_id
    for model in tenant_models():
        for pk in model._base_manager.filter(organization_q(model, org_a.pk)).values_list(
            "pk", flat=True
        ):
            if isinstance(pk, uuid.UUID):
                world.labels[str(pk)] = f"A:{model.__name__}"

    # --- platform rows (not a tenant's) --------------------------------------------------
    world.platform = _platform_rows()

    # --- B: data and principals ----------------------------------------------------------
    b_customer = customer_get_or_create(
        organization=org_b, external_id="b-customer-1", name=f"{OTHER_MARK} Buyer"
    )
    ticket_create(
        organization=org_b, customer=b_customer, subject=f"{OTHER_MARK} question", actor=None
    )
    Team.objects.create(organization=org_b, name=f"{OTHER_MARK} team")
    b_people = {
        f"b_{role}": AgentFactory(
            organization=org_b, role=role, name=f"{OTHER_MARK} {role}", email=f"{role}@b.test"
        )
        for role in (roles.ADMIN, roles.MANAGER, roles.AGENT)
    }
    for name, user in b_people.items():
        client = Client()
        client.force_login(user)
        world.principals[name] = (client, {})
        world.session_cookies[name] = client.cookies[settings.SESSION_COOKIE_NAME].value
    for role in (roles.AGENT, roles.MANAGER):
        _, raw = api_key_create(
            organization=org_b, name=f"{OTHER_MARK} {role} key", role=role, actor=None
        )
        world.principals[f"b_key_{role}"] = (Client(), {"HTTP_X_API_KEY": raw})
    world.principals["anonymous"] = (Client(), {})

    # --- what must never be shown to B ---------------------------------------------------
    world.leak_strings = sorted(
        {mark, *(s.lower() for s in world.secrets), *world.labels}
        | {pk.replace("-", "") for pk in world.labels}
    )
    world.baseline = snapshot(org_a.pk)
    world.reread = Rereader(org_a.pk)
    world.reread_baseline = world.reread()
    return world


def _platform_rows() -> dict:
    """One row of each non-tenant model registered in the admin (role groups, Celery
    beat schedules), for the admin's object URLs of those models."""
    rows = {}
    for model in admin.site._registry:
        if model._meta.app_label in APPS:
            continue
        row = model._default_manager.order_by("pk").first()
        if row is None:
            row = _platform_row_create(model)
        rows[model] = row
    return rows


def _platform_row_create(model):
    from django_celery_beat import models as beat

    if model is beat.IntervalSchedule:
        return beat.IntervalSchedule.objects.create(every=10, period="minutes")
    if model is beat.CrontabSchedule:
        return beat.CrontabSchedule.objects.create(minute="5")
    if model is beat.SolarSchedule:
        return beat.SolarSchedule.objects.create(event="sunrise", latitude=48.8, longitude=2.3)
    if model is beat.ClockedSchedule:
        return beat.ClockedSchedule.objects.create(clocked_time=timezone.now())
    if model is beat.PeriodicTask:
        interval = beat.IntervalSchedule.objects.create(every=1, period="hours")
        return beat.PeriodicTask.objects.create(
            name="platform task", task="sla.scan", interval=interval
        )
    if model is Group:
        return Group.objects.create(name="platform group")
    raise LookupError(f"no platform row for {model._meta.label}: add one to _platform_row_create")


# --- Admin request bodies -------------------------------------------------------------


def _admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _form_data(form) -> dict:
    """What a browser would post for this form as rendered."""
    data = {}
    for bound in form:
        value = bound.value()
        widget = bound.field.widget
        name = bound.html_name
        if bound.field.disabled:
            continue
        if isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for suffix, part in zip(widget.widgets_names, parts, strict=False):
                data[f"{name}{suffix}"] = _plain(part)
        elif isinstance(widget, forms.CheckboxInput):
            if widget.check_test(value):
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [_plain(v) for v in value]
        else:
            data[name] = _plain(value)
    return data


# The attacker's edits: every one visible in a re-read of A's rows.
ATTACK_VALUES = {
    "subject": "pwned",
    "name": "pwned",
    "description": "pwned",
    "status": "closed",
    "priority": "low",
    "tier": "vip",
    "reply": "pwned reply",
    "initial_message": "pwned",
    "email": "pwned@attacker.test",
    "external_id": "pwned-ext",
    "api_key": "pwned-key",
    "password1": "Pwned-pass-1234567",
    "password2": "Pwned-pass-1234567",
    "usable_password": "true",
    "intelligence_cap": "1.5",
    "boost_amount": "99",
    "keywords": '["pwned"]',
    "first_response_minutes": "1",
}
ATTACK_UNCHECK = {"active", "is_active"}


def admin_form_body(world: World, model, obj, *, add: bool) -> dict:
    """The change (or add) form of `obj` as the platform operator would post it, with the
    attacker's edits: valid, so that a view that fails to refuse it really changes A."""
    model_admin = admin.site._registry[model]
    request = _admin_request(world.superuser)
    form_class = model_admin.get_form(request, None if add else obj, change=not add)
    form = form_class(instance=obj) if not add else form_class(initial=_initial(obj, form_class))
    data = _form_data(form)
    for name, form_field in form.fields.items():
        if (
            isinstance(form_field, forms.ModelChoiceField)
            and not form_field.required
            and name != "organization"  # the operator's form: keep the tenant
        ):
            # "Stripped of assignee, team and tags": A's related rows are no valid choice
            # in B's scoped forms, an empty one is.
            if isinstance(form_field, forms.ModelMultipleChoiceField):
                data.pop(name, None)
            else:
                data[name] = ""
        if name in ATTACK_VALUES:
            data[name] = ATTACK_VALUES[name]
        if name in ATTACK_UNCHECK:
            data.pop(name, None)
    if not add:
        prefixes: dict[str, int] = {}
        for formset_class, inline in model_admin.get_formsets_with_inlines(request, obj):
            prefix = formset_class.get_default_prefix()
            prefixes[prefix] = prefixes.get(prefix, 0) + 1
            if prefixes[prefix] != 1 or not prefix:
                prefix = f"{prefix}-{prefixes[prefix]}"
            formset = formset_class(**model_admin.get_formset_kwargs(request, obj, inline, prefix))
            data.update(_form_data(formset.management_form))
            for inline_form in formset.forms:
                data.update(_form_data(inline_form))
    data["_save"] = "Save"
    return data


def _initial(obj, form_class) -> dict:
    initial = forms.models.model_to_dict(obj)
    return {k: v for k, v in initial.items() if k in form_class.base_fields}


def changelist_bodies(world: World, model, ids: list[str]) -> list[tuple[str, dict]]:
    """Each admin action on A's rows (the classic: delete_selected), and the changelist's
    inline editing of A's rows."""
    model_admin = admin.site._registry[model]
    request = _admin_request(world.superuser)
    bodies = []
    for action in model_admin.get_actions(request):
        bodies.append(
            (
                f"POST action={action}",
                {"action": action, "_selected_action": ids, "index": "0", "post": "yes"},
            )
        )
    editable = model_admin.list_editable
    if editable:
        body = {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000",
            "form-0-id": ids[0],
            "_save": "Save",
        }
        for name in editable:
            body[f"form-0-{name}"] = ATTACK_VALUES.get(name, "999")
        bodies.append(("POST list_editable", body))
    return bodies


# --- Requests per route ---------------------------------------------------------------

OBJECT = "object"  # the URL names A's object: must be refused
COLLECTION = "collection"  # no A object in the URL: may answer, must not show or change A
PUBLIC = "public"  # public on purpose: must not show or change A


@dataclass
class Target:
    """One concrete URL of a route, with how its answers are judged."""

    path: str
    kind: str
    query: str = ""
    bodies: dict = field(default_factory=dict)  # method label -> (method, body, is_json)
    redirect_to: str = ""  # OBJECT: a redirect there is allowed (it checks nothing itself)


# Patterns that are public on purpose (probes, schema, docs, the root redirect).
PUBLIC_ROUTES = {"^health/?$", "^health/ready/?$", "^api/schema/?$", "^api/docs/?$", ""}


def _ticket(w):
    return str(w.primary[_m("tickets", "Ticket")].pk)


def _m(app_label, name):
    return apps.get_model(app_label, name)


def _pk(app_label, name):
    return lambda w: str(w.primary[_m(app_label, name)].pk)


def _customer_external_id(w):
    return w.primary[_m("tickets", "Customer")].external_id


def _rated_ticket(w):
    return str(w.primary[_m("tickets", "Satisfaction")].ticket_id)


TICKET = {"pk": _ticket}
# API URL name -> {path parameter: A's value}. A route with a parameter missing here is
# unmapped: add it (and its body below) when adding a route.
API_PARAMS: dict[str, dict[str, Callable]] = {
    "rule-detail": {"pk": _pk("rules", "Rule")},
    "automation-detail": {"pk": _pk("rules", "AutomationRule")},
    "macro-detail": {"pk": _pk("rules", "Macro")},
    "ticket-apply-macro": {"ticket_id": _ticket},
    "automation-runs": {"pk": _pk("rules", "AutomationRule")},
    "automation-dry-run": {"pk": _pk("rules", "AutomationRule")},
    "sla-calendar-detail": {"pk": _pk("sla", "BusinessCalendar")},
    "sla-calendar-due": {"pk": _pk("sla", "BusinessCalendar")},
    "sla-policy-detail": {"pk": _pk("sla", "SLAPolicy")},
    "team-detail": {"pk": _pk("agents", "Team")},
    "skill-detail": {"pk": _pk("agents", "Skill")},
    "agent-detail": {"pk": _pk("agents", "Agent")},
    "ticket-detail": TICKET,
    "ticket-events": TICKET,
    "ticket-messages": TICKET,
    "ticket-notes": TICKET,
    "ticket-reset": TICKET,
    "ticket-reset-conversation": TICKET,
    "ticket-score-breakdown": TICKET,
    # The rated (resolved) ticket: A's own POST there is accepted.
    "ticket-satisfaction": {"pk": _rated_ticket},
    "ticket-assign": {"ticket_id": _ticket},
    "ticket-transfer": {"ticket_id": _ticket},
    "ticket-route": {"ticket_id": _ticket},
    "ticket-assignments": {"ticket_id": _ticket},
    "customer-detail": {"customer_id": _customer_external_id},
    "customer-intelligence": {"customer_id": _customer_external_id},
    "mcp-customer": {"customer_id": _customer_external_id},
    "mcp-customer-churn": {"customer_id": _customer_external_id},
    "ai-draft": {"ticket_id": _ticket},
    "ai-draft-regenerate": {"ticket_id": _ticket},
    "ai-recommendation": {"ticket_id": _ticket},
    "ai-recommendation-action": {"ticket_id": _ticket, "index": lambda w: "0"},
    "ticket-draft": {"ticket_id": _ticket},
    "ticket-recommendations": {"ticket_id": _ticket},
    "webhook-detail": {"pk": _pk("integrations", "WebhookEndpoint")},
    "webhook-test": {"pk": _pk("integrations", "WebhookEndpoint")},
    "webhook-deliveries": {"pk": _pk("integrations", "WebhookEndpoint")},
    "webhook-replay": {
        "pk": _pk("integrations", "WebhookEndpoint"),
        "delivery_id": _pk("integrations", "WebhookDelivery"),
    },
    "integration-account-detail": {"pk": _pk("integrations", "IntegrationAccount")},
    "integration-account-sync": {"pk": _pk("integrations", "IntegrationAccount")},
    "integration-account-runs": {"pk": _pk("integrations", "IntegrationAccount")},
    "zendesk-webhook": {"account_id": _pk("integrations", "IntegrationAccount")},
    "gorgias-webhook": {"account_id": _pk("integrations", "IntegrationAccount")},
    "channel-detail": {"pk": _pk("integrations", "ChannelAccount")},
    "channel-rotate-secret": {"pk": _pk("integrations", "ChannelAccount")},
    "email-inbound": {"channel_id": _pk("integrations", "ChannelAccount")},
    "sms-twilio-inbound": {"channel_id": _pk("integrations", "ChannelAccount")},
    "chat-inbound": {"channel_id": _pk("integrations", "ChannelAccount")},
}
# Query strings for GET (parameters a view needs to get past validation).
API_QUERIES: dict[str, Callable] = {
    "sla-calendar-due": lambda w: "start=2030-01-07T10:00:00Z&minutes=60",
    "ticket-list": lambda w: f"q=alpha&customer_id={_customer_external_id(w)}",
    "customer-list": lambda w: "q=alpha",
    "rule-list": lambda w: "active=true",
}
# Writing bodies the endpoint accepts (so a refusal is a refusal, not a 400).
API_BODIES: dict[str, Callable] = {
    "auth-token": lambda w: {"email": "nobody@attacker.test", "password": "wrong-password"},
    "agent-me": lambda w: {"availability": "away"},
    "tickets-prioritize": lambda w: {"ticket_ids": [_ticket(w)]},
    "rule-list": lambda w: {"name": "pwned", "type": "custom", "keywords": ["pwned"]},
    "rule-detail": lambda w: {"name": "pwned", "active": False, "boost_amount": 99},
    "sla-calendar-list": lambda w: {"name": "pwned", "always_open": True},
    "sla-calendar-detail": lambda w: {"name": "pwned", "always_open": True},
    "sla-policy-list": lambda w: {"name": "pwned", "first_response_minutes": 1},
    "sla-policy-detail": lambda w: {"name": "pwned", "first_response_minutes": 1},
    "ticket-list": lambda w: {
        "customer_id": _customer_external_id(w),
        "subject": "pwned",
        "channel": "email",
        "initial_message": "pwned",
        "author_name": "pwned",
    },
    "ticket-detail": lambda w: {"subject": "pwned", "status": "closed", "priority": "low"},
    "ticket-messages": lambda w: {
        "content": "pwned",
        "from_agent": True,
        "send_to_customer": True,
        "close_ticket": True,
    },
    "ticket-notes": lambda w: {"content": "pwned"},
    "ticket-satisfaction": lambda w: {"rating": 1, "comment": "pwned"},
    "ticket-assign": lambda w: {"team_id": str(w.primary[_m("agents", "Team")].pk)},
    "ticket-transfer": lambda w: {"team_id": str(w.primary[_m("agents", "Team")].pk)},
    "customer-list": lambda w: {"customer_id": _customer_external_id(w), "name": "pwned"},
    "customer-detail": lambda w: {"name": "pwned", "email": "pwned@attacker.test"},
    "ai-draft-regenerate": lambda w: {"tone": "casual"},
    "ai-draft": lambda w: {"tone": "casual"},
    "ticket-draft": lambda w: {"tone": "casual"},
    "ai-recommendation-action": lambda w: {"completed": True},
    "agent-list": lambda w: {"email": "pwned-hire@attacker.test", "name": "pwned"},
    "agent-detail": lambda w: {
        "name": "pwned",
        "role": "manager",
        "capacity": 0,
        "availability": "away",
        "team_ids": [],
        "skill_ids": [],
        "is_active": False,
    },
    "team-list": lambda w: {"name": "pwned", "routing_strategy": "round_robin"},
    "team-detail": lambda w: {
        "name": "pwned",
        "description": "pwned",
        "routing_strategy": "least_loaded",
        "is_default": True,
        "member_ids": [],
    },
    "skill-list": lambda w: {"name": "pwned", "tags": ["pwned"], "channels": ["phone"]},
    "skill-detail": lambda w: {"name": "pwned", "tags": ["pwned"], "agent_ids": []},
    "webhook-list": lambda w: {"url": "https://93.184.215.14/pwned", "events": ["note.created"]},
    "integration-account-list": lambda w: {
        "provider": "gorgias",
        "name": "pwned",
        "domain": "pwned",
        "username": "pwned@attacker.test",
        "api_key": "pwned",
    },
    "integration-account-detail": lambda w: {
        "enabled": False,
        "base_url": "https://93.184.215.14/pwned",
        "api_token": "pwned",
    },
    "integration-account-sync": lambda w: {"full": True},
    "zendesk-webhook": lambda w: {"ticket": {"id": "1"}},
    "gorgias-webhook": lambda w: {"ticket": {"id": "1"}},
    "channel-list": lambda w: {"kind": "chat", "name": "pwned"},
    "channel-detail": lambda w: {"name": "pwned", "enabled": False},
    "chat-inbound": lambda w: {
        "conversation_id": "pwned",
        "from": {"id": "pwned"},
        "text": "pwned",
        "external_id": "pwned",
    },
    "webhook-detail": lambda w: {
        "url": "https://93.184.215.14/pwned",
        "events": ["note.created"],
        "active": False,
        "description": "pwned",
    },
    "automation-list": lambda w: {
        "name": "pwned",
        "trigger": "ticket.created",
        "actions": [{"type": "set_status", "value": "closed"}],
    },
    "automation-detail": lambda w: {
        "active": False,
        "actions": [{"type": "set_status", "value": "closed"}],
    },
    "macro-list": lambda w: {"name": "pwned", "body": "pwned"},
    "macro-detail": lambda w: {"body": "pwned {{customer.name}}", "active": False},
    "ticket-apply-macro": lambda w: {
        "macro_id": str(w.primary[_m("rules", "Macro")].pk),
        "send": True,
    },
    "automation-replay": lambda w: {
        "trigger": "ticket.created",
        "actions": [{"type": "set_status", "value": "closed"}],
        "since": "2020-01-01T00:00:00Z",
    },
}


def _fill(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _api_targets(world: World, route: Route) -> list[Target]:
    name = route.url_name
    mapping = API_PARAMS.get(name, {})
    missing = [p for p in route.params if p not in mapping]
    if missing:
        raise LookupError(f"API route {route.key} ({route.name}): no mapping for {missing}")
    path = _fill(route.template, {p: mapping[p](world) for p in route.params})
    body = API_BODIES.get(name, lambda w: {})(world)
    query = API_QUERIES.get(name, lambda w: "")(world)
    kind = OBJECT if route.params else COLLECTION
    return [Target(path, kind, query=query, bodies=_json_bodies(body))]


def _json_bodies(body: dict) -> dict:
    return {m: (m, body, True) for m in METHODS if m != "GET"}


def _form_bodies(body: dict) -> dict:
    return {m: (m, body, False) for m in METHODS if m != "GET"}


# Admin URL suffixes of a ModelAdmin (after admin/<app>/<model>/) and what they are.
ADMIN_MODEL_VIEWS = {
    "": "changelist",
    "add/": "add",
    "<path:object_id>/history/": "history",
    "<path:object_id>/delete/": "delete",
    "<path:object_id>/change/": "change",
    "<path:object_id>/": "legacy-redirect",
    "([^/]+)/history/([^/]+)/$": "history-revert",  # django-simple-history
    "<id>/password/": "password",  # UserAdmin
}
# Custom admin views (ModelAdmin.get_urls additions), by URL name: not about one object.
ADMIN_CUSTOM_VIEWS = {
    "admin:sla_compliance": lambda w: "days=366",
}
# Admin site views, by URL name.
ADMIN_SITE_VIEWS = {
    "admin:index",
    "admin:login",
    "admin:logout",
    "admin:password_change",
    "admin:password_change_done",
    "admin:jsi18n",
    "admin:autocomplete",
    "admin:view_on_site",
    "admin:app_list",
    "admin-dashboard",  # analytics' manager dashboard (quimbi_support/urls.py): B's own figures
}
ADMIN_CATCH_ALL = "admin/(?P<url>.*)$"
ADMIN_SITE_BODIES = {
    "admin:login": {"username": "nobody@attacker.test", "password": "wrong-password"},
    "admin:password_change": {
        "old_password": "wrong-password",
        "new_password1": "Pwned-pass-1234567",
        "new_password2": "Pwned-pass-1234567",
    },
}


def _admin_targets(world: World, route: Route) -> list[Target]:
    if route.name in ADMIN_SITE_VIEWS or route.key == ADMIN_CATCH_ALL:
        return _admin_site_targets(world, route)
    match = re.match(r"admin/(\w+)/(\w+)/(.*)$", route.key)
    model = match and _admin_model(match.group(1), match.group(2))
    if model is None:
        raise LookupError(f"admin route {route.key} ({route.name}) is not a ModelAdmin's")
    view = ADMIN_MODEL_VIEWS.get(match.group(3))
    platform = model._meta.app_label not in APPS
    obj = world.platform.get(model) if platform else world.primary.get(model)
    if obj is None:
        raise LookupError(f"no row for {model._meta.label}, needed by {route.key}")
    object_kind = COLLECTION if platform else OBJECT
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    values = {"object_id": str(obj.pk), "id": str(obj.pk), "_0": str(obj.pk)}
    if view is None:
        if route.name not in ADMIN_CUSTOM_VIEWS:
            raise LookupError(
                f"admin route {route.key} ({route.name}): add it to ADMIN_CUSTOM_VIEWS"
            )
        if route.params:
            raise LookupError(f"custom admin route {route.key} has parameters {route.params}")
        query = ADMIN_CUSTOM_VIEWS[route.name](world)
        return [Target(route.template, COLLECTION, query=query, bodies=_form_bodies({}))]
    if view == "history-revert":
        history_id = world.history_ids.get(model)
        if history_id is None:
            raise LookupError(f"no history row of A's {model._meta.label} for {route.key}")
        values["_1"] = str(history_id)
    missing = [p for p in route.params if p not in values]
    if missing:
        raise LookupError(f"admin route {route.key}: cannot fill {missing}")
    path = _fill(route.template, values)
    if view == "changelist":
        ids = [str(pk) for pk in _org_pks(world, model)] or [str(obj.pk)]
        target = Target(path, COLLECTION, query="q=alpha", bodies=_form_bodies({}))
        for label, body in changelist_bodies(world, model, ids):
            target.bodies[label] = ("POST", body, False)
        if len(target.bodies) > len(METHODS) - 1:
            del target.bodies["POST"]  # the actions are the changelist's POSTs
        return [target]
    if view == "add":
        body = admin_form_body(world, model, obj, add=True)
        return [Target(path, COLLECTION, bodies=_form_bodies(body))]
    if view in ("change", "history-revert"):
        body = admin_form_body(world, model, obj, add=False)
        return [Target(path, object_kind, bodies=_form_bodies(body))]
    if view == "delete":
        return [Target(path, object_kind, bodies=_form_bodies({"post": "yes"}))]
    if view == "password":
        body = {k: ATTACK_VALUES[k] for k in ("password1", "password2", "usable_password")}
        return [Target(path, object_kind, bodies=_form_bodies(body))]
    if view == "legacy-redirect":
        return [
            Target(
                path, object_kind, bodies=_form_bodies({}), redirect_to=f"{base}{obj.pk}/change/"
            )
        ]
    return [Target(path, object_kind, bodies=_form_bodies({}))]  # history


def _org_pks(world: World, model) -> list:
    if model._meta.app_label not in APPS:
        return []
    return list(
        model._base_manager.filter(organization_q(model, world.org_a.pk)).values_list(
            "pk", flat=True
        )
    )


def _admin_site_targets(world: World, route: Route) -> list[Target]:
    if route.name == "admin:autocomplete":
        return _autocomplete_targets(world, route)
    if route.name == "admin:view_on_site":
        targets = []
        for model, obj in world.primary.items():
            content_type = ContentType.objects.get_for_model(model)
            path = _fill(
                route.template, {"content_type_id": str(content_type.pk), "object_id": str(obj.pk)}
            )
            targets.append(Target(path, OBJECT, bodies=_form_bodies({})))
        return targets
    if route.name == "admin:app_list":
        labels = sorted({m._meta.app_label for m in admin.site._registry})
        return [
            Target(_fill(route.template, {"app_label": label}), COLLECTION, bodies=_form_bodies({}))
            for label in labels
        ]
    if route.key == ADMIN_CATCH_ALL:
        # Without the slash the catch-all redirects to the slashed URL (whether or not the
        # object exists); the slashed URLs are checked as their own routes.
        ticket = world.primary[_m("tickets", "Ticket")]
        path = _fill(route.template, {"url": f"tickets/ticket/{ticket.pk}/change"})
        return [Target(path, OBJECT, bodies=_form_bodies({}), redirect_to=f"{path}/")]
    if route.params:
        raise LookupError(f"admin site route {route.key} has parameters {route.params}")
    body = ADMIN_SITE_BODIES.get(route.name, {})
    return [Target(route.template, COLLECTION, bodies=_form_bodies(body))]


def _autocomplete_targets(world: World, route: Route) -> list[Target]:
    """One search per autocomplete field of every ModelAdmin, for A's rows."""
    request = _admin_request(world.superuser)
    targets = []
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.get_autocomplete_fields(request):
            query = urlencode(
                {
                    "app_label": model._meta.app_label,
                    "model_name": model._meta.model_name,
                    "field_name": field_name,
                    "term": "alpha",
                }
            )
            targets.append(Target(route.template, COLLECTION, query=query, bodies=_form_bodies({})))
    if not targets:
        raise LookupError("no autocomplete field in the admin: drop this target")
    return targets


def targets_for(world: World, route: Route) -> list[Target]:
    """The concrete URLs of a route, or LookupError naming what is missing."""
    if route.error:
        raise LookupError(route.error)
    if route.key in PUBLIC_ROUTES:
        if route.params:
            raise LookupError(f"public route {route.key} has parameters")
        return [Target(route.template, PUBLIC, bodies=_form_bodies({}))]
    if route.key.startswith("api/"):
        return _api_targets(world, route)
    if route.key.startswith("admin/"):
        return _admin_targets(world, route)
    raise LookupError(f"route {route.key} ({route.name}) is not classified: add it")


# --- Running and judging --------------------------------------------------------------


@dataclass
class Attempt:
    route: Route
    target: Target
    principal: str
    label: str  # method label, e.g. "POST action=delete_selected"
    method: str
    body: dict
    is_json: bool

    def describe(self, world: World) -> str:
        url = self.target.path + (f"?{self.target.query}" if self.target.query else "")
        for text, label in world.labels.items():
            url = url.replace(text, f"<{label}>")
        return f"{self.label} {url} as {self.principal}"


def attempts(world: World, route: Route) -> list[Attempt]:
    found = []
    for target in targets_for(world, route):
        for principal in PRINCIPALS:
            found.append(Attempt(route, target, principal, "GET", "GET", {}, False))
            for label, (method, body, is_json) in target.bodies.items():
                found.append(Attempt(route, target, principal, label, method, body, is_json))
    return found


def send(world: World, attempt: Attempt):
    client, headers = world.principals[attempt.principal]
    client.cookies.clear()  # no message cookies from earlier answers
    if attempt.principal in world.session_cookies:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.session_cookies[attempt.principal]
    path = attempt.target.path
    query = attempt.target.query
    if attempt.method == "GET":
        return client.get(f"{path}?{query}" if query else path, **headers)
    if attempt.is_json:
        data, content_type = json.dumps(attempt.body), "application/json"
    elif attempt.method == "POST":
        return client.post(path, attempt.body, **headers)
    else:
        data, content_type = (
            urlencode(attempt.body, doseq=True),
            "application/x-www-form-urlencoded",
        )
    return client.generic(attempt.method, path, data, content_type=content_type, **headers)


def _is_login_or_index(location: str) -> bool:
    path = urlsplit(location).path
    return path == "/admin/" or path.startswith("/admin/login/")


def judge(world: World, attempt: Attempt, response) -> list[str]:
    """What is wrong with this answer (nothing if it is fine)."""
    problems = []
    status = response.status_code
    location = response.get("Location", "")
    if status >= 500:
        problems.append(f"answered {status}")
    elif attempt.target.kind == OBJECT:
        refused = status in REFUSED or (status in (301, 302) and _is_login_or_index(location))
        redirect_ok = (
            attempt.target.redirect_to
            and status in (301, 302)
            and (urlsplit(location).path == attempt.target.redirect_to)
        )
        if not (refused or redirect_ok):
            where = f" -> {location}" if location else ""
            problems.append(f"answered {status}{where} (expected 401/403/404/405 or login)")
    body = b"" if getattr(response, "streaming", False) else response.content
    text = body.decode("utf-8", "replace").lower()
    sent = (
        attempt.target.path + attempt.target.query + json.dumps(attempt.body, default=str)
    ).lower()
    leaked = [s for s in world.leak_strings if s in text and s not in sent]
    if leaked:
        shown = sorted({world.labels.get(s, s) for s in leaked})
        problems.append(f"shows A's data: {', '.join(shown[:5])}")
    return problems


def run_route(world: World, route: Route) -> list[str]:
    """Every attempt on one route; returns the violations (one line each).

    The attempts run in a savepoint rolled back at the end, so routes never see each
    other's writes. If A changed, they are replayed one by one, each in its own
    savepoint, so that every verdict and change is that of one request on intact data.
    """
    from django.core.cache import cache

    todo = attempts(world, route)
    cache.clear()  # throttles and cached answers start afresh for each route
    outer = transaction.savepoint()
    try:
        violations = [
            f"{route.key}: {attempt.describe(world)}: {problem}"
            for attempt in todo
            for problem in _try(world, attempt)
        ]
        changed = world.changes()
    finally:
        transaction.savepoint_rollback(outer)
    if not changed:
        return violations
    violations = []
    for attempt in todo:
        cache.clear()
        point = transaction.savepoint()
        try:
            problems = _try(world, attempt)
            diff = world.changes()
        finally:
            transaction.savepoint_rollback(point)
        if diff:
            problems.append("changed A: " + " / ".join(diff))
        violations += [f"{route.key}: {attempt.describe(world)}: {p}" for p in problems]
    return violations


def _try(world: World, attempt: Attempt) -> list[str]:
    try:
        with transaction.atomic():
            response = send(world, attempt)
    except Exception as exc:  # a server error: the view raised
        return [f"raised {type(exc).__name__}: {str(exc)[:120]}"]
    return judge(world, attempt, response)
