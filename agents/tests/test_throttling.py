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


@pytest.mark.django_db
def test_the_window_slides_a_burst_across_the_minute_is_still_limited(
    two_per_minute, agent_client, monkeypatch
):
    clock = {"now": 6_000_000 * 60 + 59.9}  # the last tenth of a minute
    monkeypatch.setattr(CallerRateThrottle, "timer", lambda self: clock["now"])
    whoami = "/api/v1/auth/whoami"
    assert [agent_client.get(whoami).status_code for _ in range(2)] == [200, 200]
    clock["now"] += 0.2  # a new minute: a fixed window would allow two more now
    response = agent_client.get(whoami)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    clock["now"] += 30  # half of the earlier minute has slid out: room for one
    assert [agent_client.get(whoami).status_code for _ in range(2)] == [200, 429]
    clock["now"] += 60  # the burst is a full minute behind
    assert agent_client.get(whoami).status_code == 200


@pytest.mark.django_db
def test_the_default_rate_does_not_cap_a_frontend(settings):
    throttle = CallerRateThrottle()
    assert throttle.num_requests / throttle.duration >= 1000  # requests per second
