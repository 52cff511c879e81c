"""Login hardening: failed logins lock the account and the client address out (admin and
API token alike, recorded in the database so it holds with the cache down), production
cookies, and `create_organization` for a second tenant without a shell."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from agents import roles
from agents.models import Agent, AgentToken, Organization
from agents.tests.factories import AgentFactory

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(organization):
    agent = AgentFactory(organization=organization, role=roles.AGENT, email="ines@acme.test")
    agent.set_password(PASSWORD)
    agent.save()
    return agent


@pytest.fixture(autouse=True)
def _generous_auth_throttle(monkeypatch):
    # The per-address rate limit is its own test; here lock-outs must be what stops us.
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {**SimpleRateThrottle.THROTTLE_RATES, "auth": "1000/minute"},
    )


def _token_login(email, password, address="203.0.113.7"):
    return APIClient().post(
        "/api/v1/auth/token", {"email": email, "password": password}, REMOTE_ADDR=address
    )


def _admin_login(email, password, address="203.0.113.7"):
    client = Client(REMOTE_ADDR=address)
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": password})
    return client, response


def test_the_api_locks_an_account_after_five_failures(settings, member):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert _token_login(member.email, "wrong").status_code == 401
    assert _token_login(member.email, "wrong").status_code == 429  # the fifth locks

    locked = _token_login(member.email, PASSWORD)  # even the right password

    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "ACCOUNT_LOCKED"
    assert "Too many failed logins" in locked.json()["detail"]
    assert int(locked["Retry-After"]) == settings.LOGIN_LOCKOUT_MINUTES * 60
    assert not AgentToken.objects.filter(agent=member).exists()
    # Another address does not unlock the account.
    assert _token_login(member.email, PASSWORD, address="198.51.100.9").status_code == 429


def test_an_address_trying_many_accounts_is_locked_out(settings, member):
    for n in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert _token_login(f"guess{n}@acme.test", "wrong").status_code == 401
    assert _token_login("guess@acme.test", "wrong").status_code == 429

    assert _token_login(member.email, PASSWORD).status_code == 429
    # The account itself is not locked: its owner, elsewhere, still logs in.
    assert _token_login(member.email, PASSWORD, address="198.51.100.9").status_code == 201


def test_the_email_is_matched_whatever_its_case(settings, member):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        _token_login(member.email.upper(), "wrong", address="192.0.2.1")
    assert _token_login(member.email, PASSWORD, address="192.0.2.2").status_code == 429


def test_a_success_clears_the_failures(settings, member):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _token_login(member.email, "wrong")
    assert _token_login(member.email, PASSWORD).status_code == 201
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _token_login(member.email, "wrong")
    assert _token_login(member.email, PASSWORD).status_code == 201


def test_the_admin_login_locks_out_too(settings, member):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        _, page = _admin_login(member.email, "wrong")
        assert page.status_code == 200  # the form again, with its error
        assert b"Please enter the correct" in page.content
    assert _admin_login(member.email, "wrong")[1].status_code == 429  # the fifth locks

    client, locked = _admin_login(member.email, PASSWORD)

    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert client.get("/admin/").status_code == 302  # not logged in
    # The API shares the lock.
    assert _token_login(member.email, PASSWORD, address="198.51.100.9").status_code == 429


def test_the_lock_holds_with_the_cache_down(settings, member):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
        },
        "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle-fallback": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert _token_login(member.email, "wrong").status_code == 401
    assert _token_login(member.email, "wrong").status_code == 429
    assert _token_login(member.email, PASSWORD).status_code == 429


def test_lifting_a_lock_with_the_management_command(settings, member):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        _token_login(member.email, "wrong")
    call_command("axes_reset_username", member.email, stdout=StringIO())
    call_command("axes_reset_ip", "203.0.113.7", stdout=StringIO())
    assert _token_login(member.email, PASSWORD).status_code == 201


def test_session_cookie_is_httponly_and_samesite(member):
    client, response = _admin_login(member.email, PASSWORD)
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_production_cookies_are_secure():
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update(HTTPS="true", SECRET_KEY="x" * 60, ALLOWED_HOSTS="support.example.com")
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SESSION_COOKIE_SAMESITE, s.SECURE_SSL_REDIRECT)"
    )
    env["DJANGO_SETTINGS_MODULE"] = "quimbi_support.settings"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.stdout.split() == ["True", "True", "True", "Lax", "True"], out.stderr


# --- create_organization ---------------------------------------------------------------


def test_create_organization_makes_a_tenant_whose_admin_can_log_in():
    out, err = StringIO(), StringIO()
    call_command(
        "create_organization",
        "initech",
        "Initech",
        "--admin",
        "Bill@Initech.test",
        stdout=out,
        stderr=err,
    )
    password = out.getvalue().strip()
    organization = Organization.objects.get(slug="initech")
    admin = Agent.objects.get(email="bill@initech.test")
    assert organization.name == "Initech"
    assert admin.organization == organization and admin.role == roles.ADMIN
    assert "shown only now" in err.getvalue()

    client, response = _admin_login("bill@initech.test", password)
    assert response.status_code == 302
    assert client.get("/admin/agents/agent/").status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["acme", "Again", "--admin", "x@acme.test"], "already exists"),
        (["bad slug!", "Bad", "--admin", "x@bad.test"], "not a valid slug"),
        (["fine", "Fine", "--admin", "not-an-email"], "not an email"),
    ],
)
def test_create_organization_refuses_bad_input(organization, args, message):
    before = (Organization.objects.count(), Agent.objects.count())
    with pytest.raises(CommandError, match=message):
        call_command("create_organization", *args, stdout=StringIO(), stderr=StringIO())
    assert (Organization.objects.count(), Agent.objects.count()) == before


def test_create_organization_refuses_a_taken_admin_email(agent):
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_organization",
            "newco",
            "NewCo",
            "--admin",
            agent.email,
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert not Organization.objects.filter(slug="newco").exists()
