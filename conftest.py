"""Fixtures shared by every app's tests.

Tests run on SQLite by default. With DATABASE_URL / REDIS_URL / CELERY_BROKER_URL set they
run on those servers; tests that need one skip without it, except under
REQUIRE_SERVICES=1 (set by .ci/run), where a missing server fails the run.
"""

import os

import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from agents import replica, roles
from agents.services import api_key_create
from agents.tests.factories import AgentFactory, OrganizationFactory
from tickets.services import customer_get_or_create, ticket_create

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _need(condition: bool, what: str) -> None:
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {what} is not configured")
    pytest.skip(f"needs {what}")


@pytest.fixture
def require_postgres(db):
    _need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")


@pytest.fixture
def require_replica(require_postgres):
    """A second PostgreSQL database as the read replica (DATABASE_REPLICA_URL)."""
    _need("replica" in django_settings.DATABASES, "a read replica (DATABASE_REPLICA_URL)")


@pytest.fixture
def require_redis():
    _need(bool(django_settings.REDIS_URL), "Redis (REDIS_URL)")


@pytest.fixture(autouse=True)
def _replica_only_where_asked(request, monkeypatch):
    """With DATABASE_REPLICA_URL set (the PostgreSQL run), the replica's test database is
    a separate, empty one: a test reads from it only when it asks for it
    (`django_db(databases=[..., "replica"])`); any other reads the primary alone, as
    without a replica."""
    marker = request.node.get_closest_marker("django_db")
    databases = marker.kwargs.get("databases") if marker else None
    if databases != "__all__" and "replica" not in (databases or ()):
        monkeypatch.setattr(replica, "replica_configured", lambda: False)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import caches

    for alias in caches:
        try:
            caches[alias].clear()
        except Exception:  # a test may point a cache at a server that is down
            pass
    yield


@pytest.fixture
def organization(db):
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(slug="globex", name="Globex")


@pytest.fixture
def agent(organization):
    return AgentFactory(organization=organization, role=roles.AGENT, email="agent@acme.test")


@pytest.fixture
def manager(organization):
    return AgentFactory(organization=organization, role=roles.MANAGER, email="manager@acme.test")


@pytest.fixture
def superuser(db):
    return AgentFactory(
        organization=None, is_superuser=True, role=roles.ADMIN, email="root@platform.test"
    )


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def agent_client(agent):
    client = APIClient()
    client.force_login(agent)
    return client


@pytest.fixture
def manager_client(manager):
    """A manager logged in by session: for the API and the admin alike."""
    client = APIClient()
    client.force_login(manager)
    return client


@pytest.fixture
def other_manager_client(other_organization):
    """A manager of another organization, logged in by session."""
    other = AgentFactory(
        organization=other_organization, role=roles.MANAGER, email="boss@globex.test"
    )
    client = APIClient()
    client.force_login(other)
    return client


@pytest.fixture
def api_key(organization):
    key, raw = api_key_create(organization=organization, name="frontend", actor=None)
    return raw


@pytest.fixture
def key_client(api_key):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key)
    return client


@pytest.fixture
def customer(organization):
    return customer_get_or_create(
        organization=organization,
        external_id="7408502702335",
        name="Ada Buyer",
        email="ada@example.com",
    )


@pytest.fixture
def make_ticket(organization, customer):
    def make(**kwargs):
        kwargs.setdefault("subject", "Where is my order?")
        kwargs.setdefault("initial_message", "It has not arrived yet.")
        kwargs.setdefault("actor", None)
        return ticket_create(organization=organization, customer=customer, **kwargs)

    return make
