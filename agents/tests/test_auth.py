"""Login by session (admin and API), by personal token, and by organization API key."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from agents.keys import key_hash
from agents.models import AgentToken, ApiKey
from agents.services import api_key_create, api_key_revoke

WHOAMI = "/api/v1/auth/whoami"


@pytest.mark.django_db
def test_session_login_through_the_admin_reaches_the_api(agent):
    client = Client()
    page = client.get("/admin/login/")
    assert page.status_code == 200
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "AGENT@acme.test", "password": "pw-for-tests-123"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    me = client.get(WHOAMI)
    assert me.status_code == 200
    assert me.json()["agent"]["email"] == "agent@acme.test"


@pytest.mark.django_db
def test_wrong_password_does_not_log_in(agent):
    client = Client()
    client.post("/admin/login/", {"username": agent.email, "password": "nope"})
    assert client.get(WHOAMI).status_code in (401, 403)


@pytest.mark.django_db
def test_session_writes_need_csrf(agent):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    assert client.delete("/api/v1/auth/token").status_code == 403


@pytest.mark.django_db
def test_anonymous_is_refused(api_client):
    response = api_client.get(WHOAMI)
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["/api/v1", "/api"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_token_login_use_and_revoke(api_client, agent, prefix, slash):
    response = api_client.post(
        f"{prefix}/auth/token{slash}",
        {"email": "agent@acme.test", "password": "pw-for-tests-123"},
        format="json",
    )
    assert response.status_code == 201, response.content
    token = response.json()["token"]
    stored = AgentToken.objects.get(agent=agent)
    assert stored.key_hash == key_hash(token) and token not in stored.key_hash  # hashed

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get(f"{prefix}/auth/whoami{slash}").json()["agent"]["email"] == agent.email
    assert api_client.delete(f"{prefix}/auth/token{slash}").status_code == 204
    assert api_client.get(f"{prefix}/auth/whoami{slash}").status_code == 401


@pytest.mark.django_db
def test_token_login_with_wrong_password_is_401(api_client, agent):
    response = api_client.post(
        "/api/v1/auth/token", {"email": agent.email, "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong email or password."
    assert not AgentToken.objects.exists()


@pytest.mark.django_db
def test_token_login_validates_input(api_client):
    response = api_client.post("/api/v1/auth/token", {"email": "not-an-email"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body["errors"]) == {"email", "password"} and body["detail"]


@pytest.mark.django_db
def test_token_login_is_throttled(api_client, agent, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {**SimpleRateThrottle.THROTTLE_RATES, "auth": "3/minute"},
    )
    codes = [
        api_client.post(
            "/api/v1/auth/token", {"email": agent.email, "password": "x"}, format="json"
        ).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]


@pytest.mark.django_db
def test_api_key_authenticates_as_the_organization(key_client, organization):
    body = key_client.get(WHOAMI).json()
    assert body == {
        "kind": "api_key",
        "organization": "acme",
        "role": "agent",
        "agent": None,
        "api_key": "frontend",
    }
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.django_db
def test_api_key_is_stored_hashed_and_revocable(organization):
    key, raw = api_key_create(organization=organization, name="ops", role="manager", actor=None)
    assert raw not in (key.key_hash, key.prefix) and key.key_hash == key_hash(raw)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get(WHOAMI).json()["role"] == "manager"
    api_key_revoke(api_key=key, actor=None)
    response = client.get(WHOAMI)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked API key."


@pytest.mark.django_db
def test_unknown_api_key_is_401(api_client):
    api_client.credentials(HTTP_X_API_KEY="qsk_not-a-real-key")
    assert api_client.get(WHOAMI).status_code == 401


@pytest.mark.django_db
def test_create_api_key_command_prints_a_working_key(organization):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_key",
        "--organization",
        "acme",
        "--name",
        "deploy",
        "--role",
        "manager",
        stdout=out,
        stderr=err,
    )
    raw = out.getvalue().strip()
    assert raw.startswith("qsk_") and "shown only now" in err.getvalue()
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    assert client.get(WHOAMI).json()["role"] == "manager"


@pytest.mark.django_db
def test_create_api_key_command_rejects_unknown_organization():
    with pytest.raises(CommandError, match="No organization"):
        call_command("create_api_key", "--organization", "nope", "--name", "x")
