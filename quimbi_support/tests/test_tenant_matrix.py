"""Tenant isolation on every URL of the URL conf (issue 11, item 2).

Organization B (its admin, manager and agent by session, its agent and manager API keys,
and anonymous) tries every route on organization A's objects with GET, POST, PUT, PATCH
and DELETE (and, on admin changelists, every action and the inline editing on A's rows).
An URL naming A's object must be refused (401/403/404/405, or a redirect to the login
page or to the admin index, the admin's "doesn't exist"); no answer may show A's marker,
ids or secrets; and a re-read of all of A's rows after each route proves nothing
changed. Routes come from get_resolver(), so a new route that tenant_matrix.py cannot map
fails test_every_route_is_mapped. How the URLs are filled: tenant_matrix.py.
"""

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from django.urls import resolve

from agents.models import Agent
from quimbi_support.tests import tenant_matrix as tm

ROUTES = tm.routes()
SECTIONS = sorted({tm.section_of(r) for r in ROUTES})


@pytest.fixture
def world(db, settings):
    settings.DEMO_FEATURES = True  # the demo resets are routes too: reachable, and refused
    settings.QUIMBI_BASE_URL = ""  # nothing leaves the process
    return tm.world_build()


def test_every_route_is_mapped(world):
    """Each pattern of the URL conf yields URLs on A's objects that resolve back to it."""
    problems = []
    for route in ROUTES:
        try:
            targets = tm.targets_for(world, route)
        except LookupError as exc:
            problems.append(f"{route.key}: {exc}")
            continue
        for target in targets:
            match = resolve(target.path)
            if match.route != route.key:
                problems.append(f"{route.key}: {target.path} resolves to {match.route!r}")
    assert not problems, "unmapped routes (add them to tenant_matrix.py):\n" + "\n".join(problems)
    sections = {tm.section_of(r) for r in ROUTES}
    assert {"api-v1", "api-unversioned", "admin-site", "public"} <= sections
    assert {f"admin-{label}" for label in ("agents", "tickets", "sla", "rules")} <= sections


def test_organization_a_has_a_row_in_every_model(world):
    """A new model fails here until world_build gives organization A a row of it."""
    empty = [
        model._meta.label
        for model in tm.tenant_models()
        if not model._base_manager.filter(tm.organization_q(model, world.org_a.pk)).exists()
    ]
    assert not empty, f"no row of organization A in: {', '.join(empty)}"
    # ...and B's own rows never carry A's marker (that would fake a leak).
    assert tm.MARK.lower() not in tm.OTHER_MARK.lower()


@pytest.mark.parametrize("section", SECTIONS)
def test_tenant_matrix(world, section):
    routes = [r for r in ROUTES if tm.section_of(r) == section]
    violations, tried = [], 0
    for route in routes:
        try:
            tried += len(tm.attempts(world, route))
        except LookupError:
            continue  # reported by test_every_route_is_mapped
        violations += tm.run_route(world, route)
    assert tried, f"no request tried in {section}"
    assert not violations, (
        f"{len(violations)} tenant-isolation violation(s) in {section} "
        f"({len(routes)} routes, {tried} requests):\n" + "\n".join(violations)
    )


# Positive control: the attack bodies are valid, so "nothing changed" above means the
# views refused, not that the forms were malformed. The platform operator (superuser)
# posting them on A's objects does change A.
CONTROL_ADMIN_MODELS = [
    ("tickets", "ticket"),
    ("tickets", "customer"),
    ("tickets", "tag"),
    ("agents", "agent"),
    ("agents", "team"),
    ("agents", "skill"),
    ("agents", "organization"),
    ("rules", "rule"),
    ("rules", "scoringconfig"),
    ("sla", "businesscalendar"),
    ("sla", "slapolicy"),
    ("intelligence", "quimbiaccount"),
]


def test_attack_bodies_change_a_when_allowed(world):
    client = Client()
    client.force_login(world.superuser)
    failures = []
    for app_label, model_name in CONTROL_ADMIN_MODELS:
        routes = [
            r
            for r in ROUTES
            if r.key.startswith(f"admin/{app_label}/{model_name}/")
            and tm.ADMIN_MODEL_VIEWS.get(r.key.split("/", 3)[3]) in ("change", "history-revert")
        ]
        assert routes, (app_label, model_name)
        for route in routes:
            [target] = tm.targets_for(world, route)
            _, body, _ = target.bodies["POST"]
            point = transaction.savepoint()
            try:
                response = client.post(target.path, body)
                diff = world.changes()
            finally:
                transaction.savepoint_rollback(point)
            if response.status_code != 302 or not diff:
                failures.append(f"{route.key}: {response.status_code} {_errors(response)}")
    assert not failures, "the operator's posts changed nothing:\n" + "\n".join(failures)


def _errors(response) -> str:
    adminform = (getattr(response, "context", None) or {}).get("adminform")
    return str(adminform.form.errors) if adminform else ""


def test_principals_are_who_they_claim(world):
    """B's principals really are logged in as B (else every refusal would be trivial)."""
    for name in tm.PRINCIPALS:
        route = next(r for r in ROUTES if r.name == "v1:auth-whoami")
        attempt = tm.Attempt(
            route, tm.Target("/api/v1/auth/whoami", tm.COLLECTION), name, "GET", "GET", {}, False
        )
        response = tm.send(world, attempt)
        if name == "anonymous":
            assert response.status_code in (401, 403)
            continue
        assert response.status_code == 200, (name, response.content)
        assert response.json()["organization"] == world.org_b.slug
        if name in world.session_cookies:
            admin_index = tm.Attempt(
                route, tm.Target("/admin/", tm.COLLECTION), name, "GET", "GET", {}, False
            )
            assert tm.send(world, admin_index).status_code == 200, name


def _route(key: str) -> tm.Route:
    return next(r for r in ROUTES if r.key == key)


def test_matrix_catches_unscoped_history_views(world, monkeypatch):
    """With the History and Revert pages looking objects up by id alone (the hole of
    issue 11), the matrix reports both the answers and the change."""
    from django.contrib.admin.utils import unquote

    from agents.admin_history import ScopedHistoryAdmin

    def unscoped(self, request, object_id):
        return self.model._default_manager.filter(pk=unquote(object_id)).first()

    monkeypatch.setattr(ScopedHistoryAdmin, "_scoped_object", unscoped)
    history = tm.run_route(world, _route("admin/tickets/ticket/<path:object_id>/history/"))
    revert = tm.run_route(world, _route("admin/tickets/ticket/([^/]+)/history/([^/]+)/$"))
    report = "\n".join(history + revert)
    assert "GET /admin/tickets/ticket/<A:Ticket>/history/ as b_agent: answered 200" in report
    assert "/history/ as b_agent: shows A's data" in report
    revert_post = next(
        line
        for line in revert
        if "POST /admin/tickets/ticket/<A:Ticket>/history/" in line
        and "as b_agent: changed A:" in line
    )
    # renamed, closed and stripped of its assignee: what issue 11 saw
    assert "subject 'ALPHA-7f3e order never arrived' -> 'pwned'" in revert_post
    assert "status 'pending' -> 'closed'" in revert_post
    assert "assignee_id" in revert_post


def test_matrix_catches_an_unscoped_api_lookup(world, monkeypatch):
    from tickets.api.views import TicketViewSet
    from tickets.models import Ticket

    monkeypatch.setattr(TicketViewSet, "_ticket", lambda self, pk, **_: Ticket.objects.get(pk=pk))
    report = "\n".join(tm.run_route(world, _route("api/v1/tickets/(?P<pk>[^/]+)/?$")))
    assert "GET /api/v1/tickets/<A:Ticket> as b_key_agent: answered 200" in report
    assert "GET /api/v1/tickets/<A:Ticket> as b_key_agent: shows A's data" in report
    assert "PATCH /api/v1/tickets/<A:Ticket> as b_agent: changed A:" in report


# Providers' webhooks: no caller is accepted, only the provider's signature or secret
# (their acceptance: integrations/tests/test_provider_webhooks_and_push.py).
SIGNED_BY_PROVIDER = {
    "zendesk-webhook",
    "gorgias-webhook",
    "email-inbound",
    "sms-twilio-inbound",
    "chat-inbound",
}


def test_api_requests_are_accepted_in_their_own_tenant(world):
    """The same URLs and bodies, sent by A's own manager, find A's object (2xx; 405 for a
    method the route does not take; 409 when it is in use): B's 404s are refusals, not
    malformed requests."""
    client = Client()
    client.force_login(Agent.objects.get(organization=world.org_a, role="manager"))
    world.principals["a_manager"] = (client, {})
    world.session_cookies["a_manager"] = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    problems = []
    for route in ROUTES:
        if tm.section_of(route) != "api-v1" or not route.params:
            continue
        if route.url_name in SIGNED_BY_PROVIDER:
            continue
        for attempt in tm.attempts(world, route):
            if attempt.principal != "b_admin":
                continue
            attempt.principal = "a_manager"
            point = transaction.savepoint()
            try:
                response = tm.send(world, attempt)
            finally:
                transaction.savepoint_rollback(point)
            if not (response.status_code < 400 or response.status_code in (405, 409)):
                problems.append(f"{attempt.describe(world)}: {response.status_code}")
    assert not problems, "\n".join(problems)
