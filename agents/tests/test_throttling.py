import pytest
from rest_framework.test import APIClient

from agents.services import api_key_create
from agents.throttling import CallerRateThrottle


@pytest.fixture
def two_per_minute(monkeypatch):
    monkeypatch.setattr(CallerRateThrottle, "rate", "2/minute", raising=False)


@pytest.mark.django_db
def test_each_api_key_has_its_own_budget(two_per_minute, organization):
    clients = []
    for name in ("frontend", "script"):
        _, raw = api_key_create(organization=organization, name=name, actor=None)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw)
        clients.append(client)
    first, second = clients
    codes = [first.get("/api/v1/auth/whoami").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert first.get("/api/v1/auth/whoami").json()["detail"].startswith("Request was throttled")
    # Another key is not slowed down by the first one.
    assert second.get("/api/v1/auth/whoami").status_code == 200


@pytest.mark.django_db
def test_agents_are_throttled_per_agent(two_per_minute, agent_client):
    codes = [agent_client.get("/api/v1/auth/whoami").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
