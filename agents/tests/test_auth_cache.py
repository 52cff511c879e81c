"""The cache of authenticated API keys and tokens (agents/credential_cache.py).

With REDIS_URL set these tests use the real Redis cache; without it, local memory with
AUTH_CACHE_PROCESS_LOCAL on, which is honest here: one process serves and revokes.
"""

import pickle
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from agents import roles
from agents.credential_cache import (
    credential_cache_add,
    credential_cache_enabled,
    credential_cache_get,
    credential_cache_key,
)
from agents.keys import key_hash
from agents.models import AgentToken, ApiKey
from agents.selectors import api_key_get_active
from agents.services import (
    agent_token_create,
    agent_token_revoke,
    agent_update,
    api_key_create,
    api_key_revoke,
)
from agents.tests.factories import AgentFactory, OrganizationFactory

WHOAMI = "/api/v1/auth/whoami"


@pytest.fixture
def auth_cache(settings):
    settings.AUTH_CACHE_SECONDS = 300
    if not settings.REDIS_URL:
        settings.AUTH_CACHE_PROCESS_LOCAL = True
    assert credential_cache_enabled()


@pytest.fixture
def key(organization):
    """(ApiKey, raw key)"""
    return api_key_create(organization=organization, name="frontend", actor=None)


@pytest.fixture
def token(agent):
    """(AgentToken, raw token)"""
    return agent_token_create(agent=agent, name="cli")


@pytest.fixture
def admin_user(organization):
    return AgentFactory(organization=organization, role=roles.ADMIN, email="admin@acme.test")


def _key_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


def _token_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def _admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _cached(model, raw: str):
    return caches["default"].get(credential_cache_key(model=model, key_hash=key_hash(raw)))


def _warm(client) -> None:
    """Two requests: the first reads the database and caches, the second is served cached."""
    assert client.get(WHOAMI).status_code == 200
    assert client.get(WHOAMI).status_code == 200


# --- fewer queries --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_cached_api_key_saves_its_lookup_query(
    auth_cache, settings, key, django_assert_num_queries
):
    client = _key_client(key[1])
    settings.AUTH_CACHE_SECONDS = 0  # off: every request looks the key up
    assert client.get(WHOAMI).status_code == 200  # also writes last_used_at
    with CaptureQueriesContext(connection) as uncached:
        assert client.get(WHOAMI).status_code == 200
    uncached = uncached.captured_queries  # read now: the next request resets the log
    assert any("agents_apikey" in q["sql"] for q in uncached)

    settings.AUTH_CACHE_SECONDS = 300
    assert client.get(WHOAMI).status_code == 200  # read from the database and cached
    with django_assert_num_queries(len(uncached) - 1):
        assert client.get(WHOAMI).json()["organization"] == "acme"


@pytest.mark.django_db
def test_a_cached_token_saves_its_lookup_query(
    auth_cache, settings, agent, token, make_ticket, django_assert_num_queries
):
    make_ticket()
    client = _token_client(token[1])
    settings.AUTH_CACHE_SECONDS = 0
    assert client.get("/api/v1/tickets").status_code == 200
    with CaptureQueriesContext(connection) as uncached:
        response = client.get("/api/v1/tickets")
    uncached = uncached.captured_queries
    assert response.status_code == 200
    assert any("agents_agenttoken" in q["sql"] for q in uncached)

    settings.AUTH_CACHE_SECONDS = 300
    assert client.get("/api/v1/tickets").status_code == 200
    with django_assert_num_queries(len(uncached) - 1):
        cached = client.get("/api/v1/tickets")
    assert cached.json() == response.json()  # the cached agent sees the same tickets
    assert client.get(WHOAMI).json()["agent"]["email"] == agent.email


@pytest.mark.django_db
def test_the_cache_holds_the_hash_never_the_raw_key_nor_the_password(auth_cache, agent, token):
    _, raw = token
    _warm(_token_client(raw))
    key = credential_cache_key(model=AgentToken, key_hash=key_hash(raw))
    assert key.endswith(key_hash(raw)) and raw not in key
    stored = pickle.dumps(caches["default"].get(key))
    assert raw.encode() not in stored and agent.password.encode() not in stored


@pytest.mark.django_db
def test_a_cached_credential_writes_last_used_at_at_most_every_five_minutes(
    auth_cache, settings, key, django_assert_num_queries
):
    settings.AUTH_CACHE_SECONDS = 3600  # the cached copy keeps its old last_used_at
    api_key, raw = key
    client = _key_client(raw)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert client.get(WHOAMI).status_code == 200  # looked up, touched, cached
    api_key.refresh_from_db()
    assert api_key.last_used_at == start
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        with django_assert_num_queries(0):
            assert client.get(WHOAMI).status_code == 200
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        with django_assert_num_queries(1):  # the touch, from the cached copy
            assert client.get(WHOAMI).status_code == 200
    with time_machine.travel(start + timedelta(minutes=7), tick=False):
        with django_assert_num_queries(0):  # the cached copy is stale; no write again
            assert client.get(WHOAMI).status_code == 200
    api_key.refresh_from_db()
    assert api_key.last_used_at == start + timedelta(minutes=6)


# --- revocation takes effect at once ----------------------------------------------------


@pytest.mark.django_db
def test_revoking_a_key_with_the_service_is_401_on_the_next_request(auth_cache, key):
    api_key, raw = key
    client = _key_client(raw)
    _warm(client)
    assert _cached(ApiKey, raw) is not None
    api_key_revoke(api_key=api_key, actor=None)
    response = client.get(WHOAMI)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked API key."


@pytest.mark.django_db
def test_revoking_a_token_with_the_service_is_401_on_the_next_request(auth_cache, token):
    stored, raw = token
    client = _token_client(raw)
    _warm(client)
    agent_token_revoke(token=stored)
    assert client.get(WHOAMI).status_code == 401


@pytest.mark.django_db
def test_logging_out_a_cached_token_is_401_on_the_next_request(auth_cache, token):
    client = _token_client(token[1])
    _warm(client)
    assert client.delete("/api/v1/auth/token").status_code == 204
    assert client.get(WHOAMI).status_code == 401


@pytest.mark.django_db
def test_revoking_a_key_with_the_admin_action_is_401_on_the_next_request(auth_cache, key, manager):
    api_key, raw = key
    client = _key_client(raw)
    _warm(client)
    response = _admin_client(manager).post(
        "/admin/agents/apikey/", {"action": "revoke", "_selected_action": [str(api_key.pk)]}
    )
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert client.get(WHOAMI).status_code == 401


@pytest.mark.django_db
def test_revoked_at_saved_by_any_path_is_401_on_the_next_request(auth_cache, key):
    # A save outside the services (a shell, a script, a future admin field) counts too.
    api_key, raw = key
    client = _key_client(raw)
    _warm(client)
    row = ApiKey.objects.get(pk=api_key.pk)
    row.revoked_at = timezone.now()
    row.save()
    assert client.get(WHOAMI).status_code == 401


@pytest.mark.django_db
def test_deleting_a_key_is_401_on_the_next_request(auth_cache, key):
    api_key, raw = key
    client = _key_client(raw)
    _warm(client)
    api_key.delete()
    assert client.get(WHOAMI).status_code == 401


@pytest.mark.django_db
def test_deleting_a_key_in_the_admin_is_401_on_the_next_request(auth_cache, key, admin_user):
    api_key, raw = key
    client = _key_client(raw)
    _warm(client)
    response = _admin_client(admin_user).post(
        f"/admin/agents/apikey/{api_key.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302 and not ApiKey.objects.exists()
    assert client.get(WHOAMI).status_code == 401


@pytest.mark.django_db
def test_bulk_deleting_keys_in_the_admin_is_401_on_the_next_request(
    auth_cache, organization, key, admin_user
):
    other, other_raw = api_key_create(organization=organization, name="script", actor=None)
    clients = [_key_client(key[1]), _key_client(other_raw)]
    for client in clients:
        _warm(client)
    response = _admin_client(admin_user).post(
        "/admin/agents/apikey/",
        {
            "action": "delete_selected",
            "_selected_action": [str(key[0].pk), str(other.pk)],
            "post": "yes",
        },
    )
    assert response.status_code == 302 and not ApiKey.objects.exists()
    assert [client.get(WHOAMI).status_code for client in clients] == [401, 401]


@pytest.mark.django_db
def test_deleting_a_token_or_its_agent_is_401_on_the_next_request(auth_cache, organization):
    first = AgentFactory(organization=organization)
    second = AgentFactory(organization=organization)
    (first_token, first_raw), (_, second_raw) = (
        agent_token_create(agent=first),
        agent_token_create(agent=second),
    )
    clients = [_token_client(first_raw), _token_client(second_raw)]
    for client in clients:
        _warm(client)
    first_token.delete()
    second.delete()  # its tokens go with it (a cascade)
    assert [client.get(WHOAMI).status_code for client in clients] == [401, 401]


@pytest.mark.django_db
def test_deleting_an_organization_is_401_for_its_keys_on_the_next_request(auth_cache):
    organization = OrganizationFactory(slug="initech")
    _, raw = api_key_create(organization=organization, name="frontend", actor=None)
    client = _key_client(raw)
    _warm(client)
    organization.delete()
    assert client.get(WHOAMI).status_code == 401


# --- agent and organization changes -------------------------------------------------------


@pytest.mark.django_db
def test_deactivating_an_agent_is_401_for_its_tokens_on_the_next_request(
    auth_cache, agent, token, manager
):
    client = _token_client(token[1])
    _warm(client)
    agent_update(agent=agent, is_active=False, caller_role=manager.role, actor=manager)
    response = client.get(WHOAMI)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked token."


def _admin_change(client: Client, url: str, **changes):
    """Post an admin change form as a browser would, with `changes` applied."""
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if not form.fields[name].disabled}
    data.update(changes)
    # An unticked checkbox is not sent; an empty value is sent as "".
    data = {name: "" if value is None else value for name, value in data.items()}
    return client.post(url, {name: value for name, value in data.items() if value is not False})


@pytest.mark.django_db
def test_deactivating_an_agent_in_the_admin_is_401_for_its_tokens(
    auth_cache, agent, token, manager
):
    client = _token_client(token[1])
    _warm(client)
    response = _admin_change(
        _admin_client(manager), f"/admin/agents/agent/{agent.pk}/change/", is_active=False
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    agent.refresh_from_db()
    assert not agent.is_active
    assert client.get(WHOAMI).status_code == 401


@pytest.mark.django_db
def test_a_role_change_shows_on_the_next_request(auth_cache, agent, token, manager):
    client = _token_client(token[1])
    _warm(client)
    agent_update(agent=agent, role=roles.MANAGER, caller_role=manager.role, actor=manager)
    assert client.get(WHOAMI).json()["role"] == roles.MANAGER


@pytest.mark.django_db
def test_an_organization_change_shows_on_the_next_request(auth_cache, organization, key, token):
    clients = [_key_client(key[1]), _token_client(token[1])]
    for client in clients:
        _warm(client)
    organization.slug = "acme-corp"
    organization.save()
    assert [client.get(WHOAMI).json()["organization"] for client in clients] == ["acme-corp"] * 2


@pytest.mark.django_db
def test_an_agent_moved_to_another_organization_acts_there_on_the_next_request(
    auth_cache, agent, token, other_organization
):
    client = _token_client(token[1])
    _warm(client)
    agent.organization = other_organization
    agent.save()
    assert client.get(WHOAMI).json()["organization"] == "globex"


# --- what is never cached, and races ----------------------------------------------------


@pytest.mark.django_db
def test_unknown_and_revoked_keys_are_not_cached(auth_cache, key):
    api_key, raw = key
    api_key_revoke(api_key=api_key, actor=None)
    client = _key_client(raw)
    assert [client.get(WHOAMI).status_code for _ in range(2)] == [401, 401]
    assert credential_cache_get(model=ApiKey, key_hash=key_hash(raw)) is None
    unknown = _key_client("qsk_not-a-real-key")
    assert unknown.get(WHOAMI).status_code == 401
    assert _cached(ApiKey, "qsk_not-a-real-key") is None
    credential_cache_add(credential=api_key)  # revoked: refused
    assert not isinstance(_cached(ApiKey, raw), dict)  # nothing, or the "dropped" mark


@pytest.mark.django_db
def test_a_lookup_that_read_the_key_before_its_revoke_cannot_cache_it_again(auth_cache, key):
    api_key, raw = key
    stale = api_key_get_active(raw=raw)  # a request reads the key ...
    api_key_revoke(api_key=api_key, actor=None)  # ... another revokes it ...
    credential_cache_add(credential=stale)  # ... the first caches what it read
    assert credential_cache_get(model=ApiKey, key_hash=key_hash(raw)) is None
    assert _key_client(raw).get(WHOAMI).status_code == 401


@pytest.mark.django_db
def test_the_entry_is_dropped_again_when_the_revoke_commits(
    auth_cache, key, django_capture_on_commit_callbacks
):
    api_key, raw = key
    stale = api_key_get_active(raw=raw)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        api_key_revoke(api_key=api_key, actor=None)
        # The mark written at once has gone (a transaction longer than DROPPED_SECONDS)
        # and a request that read the key before the commit caches it.
        caches["default"].clear()
        credential_cache_add(credential=stale)
        assert credential_cache_get(model=ApiKey, key_hash=key_hash(raw)) is not None
    for callback in callbacks:  # the commit
        callback()
    assert credential_cache_get(model=ApiKey, key_hash=key_hash(raw)) is None


# --- which caches are used ------------------------------------------------------------


@pytest.mark.django_db
def test_a_per_process_cache_is_not_used(settings, key):
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    settings.AUTH_CACHE_SECONDS = 300
    settings.AUTH_CACHE_PROCESS_LOCAL = False
    assert not credential_cache_enabled()
    client = _key_client(key[1])
    _warm(client)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(WHOAMI).status_code == 200
    assert any("agents_apikey" in q["sql"] for q in queries.captured_queries)
    assert _cached(ApiKey, key[1]) is None


@pytest.mark.django_db
@pytest.mark.parametrize("ignore_exceptions", [True, False])
def test_authentication_reads_the_database_when_redis_is_down(
    settings, key, token, ignore_exceptions
):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": ignore_exceptions},
        },
    }
    settings.AUTH_CACHE_SECONDS = 300
    assert credential_cache_enabled()
    key_client, token_client = _key_client(key[1]), _token_client(token[1])
    for client in (key_client, token_client):
        _warm(client)
    api_key_revoke(api_key=key[0], actor=None)
    agent_token_revoke(token=token[0])
    assert [c.get(WHOAMI).status_code for c in (key_client, token_client)] == [401, 401]


@pytest.mark.django_db
def test_credentials_are_cached_in_the_real_redis(require_redis, settings, key):
    from django_redis import get_redis_connection

    settings.AUTH_CACHE_PROCESS_LOCAL = False  # Redis is shared: no need to force anything
    assert credential_cache_enabled()
    assert django_settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    api_key, raw = key
    client = _key_client(raw)
    _warm(client)
    names = [name.decode() for name in get_redis_connection("default").keys("*auth:*")]
    assert [name for name in names if name.endswith(key_hash(raw))]
    assert not [name for name in names if raw in name]
    api_key_revoke(api_key=api_key, actor=None)
    assert client.get(WHOAMI).status_code == 401
