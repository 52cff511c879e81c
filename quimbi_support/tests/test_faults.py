"""Faults of the servers around the API (issue 11, item 7): PostgreSQL dropping the
connection mid-request, Redis down, Quimbi down. The broker outage is covered in
test_celery_broker.py, Quimbi hanging in intelligence/tests/test_intelligence.py."""

import importlib.util
import socket
import time
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import connection, connections
from django.db.utils import OperationalError
from rest_framework.throttling import ScopedRateThrottle

from agents.throttling import CallerRateThrottle, throttle_cache
from intelligence.client import QuimbiClient, breaker
from tickets.models import Customer, Message, Ticket, TicketEvent
from tickets.services import tickets as ticket_services

SETTINGS_FILE = Path(__file__).resolve().parents[1] / "settings.py"
NEW_TICKET = {
    "customer_id": "cust-503",
    "subject": "Half written?",
    "initial_message": "Hello",
    "tags": ["refund"],
}


def closed_port() -> int:
    """A local port nothing listens on (connections to it are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["error"]["code"] == code and body["error"]["message"] == body["detail"]
    return body


def assert_nothing_written() -> None:
    assert not Customer.objects.filter(external_id=NEW_TICKET["customer_id"]).exists()
    assert not Ticket.objects.exists()
    assert not Message.objects.exists()
    assert not TicketEvent.objects.exists()
    assert not Ticket.history.exists()


# --- PostgreSQL connection dropped mid-request --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_database_error_mid_write_is_a_503_and_writes_nothing(key_client, monkeypatch):
    """The ticket and its customer are written, then the connection fails: all rolls back."""

    def fail(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(ticket_services, "event_record", fail)
    response = key_client.post("/api/v1/tickets", NEW_TICKET, format="json")
    body = assert_api_error(response, 503, "SERVICE_UNAVAILABLE")
    assert body["detail"] == "The database is unavailable; try again."
    assert_nothing_written()


@pytest.mark.django_db(transaction=True)
def test_a_postgres_connection_killed_mid_write_is_a_503_and_writes_nothing(
    require_postgres, key_client, monkeypatch
):
    original = ticket_services.event_record
    killed = []

    def kill_own_backend_then_go_on(**kwargs):
        # After the ticket's first rows are written in the request's transaction, another
        # session terminates this one, as a failover or a restarted server would.
        pid = connection.connection.info.backend_pid
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                killed.append(cursor.fetchone()[0])
        finally:
            other.close()
        return original(**kwargs)

    monkeypatch.setattr(ticket_services, "event_record", kill_own_backend_then_go_on)
    response = key_client.post("/api/v1/tickets", NEW_TICKET, format="json")
    assert killed == [True]
    body = assert_api_error(response, 503, "SERVICE_UNAVAILABLE")
    assert body["detail"] == "The database is unavailable; try again."
    assert_nothing_written()
    # The next request gets a new connection and works.
    monkeypatch.setattr(ticket_services, "event_record", original)
    assert key_client.post("/api/v1/tickets", NEW_TICKET, format="json").status_code == 201


# --- Redis down ---------------------------------------------------------------------------


@pytest.fixture
def redis_down(settings, monkeypatch):
    """The production cache settings (settings.py with REDIS_URL) aimed at a closed port."""
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")
    spec = importlib.util.spec_from_file_location("_settings_with_redis", SETTINGS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    settings.CACHES = module.CACHES
    throttle_cache.reset()
    caches["throttle-fallback"].clear()
    yield
    throttle_cache.reset()
    caches["throttle-fallback"].clear()


@pytest.mark.django_db
def test_with_redis_down_every_endpoint_answers(redis_down, key_client, make_ticket):
    ticket = make_ticket()
    assert key_client.get("/api/v1/tickets").status_code == 200
    assert key_client.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    assert key_client.get("/api/v1/customers").status_code == 200
    assert key_client.post("/api/v1/tickets", NEW_TICKET, format="json").status_code == 201
    reply = {"content": "On its way.", "from_agent": True}
    response = key_client.post(f"/api/v1/tickets/{ticket.pk}/messages", reply, format="json")
    assert response.status_code == 201, response.content
    response = key_client.patch(f"/api/v1/tickets/{ticket.pk}", {"priority": "high"}, "json")
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_with_redis_down_throttles_still_hold(redis_down, monkeypatch, agent_client):
    monkeypatch.setattr(CallerRateThrottle, "rate", "3/minute", raising=False)
    codes = [agent_client.get("/api/v1/auth/whoami").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert_api_error(agent_client.get("/api/v1/auth/whoami"), 429, "RATE_LIMIT_EXCEEDED")


@pytest.mark.django_db
def test_with_redis_down_the_login_throttle_still_holds(redis_down, monkeypatch, api_client):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "2/minute"})
    wrong = {"email": "nobody@acme.test", "password": "wrong"}
    codes = [api_client.post("/api/v1/auth/token", wrong).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


@pytest.mark.django_db
def test_throttles_go_back_to_redis_when_it_answers_again(
    redis_down, monkeypatch, settings, agent, agent_client
):
    monkeypatch.setattr(CallerRateThrottle, "rate", "3/minute", raising=False)
    assert agent_client.get("/api/v1/auth/whoami").status_code == 200
    # Redis is back (here: local memory standing in for it) once the retry delay is over.
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"},
    }
    monkeypatch.setattr(throttle_cache, "_down_until", 0.0)
    caches["throttle"].clear()
    codes = [agent_client.get("/api/v1/auth/whoami").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # The three were counted in Redis (this minute's counter, or the last one's too if
    # the minute turned meanwhile).
    window = int(time.time() // 60)
    key = f"throttle_caller_agent:{agent.pk}"
    counted = caches["throttle"].get_many([f"{key}:{window}", f"{key}:{window - 1}"])
    assert sum(counted.values()) == 3


# --- Quimbi down --------------------------------------------------------------------------


@pytest.mark.django_db
def test_ticket_endpoints_are_unaffected_while_quimbi_refuses_connections(
    settings, key_client, make_ticket, monkeypatch
):
    settings.QUIMBI_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    settings.QUIMBI_API_KEY = "test-key"
    breaker().reset()
    calls = []
    original_post = QuimbiClient.post

    def counted_post(self, path, body):
        calls.append(path)
        return original_post(self, path, body)

    monkeypatch.setattr(QuimbiClient, "post", counted_post)
    ticket = make_ticket()
    assert key_client.get("/api/v1/tickets").status_code == 200
    detail = key_client.get(f"/api/v1/tickets/{ticket.pk}")
    assert detail.status_code == 200
    assert "customer_profile" not in detail.json()
    assert key_client.post("/api/v1/tickets", NEW_TICKET, format="json").status_code == 201
    reply = {"content": "On its way.", "from_agent": True}
    response = key_client.post(f"/api/v1/tickets/{ticket.pk}/messages", reply, format="json")
    assert response.status_code == 201, response.content
    # Nothing on the ticket path waits for Quimbi: it is not even called (with retries and
    # backoff a refused call could take seconds), whatever the machine's clock says.
    assert calls == []
    breaker().reset()
